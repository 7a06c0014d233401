//! What the operator commands (`list`, `show`, `cancel`, `retry`, `stats`) share: finding
//! and opening the daemon's database, a small runtime for the store's async calls, the
//! argument types they have in common, and how a command's end becomes an exit code.
//!
//! The database is the one `msgspool run` with the same `--config`/`--database` uses:
//! `--database` wins; else the `database` key of `--config`, or of
//! /etc/msgspool/config.toml when that exists; without any config file, `msgspool.db`
//! beside the built-in spool folder, as the daemon does. A missing database file is an
//! error: these commands never create one, nor migrate one. Reads open it read-only (no
//! lock taken, no write access needed); writes open it the daemon's way and go through
//! the store's writer thread, so they serialize with a running daemon's writes.
//!
//! Exit codes: 0 done (also when the reader of stdout went away, as in
//! `msgspool list | head -1`), 1 not found, refused or failed (stderr says what to do),
//! 2 usage or config errors.

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};

use crate::config::Config;
use crate::daemon::{self, RunOptions};
use crate::store::{SendState, Store, StoreError};

/// `--config` and `--database`, flattened into every operator command.
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// Daemon config whose `database` key names the database [default:
    /// /etc/msgspool/config.toml]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The SQLite database file; wins over the config's `database`.
    #[arg(long, value_name = "FILE")]
    pub database: Option<PathBuf>,
}

impl DatabaseArgs {
    /// The daemon config these arguments name (built-in defaults when there is no file).
    pub(super) fn config(&self) -> Result<Config, Stop> {
        let options = RunOptions {
            config: self.config.clone(),
            database: self.database.clone(),
            ..RunOptions::default()
        };
        daemon::load_config(&options).map_err(|e| Stop::Usage(e.to_string()))
    }

    /// The database file, which must exist.
    fn existing_database(&self) -> Result<PathBuf, Stop> {
        let path = match &self.database {
            Some(path) => path.clone(),
            None => self.config()?.database,
        };
        match path.try_exists() {
            Ok(true) => Ok(path),
            Ok(false) => Err(Stop::Failed(format!(
                "there is no database at {}: `msgspool run` creates it; point --database (or \
                 --config) at the daemon's database",
                path.display()
            ))),
            Err(e) => Err(Stop::Failed(format!(
                "cannot look at the database {}: {e}",
                path.display()
            ))),
        }
    }

    /// Opens the database for reading only.
    pub(super) fn open_for_reading(&self) -> Result<Store, Stop> {
        Ok(Store::open_read_only(&self.existing_database()?)?)
    }

    /// Opens the database for writing through the store's writer thread. It must already
    /// be at this msgspool's schema version: migrating is the daemon's business, and an
    /// operator's newer binary must not change the schema under a running older daemon.
    pub(super) fn open_for_writing(&self) -> Result<Store, Stop> {
        let path = self.existing_database()?;
        drop(Store::open_read_only(&path)?);
        Ok(Store::open(&path)?)
    }
}

/// Why a command stopped before the end.
#[derive(Debug)]
pub(super) enum Stop {
    /// Nobody reads stdout any more: stop quietly, exit 0.
    ClosedPipe,
    /// Not found, refused or failed: exit 1 with this message.
    Failed(String),
    /// A usage or config error: exit 2 with this message.
    Usage(String),
}

impl From<std::io::Error> for Stop {
    fn from(e: std::io::Error) -> Stop {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Stop::ClosedPipe
        } else {
            Stop::Failed(format!("cannot write the output: {e}"))
        }
    }
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Stop {
        Stop::Failed(e.to_string())
    }
}

/// The exit code for how a command ended; its message goes to stderr.
pub(super) fn exit_code(result: Result<(), Stop>) -> i32 {
    let (code, message) = match result {
        Ok(()) | Err(Stop::ClosedPipe) => return 0,
        Err(Stop::Failed(message)) => (1, message),
        Err(Stop::Usage(message)) => (2, message),
    };
    // A closed stderr leaves nowhere to complain; the exit code still tells.
    let _ = writeln!(std::io::stderr(), "msgspool: {message}");
    code
}

/// A note for people on stderr (not part of the output programs read); a closed stderr
/// is not worth failing for.
pub(super) fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Runs the store's async calls on a small current-thread runtime.
pub(super) fn block_on<F: Future>(work: F) -> Result<F::Output, Stop> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Stop::Failed(format!("cannot start the async runtime: {e}")))?;
    Ok(runtime.block_on(work))
}

/// Parses an RFC 3339 instant given on the command line.
pub(super) fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 time like 2026-03-28T12:00:00Z: {e}"))
}

/// A send state as `--state` takes it, or `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateArg {
    Scheduled,
    Sending,
    Sent,
    Failed,
    Expired,
    Canceled,
    Replaced,
    /// Every state.
    All,
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
                StateArg::Scheduled => SendState::Scheduled,
                StateArg::Sending => SendState::Sending,
                StateArg::Sent => SendState::Sent,
                StateArg::Failed => SendState::Failed,
                StateArg::Expired => SendState::Expired,
                StateArg::Canceled => SendState::Canceled,
                StateArg::Replaced => SendState::Replaced,
                StateArg::All => return Vec::new(),
            };
            if !states.contains(&state) {
                states.push(state);
            }
        }
        states
    }
}
