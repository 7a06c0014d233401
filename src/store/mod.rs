//! The store: msgspool's SQLite database and every line of SQL that touches it.
//!
//! Owns: the database file and its schema ([`schema`]: pragmas, numbered migrations, the
//! views operators read), the one thread that writes ([`writer`]: group commit), every
//! statement ([`queries`]) and the operations built from them ([`ops`]); the operator's
//! reads and writes (`msgspool list`, `show`, `stats`, `cancel`, `retry`) follow the same
//! split in [`operator`]. No other module sees a connection; they call the async methods
//! of [`Store`].
//!
//! Trusts: its callers for what they store (a job was validated by `job`, a payload is
//! Bird's JSON body) and for the clock: every write takes `now`, so tests can move time.
//! SQLite for durability: WAL with `synchronous = FULL`, so a commit survives power loss.
//!
//! Guarantees: every write runs inside `BEGIN IMMEDIATE` on the writer thread and is
//! answered only after its COMMIT returned, so an `Ok` is on disk. Writes submitted
//! together share one commit but fail alone. A database locked by another writer (an
//! operator's open `sqlite3` transaction) delays writes and never drops them. Reads run on
//! their own read-only connection and see the last commit. Every timestamp is stored as
//! `YYYY-MM-DDTHH:MM:SS.sssZ` text ([`crate::timefmt`]).
//!
//! Dropping a future returned by a write does not cancel the write: once submitted it
//! commits (or fails) whether or not anyone waits for the answer.

mod cron;
mod delivery;
mod faults;
mod mode;
mod operator;
mod ops;
mod queries;
mod repair;
mod schema;
mod writer;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode};

pub use cron::{CronJob, FollowUp};
pub use delivery::{DeliveryCounts, DeliveryEventRow, DeliveryUpdate, PollDue};
pub use mode::RunMode;
pub use operator::{
    AttemptRow, CancelOutcome, EventRow, FinishedCounts, JobDetails, JobRow, JobState,
    RetryOutcome, SendDetails, SendFilter, SendRow, Stats,
};
pub use queries::SendState;
pub use schema::KNOWN_VERSION;

use writer::Writer;

/// A handle on the database: cheap to clone, shared by intake, dispatch and the CLI.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Writer,
    reader: Mutex<Connection>,
}

/// A validated job and its sends, as intake hands them over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// The job id (the file name without `.toml` unless the file sets `id`).
    pub id: String,
    /// The channel name from the config.
    pub channel: String,
    pub kind: JobKind,
    /// The cron expression of a `Cron` job; `None` for `Once`.
    pub cron: Option<String>,
    /// The IANA zone the cron expression is evaluated in.
    pub timezone: Option<String>,
    /// The end of a cron schedule.
    pub until: Option<DateTime<Utc>>,
    /// The job file's name, e.g. `order-1234.toml`.
    pub source_name: String,
    /// The job file's text, kept so the file can be removed.
    pub source_text: String,
    /// SHA-256 of the file's content; the same id with the same hash is a no-op.
    pub sha256: String,
    pub sends: Vec<NewSend>,
}

/// Whether a job sends once or on a cron schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Once,
    Cron,
}

/// One message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSend {
    /// The time the job asked for (`scheduledFor` or the cron occurrence).
    pub occurrence: DateTime<Utc>,
    /// When to make the first attempt (after Bird's immediate window and quiet hours).
    pub due: DateTime<Utc>,
    /// When the message stops being worth sending (its validity runs out).
    pub expires: DateTime<Utc>,
    /// Bird's JSON body, without `validity` (set per attempt).
    pub payload: String,
    /// The `reference` Bird receives.
    pub reference: String,
}

/// What [`Store::accept_job`] did with a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptOutcome {
    /// A new job: it and its sends are stored.
    Inserted,
    /// The same id with the same content is already stored; nothing changed. (A crash
    /// between commit and removing the file lands here on the next scan.)
    Unchanged,
    /// The same id with new content while the job still had scheduled sends: those were
    /// removed (`canceled` of them), the job row now holds the new content and the new
    /// sends are scheduled. An event row records it.
    Replaced { canceled: usize },
    /// The same id with new content, but the job cannot take it: it has finished, has a
    /// send in flight, or an occurrence in the new content already happened.
    Conflict { reason: String },
}

