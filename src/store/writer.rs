//! The writer: one named thread, `msgspool-writer`, owns the only read-write connection.
//!
//! Owns: that connection (moved into the thread at open) and the group commit. Callers
//! submit operations over a std channel and await the answer on a tokio oneshot.
//!
//! Trusts: each operation to touch only its own rows and to be re-runnable from scratch:
//! a batch that met a locked database is rolled back and run again.
//!
//! Guarantees: the thread blocks for one message, drains up to `max_batch` operations
//! already queued, and runs them in one `BEGIN IMMEDIATE` transaction, each inside its own
//! SAVEPOINT: an operation that fails is rolled back alone and answered with its error,
//! the others commit together. Nobody is answered before COMMIT returned. SQLITE_BUSY or
//! SQLITE_LOCKED on BEGIN or COMMIT (another process holds the write lock, e.g. an
//! operator's open `sqlite3` transaction) is logged once per episode and waited out with
//! bounded backoff; the whole batch is then run again: operations are delayed, never
//! dropped. A BEGIN that got the lock only after [`LOCK_WAIT_NOTICE`] inside SQLite's own
//! busy timeout is logged too, so no stall of a second or more goes unexplained. A disk
//! error (full, I/O) rolls the whole batch back and answers every caller with it; callers
//! keep their input and may try again. When every `Store` is dropped the channel closes and
//! the thread finishes its queue and exits. A store opened read-only has a
//! [`Writer::disabled`] instead: no thread, and every write is refused.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode};
use tokio::sync::oneshot;

use super::StoreError;

/// First wait after SQLite's own busy timeout ran out; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(20);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// A BEGIN that waited this long for another writer's lock is worth a log line.
const LOCK_WAIT_NOTICE: Duration = Duration::from_secs(1);

/// An operation waiting for the writer: run it (maybe more than once), then answer.
trait Op: Send {
    /// Runs the operation on the writer's connection, inside a transaction and savepoint.
    fn run(&mut self, conn: &Connection) -> Result<(), StoreError>;
    /// Hands the caller the value of the last run, or `result`'s error.
    fn answer(self: Box<Self>, result: Result<(), StoreError>);
}

/// A closure and the caller waiting for what it returns.
struct Call<T, F> {
    work: F,
    value: Option<T>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Op for Call<T, F>
where
    T: Send,
    F: FnMut(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, conn: &Connection) -> Result<(), StoreError> {
        self.value = None;
        self.value = Some((self.work)(conn)?);
        Ok(())
    }

    fn answer(self: Box<Self>, result: Result<(), StoreError>) {
        let Call { value, reply, .. } = *self;
        let answer = match (result, value) {
            (Ok(()), Some(value)) => Ok(value),
            (Ok(()), None) => Err(StoreError::Sqlite(
                "internal error: an operation committed without a result".to_owned(),
            )),
            (Err(e), _) => Err(e),
        };
        // The caller may have stopped waiting; its operation stands either way.
        let _ = reply.send(answer);
    }
}

enum Message {
    Ops(Vec<Box<dyn Op>>),
    Checkpoint(oneshot::Sender<Result<(), StoreError>>),
}

