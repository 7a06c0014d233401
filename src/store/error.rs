//! What can go wrong in the store, and what a caller can do about it.
//!
//! Owns: [`StoreError`] (each message says what to do) and [`ErrorClass`] (retry, give
//! up, or exit), decided in one match without a catch-all arm. Trusts: SQLite's extended
//! error codes. Guarantees: no message carries a payload, a key or a job's text.

use std::path::PathBuf;

use rusqlite::ErrorCode;

/// What went wrong in the store; each message says what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open the database {path}: {reason} (check that its folder exists and that msgspool may write there)"
    )]
    Open { path: PathBuf, reason: String },
    #[error(
        "cannot bring the database {path} to schema version {version}: {reason} (the database was left as it was; fix the cause and start msgspool again)"
    )]
    Migrate {
        path: PathBuf,
        version: i64,
        reason: String,
    },
    #[error(
        "the database {path} has schema version {found}, but this msgspool knows only up to version {known}; run the newer msgspool that wrote it (a database is never downgraded)"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error(
        "the disk holding the database is full ({0}); nothing of this write was kept: free some space and it will be retried"
    )]
    Full(String),
    #[error(
        "the disk holding the database failed ({0}); nothing of this write was kept: check the disk and the kernel log"
    )]
    Io(String),
    #[error("the database is busy or locked by another connection ({0}); msgspool retries")]
    Busy(String),
    #[error("the database refused a value ({0}); this write cannot succeed as it is")]
    Constraint(String),
    #[error("database error: {0}")]
    Sqlite(String),
    #[error("PostgreSQL error: {0}")]
    Postgres(String),
    #[error(
        "cannot reach the PostgreSQL server ({0}); msgspool reconnects and retries (check that the server is up and reachable)"
    )]
    Unreachable(String),
    #[error("send {0} is not in the database (was it deleted by hand?)")]
    NoSuchSend(i64),
    #[error("job {0:?} is not in the database")]
    NoSuchJob(String),
    #[error(
        "the database {path} has schema version {found}, and version {known} is needed to read it; start `msgspool run` once (it migrates the database) or check that this is a msgspool database"
    )]
    NotMigrated {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("internal error: a write was asked of a store opened read-only")]
    ReadOnly,
    #[error(
        "the database holds {value:?} in {column}, which msgspool cannot read; correct it with sqlite3"
    )]
    BadValue { column: &'static str, value: String },
    #[error(
        "the database writer thread has stopped; restart msgspool (the log says why it stopped)"
    )]
    WriterGone,
    /// A database call's task ended without an answer (it panicked): an internal error.
    #[error("a database call failed inside msgspool ({0}); restart msgspool, and please report it")]
    Internal(String),
}

/// What a caller can do about a [`StoreError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Waiting can fix it (a lock, a full disk, an I/O hiccup): retry with backoff.
    Transient,
    /// The same write fails again (a constraint, a bad value, a row gone): give up on it.
    Permanent,
    /// The store cannot work at all any more (the writer thread died): exit, so that
    /// systemd restarts msgspool.
    Fatal,
}

impl StoreError {
    /// Whether this is a disk error that ends a whole batch (full disk or I/O failure).
    pub(super) fn is_disk(&self) -> bool {
        matches!(self, StoreError::Full(_) | StoreError::Io(_))
    }

    /// Retry, give up, or exit: decided here, in one match without a catch-all arm.
    pub fn class(&self) -> ErrorClass {
        match self {
            StoreError::Busy(_)
            | StoreError::Full(_)
            | StoreError::Io(_)
            | StoreError::Unreachable(_) => ErrorClass::Transient,
            StoreError::Constraint(_)
            | StoreError::BadValue { .. }
            | StoreError::NoSuchSend(_)
            | StoreError::NoSuchJob(_)
            | StoreError::Sqlite(_)
            | StoreError::Postgres(_)
            | StoreError::ReadOnly
            | StoreError::Open { .. }
            | StoreError::Migrate { .. }
            | StoreError::NewerSchema { .. }
            | StoreError::NotMigrated { .. } => ErrorClass::Permanent,
            StoreError::WriterGone | StoreError::Internal(_) => ErrorClass::Fatal,
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::Full(e.to_string()),
            Some(ErrorCode::SystemIoFailure) => StoreError::Io(e.to_string()),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                StoreError::Busy(e.to_string())
            }
            Some(ErrorCode::ConstraintViolation) => StoreError::Constraint(e.to_string()),
            _ => StoreError::Sqlite(e.to_string()),
        }
    }
}
