//! What the operator commands (`list`, `show`, `cancel`, `retry`, `stats`) share: finding
//! and opening the daemon's database, the
//! argument types they have in common, and how a command's end becomes an exit code.
//!
//! The database is the one `msgspool run` with the same `--config`/`--database` uses:
//! `--database` (a file or a `postgres://` URL) wins; else the `database` key (or
//! `[postgres]` table) of `--config`, or of /etc/msgspool/config.toml when that exists;
//! without any config file, `msgspool.db` beside the built-in spool folder, as the daemon
//! does. A missing database file is an error: these commands never create one, nor
//! migrate one (on PostgreSQL: the schema must be at this msgspool's version). SQLite
//! reads open it read-only (no lock taken, no write access needed); writes open it the
//! daemon's way and go through the store's writer thread, so they serialize with a
//! running daemon's writes. PostgreSQL serializes them itself.
//!
//! Exit codes ([`super::exit::Exit`]): 0 done (also when the reader of stdout went away, as
//! in `msgspool list | head -1`), 1 not found, refused or failed (stderr says what to do),
//! 2 usage, 78 a bad config.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use clap::builder::PossibleValue;
use clap::{Args, ValueEnum};

use crate::config::{Config, DatabaseTarget, Lookup};
use crate::store::postgres::PgTarget;
use crate::store::{OpenRole, SendState, Store};

use super::exit::{Exit, Threads, block_on};

/// `--config` and `--database`, flattened into every operator command.
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// Daemon config whose `database` key (or `[postgres]` table) names the database
    /// [default: /etc/msgspool/config.toml]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The SQLite database file, or a postgres:// URL (the password from the config's
    /// `[postgres] password_file` or the pg-password credential); wins over the config's
    /// `database`.
    #[arg(long, value_name = "URL|FILE")]
    pub database: Option<String>,
}

impl DatabaseArgs {
    /// The daemon config these arguments name (built-in defaults when there is no file).
    pub(super) fn config(&self) -> Result<Config, Exit> {
        let lookup = Lookup {
            database: self.database.clone(),
            ..Lookup::file(self.config.as_ref())
        };
        lookup.load().map_err(|e| Exit::config(&e))
    }

    /// The database to open: `--database` FILE alone needs no config (a broken system
    /// config does not keep an operator from reading a file); a URL takes the config's
    /// `[postgres]` settings when there is one.
    fn database(&self) -> Result<(DatabaseTarget, Config), Exit> {
        let cfg = match &self.database {
            Some(given) if !PgTarget::is_url(given) && self.config.is_none() => {
                let mut cfg = Config::builtin();
                cfg.database = DatabaseTarget::Sqlite(PathBuf::from(given));
                cfg
            }
            _ => self.config()?,
        };
        if let DatabaseTarget::Sqlite(path) = &cfg.database {
            existing(path)?;
        }
        Ok((cfg.database.clone(), cfg))
    }

    /// Opens the database for reading only.
    pub(super) fn open_for_reading(&self) -> Result<Store, Exit> {
        self.open(OpenRole::Read)
    }

    /// Opens the database for writing (SQLite: through the store's writer thread). It must
    /// already be at this msgspool's schema version: migrating is the daemon's (and
    /// `msgspool migrate`'s) business, and an operator's newer binary must not change the
    /// schema under a running older daemon.
    pub(super) fn open_for_writing(&self) -> Result<Store, Exit> {
        self.open(OpenRole::Write)
    }

    fn open(&self, role: OpenRole) -> Result<Store, Exit> {
        let (target, cfg) = self.database()?;
        open(&target, &cfg, role)
    }
}

/// Opens `target` (from `cfg`) for `role`: a PostgreSQL target gets its password and a
/// node name of its own (an operator's command is no daemon: it claims nothing).
pub(super) fn open(target: &DatabaseTarget, cfg: &Config, role: OpenRole) -> Result<Store, Exit> {
    let env = |name: &str| std::env::var(name).ok();
    let ready = target.with_secrets(&env).map_err(|e| Exit::config(&e))?;
    let node = match target {
        DatabaseTarget::Postgres(pg) => format!("{} (operator)", pg.node_name(&cfg.spool)),
        DatabaseTarget::Sqlite(_) => String::new(),
    };
    let workspace = cfg.bird.workspace_id.as_deref().unwrap_or("dry-run");
    Ok(block_on(
        Threads::One,
        Store::open_target(&ready, role, &node, workspace),
    )??)
}

/// An SQLite database file must exist: these commands never create one.
fn existing(path: &Path) -> Result<(), Exit> {
    match path.try_exists() {
        Ok(true) => Ok(()),
        Ok(false) => Err(Exit::refused(format!(
            "there is no database at {}: `msgspool run` creates it; point --database (or \
             --config) at the daemon's database",
            path.display()
        ))),
        Err(e) => Err(Exit::refused(format!(
            "cannot look at the database {}: {e}",
            path.display()
        ))),
    }
}

/// A note for people on stderr (not part of the output programs read); a closed stderr
/// is not worth failing for.
pub(super) fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// A send state as `--state` takes it (the store's own words), or `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateArg {
    One(SendState),
    /// Every state.
    All,
}

impl ValueEnum for StateArg {
    fn value_variants<'a>() -> &'a [Self] {
        // Built from `SendState::ALL`, so a new state is a `--state` value at once.
        static VARIANTS: LazyLock<Vec<StateArg>> = LazyLock::new(|| {
            SendState::ALL
                .into_iter()
                .map(StateArg::One)
                .chain([StateArg::All])
                .collect()
        });
        &VARIANTS
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            StateArg::One(state) => PossibleValue::new(state.as_str()),
            StateArg::All => PossibleValue::new("all").help("Every state"),
        })
    }
}

impl StateArg {
    /// The states `--state` values select; empty means every state.
    pub(super) fn states(given: &[StateArg], default: &[SendState]) -> Vec<SendState> {
        if given.is_empty() {
            return default.to_vec();
        }
        let mut states = Vec::new();
        for arg in given {
            let state = match arg {
                StateArg::One(state) => *state,
                StateArg::All => return Vec::new(),
            };
            if !states.contains(&state) {
                states.push(state);
            }
        }
        states
    }
}