/// The sending side of the writer's queue; `None` for a store opened read-only.
pub(super) struct Writer {
    queue: Option<mpsc::Sender<Message>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub(super) fn spawn(conn: Connection, max_batch: usize) -> std::io::Result<Writer> {
        let (queue, inbox) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("msgspool-writer".to_owned())
            .spawn(move || run(&conn, &inbox, max_batch.max(1)))?;
        Ok(Writer {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// A writer for a read-only store: every write is answered with [`StoreError::ReadOnly`].
    pub(super) fn disabled() -> Writer {
        Writer {
            queue: None,
            thread: None,
        }
    }

    /// Whether the thread still runs (it ends only when every store handle is gone, or
    /// when it panicked); a read-only store has none and counts as alive.
    pub(super) fn alive(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| !t.is_finished())
    }

    /// Runs `work` in the next group commit and returns its result once committed.
    pub(super) async fn call<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let mut answers = self.call_many(vec![work]).await;
        answers.pop().unwrap_or(Err(StoreError::WriterGone))
    }

    /// Runs every `work` in the same group commit; one answer each, in order.
    pub(super) async fn call_many<T, F>(&self, works: Vec<F>) -> Vec<Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnMut(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let mut ops: Vec<Box<dyn Op>> = Vec::with_capacity(works.len());
        let mut waiting = Vec::with_capacity(works.len());
        for work in works {
            let (reply, answer) = oneshot::channel();
            ops.push(Box::new(Call {
                work,
                value: None,
                reply,
            }));
            waiting.push(answer);
        }
        let Some(queue) = &self.queue else {
            return waiting.iter().map(|_| Err(StoreError::ReadOnly)).collect();
        };
        if queue.send(Message::Ops(ops)).is_err() {
            return waiting
                .iter()
                .map(|_| Err(StoreError::WriterGone))
                .collect();
        }
        let mut answers = Vec::with_capacity(waiting.len());
        for answer in waiting {
            answers.push(answer.await.unwrap_or(Err(StoreError::WriterGone)));
        }
        answers
    }

    /// Checkpoints the WAL between two batches.
    pub(super) async fn checkpoint(&self) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        let Some(queue) = &self.queue else {
            return Err(StoreError::ReadOnly);
        };
        queue
            .send(Message::Checkpoint(reply))
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.unwrap_or(Err(StoreError::WriterGone))
    }
}

/// The writer thread's loop: one batch per turn until every sender is gone.
fn run(conn: &Connection, inbox: &mpsc::Receiver<Message>, max_batch: usize) {
    while let Ok(first) = inbox.recv() {
        let mut ops = Vec::new();
        let mut checkpoints = Vec::new();
        sort(first, &mut ops, &mut checkpoints);
        while ops.len() < max_batch {
            match inbox.try_recv() {
                Ok(message) => sort(message, &mut ops, &mut checkpoints),
                Err(_) => break,
            }
        }
        if !ops.is_empty() {
            commit_batch(conn, ops);
        }
        for reply in checkpoints {
            let _ = reply.send(checkpoint(conn));
        }
    }
    tracing::debug!("every store handle is gone; the writer thread stops");
}

fn sort(
    message: Message,
    ops: &mut Vec<Box<dyn Op>>,
    checkpoints: &mut Vec<oneshot::Sender<Result<(), StoreError>>>,
) {
    match message {
        Message::Ops(mut more) => ops.append(&mut more),
        Message::Checkpoint(reply) => checkpoints.push(reply),
    }
}

/// How one run of a batch ended.
enum BatchEnd {
    /// Committed; each operation's own result.
    Committed(Vec<Result<(), StoreError>>),
    /// Another connection holds the write lock; nothing was kept, run it again later.
    Locked(rusqlite::Error),
    /// Nothing was kept and every operation gets this error.
    Failed(StoreError),
}

/// Runs a batch until it commits or fails for a reason waiting cannot fix, then answers.
fn commit_batch(conn: &Connection, mut ops: Vec<Box<dyn Op>>) {
    let mut backoff = FIRST_BACKOFF;
    let mut locked_since: Option<Instant> = None;
    let results = loop {
        let mut lock_wait = Duration::ZERO;
        match run_batch(conn, &mut ops, &mut lock_wait) {
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

/// Runs every operation of a batch in one transaction, each in its own savepoint;
/// `lock_wait` is set to how long BEGIN waited for the write lock.
fn run_batch(conn: &Connection, ops: &mut [Box<dyn Op>], lock_wait: &mut Duration) -> BatchEnd {
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
        match run_in_savepoint(conn, op.as_mut()) {
            Ok(result) => results.push(result),
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

/// Runs one operation in a savepoint: `Ok` carries the operation's own result (a failed
/// operation is rolled back alone), `Err` an error that ends the whole batch.
fn run_in_savepoint(
    conn: &Connection,
    op: &mut dyn Op,
) -> Result<Result<(), StoreError>, StoreError> {
    conn.execute_batch("SAVEPOINT op")?;
    match op.run(conn) {
        Ok(()) => {
            conn.execute_batch("RELEASE op")?;
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
fn checkpoint(conn: &Connection) -> Result<(), StoreError> {
    let (busy, wal_frames, copied): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
    tracing::debug!(busy, wal_frames, copied, "database checkpoint");
    Ok(())
}
