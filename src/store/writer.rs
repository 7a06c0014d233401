//! The writer: one named thread, `msgspool-writer`, owns the only read-write connection.
//!
//! Owns: that connection (moved into the thread at open) and the group commit. Callers
//! submit operations over a std channel and await the answer on a tokio oneshot.
//!
//! Trusts: each operation to touch only its own rows and to be re-runnable from scratch:
//! a batch that met a locked database is rolled back and run again.
//!
//! Guarantees: the thread blocks for one message, drains up to `max_batch` operations
//! already queued, and runs them in one `BEGIN IMMEDIATE` transaction; if one fails, the
//! batch is rolled back and run again with each operation inside its own SAVEPOINT, so
//! the failing one is rolled back alone and answered with its error and the others commit
//! together. Nobody is answered before COMMIT returned. SQLITE_BUSY or SQLITE_LOCKED on
//! BEGIN or COMMIT (another process holds the write lock, e.g. an operator's open
//! `sqlite3` transaction) is logged once per episode and waited out with bounded backoff;
//! the whole batch is then run again: operations are delayed, never dropped. A BEGIN that
//! got the lock only after [`LOCK_WAIT_NOTICE`] inside SQLite's own busy timeout is logged
//! too, so no stall of a second or more goes unexplained. A disk error (full, I/O) rolls
//! the whole batch back and answers every caller with it; callers keep their input and
//! may try again. When every `Store` is dropped the channel closes and the thread finishes
//! its queue and exits. A store opened read-only has a [`Writer::disabled`] instead: no
//! thread, and every write is refused.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::StoreError;

mod batch;
use batch::{checkpoint, commit_batch};

/// First wait after SQLite's own busy timeout ran out; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(20);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// A BEGIN that waited this long for another writer's lock is worth a log line.
const LOCK_WAIT_NOTICE: Duration = Duration::from_secs(1);

/// An operation waiting for the writer: run it (maybe more than once), then answer.
trait Op: Send {
    /// Runs the operation on the writer's connection, inside a transaction (and a savepoint
    /// of its own when the batch runs again after an operation failed).
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
