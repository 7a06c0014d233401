//! The database's shape: connection settings, numbered migrations and the views.
//!
//! Owns: the pragmas every connection gets, the `schema_version` table and the migrations.
//! The schema is a user interface: operators read it with `sqlite3`, so names are plain
//! words, states are lower-case words enforced by CHECK constraints, timestamps are
//! `YYYY-MM-DDTHH:MM:SS.sssZ` text (their shape is checked too), and three views answer the
//! usual questions: `upcoming`, `failures`, `recent_activity`.
//!
//! Trusts: SQLite to run each migration and its `schema_version` row in one transaction.
//!
//! Guarantees: a database is migrated forward one numbered step at a time, all steps in
//! one `BEGIN IMMEDIATE` transaction (all or nothing). A database whose version is newer
//! than [`KNOWN_VERSION`] is refused before anything is written: never downgraded. A
//! shipped migration is never edited; a change is a new, higher-numbered one.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::StoreError;

mod history;
mod v1;
mod v2;
mod v3;
mod v4;
use history::{MIGRATIONS, apply};

/// The newest schema version this binary knows.
pub const KNOWN_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// The WAL may grow past this between checkpoints, but is truncated back to it after.
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// Applied migrations, one row each; the database's version is the highest.
const CREATE_SCHEMA_VERSION: &str = "
CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER PRIMARY KEY,
    applied_at  TEXT NOT NULL,
    applied_by  TEXT NOT NULL,
    description TEXT NOT NULL
);";

/// Creates the database file readable by its owner only (it holds phone numbers and
/// texts); under systemd (`INVOCATION_ID` set) group-readable too, for operators in group
/// msgspool, with the unit's UMask on top. SQLite gives `-wal` and `-shm` the same mode.
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mode = if std::env::var_os("INVOCATION_ID").is_some() {
        0o640
    } else {
        0o600
    };
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Opens the read-write connection (creating the file) with msgspool's pragmas.
pub(super) fn open_writer(path: &Path, busy_timeout: Duration) -> Result<Connection, StoreError> {
    let open_error = |e: rusqlite::Error| StoreError::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    create_private(path).map_err(|e| StoreError::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(open_error)?;
    conn.busy_timeout(busy_timeout).map_err(open_error)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(open_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Open {
            path: path.to_path_buf(),
            reason: format!(
                "SQLite would not switch to WAL mode (journal_mode stays {mode}); keep the database on a local file system"
            ),
        });
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(open_error)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(open_error)?;
    conn.query_row(
        &format!("PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}"),
        [],
        |_| Ok(()),
    )
    .map_err(open_error)?;
    Ok(conn)
}

/// Keeps the writer's savepoint journal in memory. When a group commit runs its
/// operations in savepoints of their own (again, after one failed), and for every
/// statement that checks a foreign key, SQLite copies each page it first changes into a
/// sub-journal; on disk (the default, past 64 KiB in one transaction) that is one `pwrite`
/// per page and operation, which was a tenth of the daemon's CPU per send. The journal is
/// emptied at each statement's end and each operation's RELEASE, so it holds at most the
/// pages one operation changes (operations are bounded batches). Set after the migrations, whose statements
/// may touch every page of a big database.
pub(super) fn keep_savepoints_in_memory(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// Opens the read-only connection the reads share.
pub(super) fn open_reader(path: &Path, busy_timeout: Duration) -> Result<Connection, StoreError> {
    let open_error = |e: rusqlite::Error| StoreError::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(open_error)?;
    conn.busy_timeout(busy_timeout).map_err(open_error)?;
    Ok(conn)
}

/// Checks, without writing, that a database is at [`KNOWN_VERSION`]: a store opened
/// read-only cannot migrate, and cannot read a schema it does not know.
pub(super) fn check_version(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let open_error = |e: rusqlite::Error| StoreError::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let has_versions: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema
                            WHERE type = 'table' AND name = 'schema_version')",
            [],
            |row| row.get(0),
        )
        .map_err(open_error)?;
    let found: i64 = if has_versions {
        conn.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |row| row.get(0),
        )
        .map_err(open_error)?
    } else {
        0
    };
    match found.cmp(&KNOWN_VERSION) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Greater => Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            known: KNOWN_VERSION,
        }),
        std::cmp::Ordering::Less => Err(StoreError::NotMigrated {
            path: path.to_path_buf(),
            found,
            known: KNOWN_VERSION,
        }),
    }
}

/// Brings the database to [`KNOWN_VERSION`]; returns the version it had before.
pub(super) fn migrate(
    conn: &mut Connection,
    path: &Path,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let migrate_error = |version: i64| {
        move |e: rusqlite::Error| StoreError::Migrate {
            path: path.to_path_buf(),
            version,
            reason: e.to_string(),
        }
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(migrate_error(KNOWN_VERSION))?;
    tx.execute_batch(CREATE_SCHEMA_VERSION)
        .map_err(migrate_error(KNOWN_VERSION))?;
    let found: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |row| row.get(0),
        )
        .map_err(migrate_error(KNOWN_VERSION))?;
    if found > KNOWN_VERSION {
        // Dropping `tx` rolls back: a newer database is left exactly as it was.
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            known: KNOWN_VERSION,
        });
    }
    for step in MIGRATIONS.iter().filter(|m| m.version > found) {
        apply(&tx, step, now).map_err(migrate_error(step.version))?;
    }
    tx.commit().map_err(migrate_error(KNOWN_VERSION))?;
    if found < KNOWN_VERSION {
        tracing::info!(
            path = %path.display(),
            from = found,
            to = KNOWN_VERSION,
            "database schema migrated"
        );
    }
    Ok(found)
}

#[cfg(test)]
mod tests;
