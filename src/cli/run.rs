//! `msgspool run`: starts logging and the async runtime, then hands over to the daemon.

use std::path::PathBuf;

use clap::Args;

use super::exit::{Exit, Threads, block_on};
use crate::daemon::{self, RunOptions};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Daemon config; default /etc/msgspool/config.toml when it exists, else built-in defaults
    /// (always the built-in defaults with --dry-run).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Spool folder to take job files from (overrides the config; created if missing).
    #[arg(long)]
    pub spool: Option<PathBuf>,
    /// SQLite database file, or a postgres:// URL (overrides the config).
    #[arg(long, value_name = "URL|FILE")]
    pub database: Option<String>,
    /// Send nothing: print each payload as a JSON line on stdout when due.
    #[arg(long)]
    pub dry_run: bool,
    /// Log as JSON lines instead of text.
    #[arg(long)]
    pub log_json: bool,
}

pub fn run(args: RunArgs) -> Exit {
    init_logging(args.log_json);
    let opts = RunOptions {
        config: args.config,
        spool: args.spool,
        database: args.database,
        dry_run: args.dry_run,
    };
    match block_on(Threads::Many, daemon::run(opts)) {
        Err(exit) => exit,
        Ok(Ok(())) => Exit::Done,
        Ok(Err(e)) => {
            tracing::error!("{e}");
            exit_for(&e)
        }
    }
}

fn init_logging(json: bool) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("MSGSPOOL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: journald and log files get plain text (journalctl shows
    // a line with escape codes as "[N blob data]").
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// EX_CONFIG (78) for mistakes a restart cannot fix, so systemd can stop retrying
/// (`RestartPreventExitStatus=78`); 1 for everything else.
fn exit_for(e: &daemon::DaemonError) -> Exit {
    use daemon::DaemonError as E;
    use daemon::LockError;
    let message = format!("msgspool: {e}");
    match e {
        E::Config(_) | E::NoAccessKey | E::NoWorkspace => Exit::Config(message),
        // EX_TEMPFAIL: another daemon holds the database or spool; systemd may try later.
        E::Lock(LockError::DatabaseBusy { .. } | LockError::SpoolBusy { .. }) => {
            Exit::Busy(message)
        }
        E::Lock(LockError::Io { .. })
        | E::DryRunOnLiveDatabase { .. }
        | E::LiveRunOnDryDatabase { .. }
        | E::Spool { .. }
        | E::Store(_)
        | E::Client(_)
        | E::Signals(_)
        | E::Webhooks { .. }
        | E::Fatal(_) => Exit::Refused(message),
    }
}