/// A send claimed for dispatch: now in state `sending`, committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedSend {
    pub send_id: i64,
    pub job_id: String,
    pub channel: String,
    pub payload: String,
    pub reference: String,
    pub due: DateTime<Utc>,
    /// The occurrence this send is for (the time asked for).
    pub occurrence: DateTime<Utc>,
    /// True when the job is a `cron` job, whose next occurrence follows this one.
    pub recurring: bool,
    /// The job's `ignoreQuietHours` (read with the row; `plan::quiet_window` decides).
    pub ignore_quiet_hours: bool,
    pub expires: DateTime<Utc>,
    /// Attempts counted so far (before this one).
    pub attempts: u32,
    /// Set when an earlier attempt's outcome is unknown (from its start): Bird is asked
    /// for the message by `reference` before it is posted again.
    pub reconcile_from: Option<DateTime<Utc>>,
}

/// One try of a send, as the dispatcher saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    /// `None` when no HTTP answer came (timeout, connection error, no request made).
    pub http_status: Option<u16>,
    pub outcome: AttemptOutcome,
    pub error: Option<String>,
}

/// How one try ended; stored as the lower-case word in `attempts.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Sent,
    Retry,
    Throttled,
    Failed,
    Unauthorized,
    /// A 3xx: not followed, so Bird never saw the message.
    Redirected,
    Expired,
    Interrupted,
    /// No answer after the request may have reached Bird (timeout, connection lost):
    /// Bird is asked before the send is posted again.
    Unknown,
    /// Bird's listing held the message: it was sent, and is not posted again.
    Reconciled,
    /// A complete search of Bird's listing did not find it: it is posted again.
    NotFound,
}

/// Where a send goes after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendUpdate {
    /// Bird accepted it (202).
    Sent {
        bird_message_id: String,
        bird_status: String,
        at: DateTime<Utc>,
    },
    /// Back to `scheduled`, next try at `next_attempt`; `count_attempt` is false when Bird
    /// did not process the request (429).
    Retry {
        next_attempt: DateTime<Utc>,
        count_attempt: bool,
        error: String,
    },
    /// Failed for good; keeps Bird's `code`, `message` and `details` (JSON text).
    Failed {
        code: Option<String>,
        message: String,
        details: Option<String>,
        at: DateTime<Utc>,
    },
    /// Its validity ran out before it could be sent.
    Expired { reason: String, at: DateTime<Utc> },
}

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
    fn is_disk(&self) -> bool {
        matches!(self, StoreError::Full(_) | StoreError::Io(_))
    }

    /// Retry, give up, or exit: decided here, in one match without a catch-all arm.
    pub fn class(&self) -> ErrorClass {
        match self {
            StoreError::Busy(_) | StoreError::Full(_) | StoreError::Io(_) => ErrorClass::Transient,
            StoreError::Constraint(_)
            | StoreError::BadValue { .. }
            | StoreError::NoSuchSend(_)
            | StoreError::NoSuchJob(_)
            | StoreError::Sqlite(_)
            | StoreError::ReadOnly
            | StoreError::Open { .. }
            | StoreError::Migrate { .. }
            | StoreError::NewerSchema { .. }
            | StoreError::NotMigrated { .. } => ErrorClass::Permanent,
            StoreError::WriterGone => ErrorClass::Fatal,
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

/// Knobs the tests turn; the daemon uses the defaults.
#[derive(Debug, Clone, Copy)]
struct Options {
    /// How long SQLite itself waits for a lock before reporting SQLITE_BUSY.
    busy_timeout: Duration,
    /// The most operations one group commit takes.
    max_batch: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            busy_timeout: Duration::from_secs(5),
            max_batch: 1000,
        }
    }
}

