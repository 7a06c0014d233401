//! One group commit: a batch of operations in one `BEGIN IMMEDIATE` transaction, run again
//! while another connection holds the write lock.
//!
//! A batch first runs without savepoints: a savepoint makes SQLite copy every page an
//! operation touches into its statement journal, which showed as a few per cent of the
//! daemon's CPU, and operations almost never fail. If one does, the whole transaction is
//! rolled back and the batch runs again with each operation in its own savepoint, so the
//! failing one is rolled back alone and the others commit.
//!
//! Trusts: each operation to be re-runnable from scratch. Guarantees: nobody is answered
//! before COMMIT returned; an operation that fails is rolled back alone; a disk error ends
//! the whole batch and every caller gets it; a locked database delays, never drops.

use std::thread;
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode};

use super::{FIRST_BACKOFF, LOCK_WAIT_NOTICE, MAX_BACKOFF, Op};
use crate::store::StoreError;

/// How one run of a batch ended.
enum BatchEnd {
    /// Committed; each operation's own result.
    Committed(Vec<Result<(), StoreError>>),
    /// An operation failed in a batch run without savepoints; nothing was kept, run it
    /// again with them.
    NeedsSavepoints,
    /// Another connection holds the write lock; nothing was kept, run it again later.
    Locked(rusqlite::Error),
    /// Nothing was kept and every operation gets this error.
    Failed(StoreError),
}

/// Runs a batch until it commits or fails for a reason waiting cannot fix, then answers.
pub(super) fn commit_batch(conn: &Connection, mut ops: Vec<Box<dyn Op>>) {
    let mut backoff = FIRST_BACKOFF;
    let mut locked_since: Option<Instant> = None;
    let mut isolation = Isolation::Shared;
    let results = loop {
        let mut lock_wait = Duration::ZERO;
        match run_batch(conn, &mut ops, isolation, &mut lock_wait) {
            BatchEnd::Committed(results) => {
                if locked_since.is_none() && lock_wait >= LOCK_WAIT_NOTICE {
                    tracing::warn!(
                        waited_ms = lock_wait.as_millis() as u64,
                        operations = ops.len(),
                        "the database was locked by another writer (an open sqlite3 transaction?); \
                         msgspool waited for it, nothing is lost"
                    );
                }
                tracing::trace!(operations = ops.len(), "group commit");
                break results;
            }
            BatchEnd::NeedsSavepoints => isolation = Isolation::Savepoints,
            BatchEnd::Failed(error) => {
                tracing::error!(operations = ops.len(), %error, "a database write failed");
                break vec![Err(error); ops.len()];
            }
            BatchEnd::Locked(error) => {
                if locked_since.is_none() {
                    tracing::warn!(
                        operations = ops.len(),
                        %error,
                        "the database is locked by another writer (an open sqlite3 transaction?); \
                         msgspool waits and retries, nothing is lost"
                    );
                    locked_since = Some(Instant::now());
                }
                thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    };
    if let Some(since) = locked_since {
        tracing::info!(
            waited_ms = since.elapsed().as_millis() as u64,
            operations = ops.len(),
            "the database is writable again"
        );
    }
    for (op, result) in ops.into_iter().zip(results) {
        op.answer(result);
    }
}

/// Whether a batch's operations run in savepoints of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isolation {
    /// One transaction and nothing else: any failed operation sends the batch round again.
    Shared,
    /// Each operation in its own savepoint: a failed one is rolled back alone.
    Savepoints,
}

/// Runs every operation of a batch in one transaction, each in its own savepoint when
/// `isolation` says so; `lock_wait` is set to how long BEGIN waited for the write lock.
fn run_batch(
    conn: &Connection,
    ops: &mut [Box<dyn Op>],
    isolation: Isolation,
    lock_wait: &mut Duration,
) -> BatchEnd {
    let asked = Instant::now();
    let begun = conn.execute_batch("BEGIN IMMEDIATE");
    *lock_wait = asked.elapsed();
    if let Err(e) = begun {
        return if is_locked(&e) {
            BatchEnd::Locked(e)
        } else {
            BatchEnd::Failed(e.into())
        };
    }
    let mut results = Vec::with_capacity(ops.len());
    for op in ops.iter_mut() {
        let ran = match isolation {
            Isolation::Savepoints => run_in_savepoint(conn, op.as_mut()),
            Isolation::Shared => run_shared(conn, op.as_mut()),
        };
        match ran {
            Ok(Ok(())) => results.push(Ok(())),
            Ok(Err(_)) if isolation == Isolation::Shared => {
                abandon(conn);
                return BatchEnd::NeedsSavepoints;
            }
            Ok(Err(error)) => results.push(Err(error)),
            Err(error) => {
                abandon(conn);
                return BatchEnd::Failed(error);
            }
        }
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => BatchEnd::Committed(results),
        Err(e) => {
            abandon(conn);
            if is_locked(&e) {
                BatchEnd::Locked(e)
            } else {
                BatchEnd::Failed(e.into())
            }
        }
    }
}

/// Runs one operation in the batch's transaction: `Ok` carries the operation's own result
/// (its changes, if it failed, are still in the transaction), `Err` an error that ends the
/// whole batch.
fn run_shared(conn: &Connection, op: &mut dyn Op) -> Result<Result<(), StoreError>, StoreError> {
    match op.run(conn) {
        Ok(()) => Ok(Ok(())),
        Err(error) if error.is_disk() || conn.is_autocommit() => Err(error),
        Err(error) => Ok(Err(error)),
    }
}

/// Runs one operation in a savepoint: `Ok` carries the operation's own result (a failed
/// operation is rolled back alone), `Err` an error that ends the whole batch.
fn run_in_savepoint(
    conn: &Connection,
    op: &mut dyn Op,
) -> Result<Result<(), StoreError>, StoreError> {
    // Prepared once: two statements per operation, parsed each time, showed in profiles.
    conn.prepare_cached("SAVEPOINT op")?.execute([])?;
    match op.run(conn) {
        Ok(()) => {
            conn.prepare_cached("RELEASE op")?.execute([])?;
            Ok(Ok(()))
        }
        // A disk error may have rolled back the whole transaction already (SQLite does
        // that for SQLITE_FULL and SQLITE_IOERR); either way the batch cannot commit.
        Err(error) if error.is_disk() || conn.is_autocommit() => Err(error),
        Err(error) => {
            conn.execute_batch("ROLLBACK TO op; RELEASE op")?;
            Ok(Err(error))
        }
    }
}

/// Rolls back the open transaction, if SQLite has not done so already.
fn abandon(conn: &Connection) {
    if !conn.is_autocommit()
        && let Err(error) = conn.execute_batch("ROLLBACK")
    {
        tracing::error!(%error, "cannot roll back a failed database write");
    }
}

/// Whether an error means another connection holds a lock we need.
fn is_locked(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Copies the WAL into the database file without waiting for readers.
pub(super) fn checkpoint(conn: &Connection) -> Result<(), StoreError> {
    let (busy, wal_frames, copied): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
    tracing::debug!(busy, wal_frames, copied, "database checkpoint");
    Ok(())
}
