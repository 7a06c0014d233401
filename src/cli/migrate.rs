//! `msgspool migrate`: brings the database (an SQLite file or a PostgreSQL database) to
//! this msgspool's schema version and says which version it is at. A database newer than
//! this msgspool is refused and left as it was.
//!
//! The daemon migrates at start too; this command lets an operator do it once, before the
//! daemons of several hosts on one PostgreSQL database are upgraded and restarted (the
//! operator commands refuse a database that is not at their version).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::exit::Exit;
use super::operator;
use crate::config::{DatabaseTarget, Lookup};
use crate::store::OpenRole;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Daemon config whose `database` key (or `[postgres]` table) names the database
    /// [default: /etc/msgspool/config.toml]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The SQLite database file (created when missing), or a postgres:// URL; wins over
    /// the config's `database`.
    #[arg(long, value_name = "URL|FILE")]
    pub database: Option<String>,
}

pub fn run(args: &MigrateArgs) -> Exit {
    Exit::of(migrate(args))
}

fn migrate(args: &MigrateArgs) -> Result<(), Exit> {
    let lookup = Lookup {
        database: args.database.clone(),
        ..Lookup::file(args.config.as_ref())
    };
    let cfg = lookup.load().map_err(|e| Exit::config(&e))?;
    let store = operator::open(&cfg.database, &cfg, OpenRole::Migrate)?;
    drop(store);
    let version = match &cfg.database {
        DatabaseTarget::Sqlite(_) => crate::store::KNOWN_VERSION,
        DatabaseTarget::Postgres(_) => crate::store::postgres::PG_KNOWN_VERSION,
    };
    writeln!(
        std::io::stdout().lock(),
        "{}: at schema version {version}",
        cfg.database
    )?;
    Ok(())
}