impl Store {
    /// Opens (creating the file, not its folder) and migrates the database at `path`, and
    /// starts the writer thread.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with(path, Options::default())
    }

    /// Opens the existing database at `path` for reading only: nothing is created,
    /// migrated or written, and no writer thread starts (every write answers
    /// [`StoreError::ReadOnly`]). The database must be at [`KNOWN_VERSION`].
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let reader = schema::open_reader(path, Options::default().busy_timeout)?;
        schema::check_version(&reader, path)?;
        Ok(Store {
            inner: Arc::new(Inner {
                writer: Writer::disabled(),
                reader: Mutex::new(reader),
            }),
        })
    }

    fn open_with(path: &Path, options: Options) -> Result<Store, StoreError> {
        let mut conn = schema::open_writer(path, options.busy_timeout)?;
        schema::migrate(&mut conn, path, Utc::now())?;
        let reader = schema::open_reader(path, options.busy_timeout)?;
        let writer = Writer::spawn(conn, options.max_batch).map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            reason: format!("cannot start the writer thread: {e}"),
        })?;
        Ok(Store {
            inner: Arc::new(Inner {
                writer,
                reader: Mutex::new(reader),
            }),
        })
    }

    /// Stores a job and its sends, or tells why not (see [`AcceptOutcome`]).
    pub async fn accept_job(
        &self,
        job: NewJob,
        now: DateTime<Utc>,
    ) -> Result<AcceptOutcome, StoreError> {
        self.inner
            .writer
            .call(move |conn| ops::accept_job(conn, &job, now))
            .await
    }

    /// Stores many jobs in one group commit; one answer per job, in order. A job that
    /// fails does not keep the others from being stored.
    pub async fn accept_jobs(
        &self,
        jobs: Vec<NewJob>,
        now: DateTime<Utc>,
    ) -> Vec<Result<AcceptOutcome, StoreError>> {
        let work = jobs
            .into_iter()
            .map(|job| move |conn: &Connection| ops::accept_job(conn, &job, now))
            .collect();
        self.inner.writer.call_many(work).await
    }

    /// Records a job file that was rejected.
    pub async fn record_rejection(
        &self,
        file_name: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (file_name, error) = (file_name.to_owned(), error.to_owned());
        self.inner
            .writer
            .call(move |conn| queries::insert_rejection(conn, &file_name, &error, now))
            .await
    }

    /// Records a line in the `events` table (e.g. kind `skipped`, "skipped 3 occurrences
    /// between A and B").
    pub async fn record_event(
        &self,
        kind: &str,
        job_id: Option<&str>,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (kind, job_id, detail) = (
            kind.to_owned(),
            job_id.map(str::to_owned),
            detail.to_owned(),
        );
        self.inner
            .writer
            .call(move |conn| queries::insert_event(conn, now, &kind, job_id.as_deref(), &detail))
            .await
    }

    /// A job's state, source file name and source text, if the job exists.
    pub async fn job_source(
        &self,
        job_id: &str,
    ) -> Result<Option<(String, String, String)>, StoreError> {
        let job_id = job_id.to_owned();
        self.read(move |conn| queries::job_source(conn, &job_id))
            .await
    }

    /// Adds a recurring job's next occurrence (see `ops::add_occurrence`).
    pub async fn add_occurrence(
        &self,
        job_id: &str,
        send: NewSend,
        skipped: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let job_id = job_id.to_owned();
        self.inner
            .writer
            .call(move |conn| ops::add_occurrence(conn, &job_id, &send, skipped.as_deref(), now))
            .await
    }

    /// The earliest next attempt among scheduled sends, if any.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(queries::earliest_next_attempt).await
    }

    /// Claims up to `limit` scheduled sends due at `now`, oldest first: they are `sending`
    /// (with `claimed_at = now`) and committed when this returns.
    pub async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ClaimedSend>, StoreError> {
        self.inner
            .writer
            .call(move |conn| ops::claim_due(conn, now, limit))
            .await
    }

    /// Records one attempt of a claimed send and moves the send on; a send reaching a final
    /// state may finish its job.
    pub async fn record_outcome(
        &self,
        send_id: i64,
        attempt: AttemptRecord,
        next: SendUpdate,
    ) -> Result<(), StoreError> {
        self.record_outcome_then(send_id, attempt, next, None).await
    }

    /// [`Store::record_outcome`], and when the send ends, a cron job's `follow` (its next
    /// occurrence, the end of its schedule, or `broken`) in the same transaction.
    pub async fn record_outcome_then(
        &self,
        send_id: i64,
        attempt: AttemptRecord,
        next: SendUpdate,
        follow: Option<FollowUp>,
    ) -> Result<(), StoreError> {
        self.inner
            .writer
            .call(move |conn| ops::record_outcome(conn, send_id, &attempt, &next, follow.as_ref()))
            .await
    }

    /// At start: puts every send left in `sending` back to `scheduled`, due now, with an
    /// `interrupted` attempt each and one event; returns how many.
    pub async fn recover_interrupted(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.inner
            .writer
            .call(move |conn| ops::recover_interrupted(conn, now))
            .await
    }

    /// Puts claimed sends back to `scheduled` without counting an attempt, with an
    /// `interrupted` attempt row each (shutdown). Sends no longer `sending` are left alone.
    pub async fn requeue(&self, send_ids: Vec<i64>, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.inner
            .writer
            .call(move |conn| ops::requeue(conn, &send_ids, now))
            .await
    }

    /// The number of sends in each state, every state present (zero when none).
    pub async fn send_states(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        self.read(ops::send_states).await
    }

    /// Copies the WAL into the database file without waiting for readers (PASSIVE);
    /// `journal_size_limit` then keeps the WAL file small. Call it now and then.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        self.inner.writer.checkpoint().await
    }

    /// Runs `read` on the read-only connection, off the async threads.
    async fn read<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            // A panic while the lock was held leaves the connection itself usable.
            let conn = inner.reader.lock().unwrap_or_else(PoisonError::into_inner);
            read(&conn)
        })
        .await
        .map_err(|e| StoreError::Sqlite(format!("a database read stopped: {e}")))?
    }
}
