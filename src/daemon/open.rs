//! Start-up's store: the locks a daemon takes before it touches the database, the
//! database opened (and migrated), its run mode claimed, and what a crash left put back.

use super::{DaemonError, DaemonLocks};
use crate::config::{self, Config};
use crate::dispatch::recurring;
use crate::store::{OpenRole, RunMode, Store};

/// Takes the locks, opens the store, refuses a database of the other run mode, puts back
/// interrupted sends and repairs recurring jobs; the locks live as long as the daemon.
pub(super) async fn open(cfg: &Config, dry_run: bool) -> Result<(DaemonLocks, Store), DaemonError> {
    // Before anything reads or writes the database: a second daemon must not recover the
    // first one's sends in flight as interrupted and post them again.
    // A PostgreSQL database is shared by design (leases keep its daemons apart): only the
    // spool is this daemon's alone.
    let locks = match cfg.database.sqlite_path() {
        Some(path) => DaemonLocks::take(path, &cfg.spool)?,
        None => DaemonLocks::spool_only(&cfg.spool)?,
    };
    let store = open_store(cfg).await?;
    let mode = if dry_run {
        RunMode::DryRun
    } else {
        RunMode::Live
    };
    match store.claim_mode(mode, chrono::Utc::now()).await? {
        None => {}
        Some(RunMode::Live) => {
            return Err(DaemonError::DryRunOnLiveDatabase {
                database: cfg.database.to_string(),
            });
        }
        Some(RunMode::DryRun) => {
            return Err(DaemonError::LiveRunOnDryDatabase {
                database: cfg.database.to_string(),
            });
        }
    }
    let recovered = store.recover_interrupted(chrono::Utc::now()).await?;
    if recovered > 0 {
        tracing::warn!(
            sends = recovered,
            "put back sends interrupted by a crash; they go out again now"
        );
    }
    // A cron job whose next occurrence was lost (or that no longer passes) is put right
    // before anything is sent.
    recurring::review(&store, cfg, chrono::Utc::now()).await;
    Ok((locks, store))
}

/// Opens the database the config names, for the daemon (migrated). A PostgreSQL
/// database gets its password now, and this daemon's node name and workspace.
async fn open_store(cfg: &Config) -> Result<Store, DaemonError> {
    let env = |name: &str| std::env::var(name).ok();
    let target = cfg.database.with_secrets(&env)?;
    let node = match &cfg.database {
        config::DatabaseTarget::Postgres(pg) => pg.node_name(&cfg.spool),
        config::DatabaseTarget::Sqlite(_) => String::new(),
    };
    let workspace = workspace_of(cfg);
    Ok(Store::open_target(&target, OpenRole::Daemon, &node, workspace).await?)
}

/// The workspace whose rate bucket this daemon shares (a dry run has none of its own).
fn workspace_of(cfg: &Config) -> &str {
    cfg.bird.workspace_id.as_deref().unwrap_or("dry-run")
}
