//! The backend seam: every operation intake, dispatch and the CLI ask of the store, as
//! one object-safe trait. [`super::SqliteStore`] is the one implementation today; a
//! second one (PostgreSQL) implements this trait and runs `tests/conformance.rs`.
//!
//! Owns: the contract each backend keeps, written on each method. Trusts: callers to pass
//! `now` (time is a parameter, so tests move it). Guarantees (of every backend): a write
//! is answered only once it is durable; writes submitted together may share one commit
//! but fail alone; a claimed send is returned to exactly one claimer; an outcome, a
//! cancel and a retry change only sends in the states they name.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};

use super::EventKind;
use super::{
    AcceptOutcome, AttemptRecord, CancelOutcome, ClaimedSend, CronJob, FollowUp, JobDetails,
    JobSource, NewJob, NewSend, RetryOutcome, RunMode, SendFilter, SendRow, SendState, SendUpdate,
    Stats, StoreError,
};

/// The answer of a backend operation, to be awaited.
pub type Answer<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Answers, one per item, of an operation on many items in one commit.
pub type Answers<'a, T> = Pin<Box<dyn Future<Output = Vec<Result<T, StoreError>>> + Send + 'a>>;

/// Every operation of the store; see the module doc for what each backend guarantees.
pub trait Backend: super::DeliveryBackend + Send + Sync {
    /// Stores a job and its sends, or tells why not (see [`AcceptOutcome`]).
    fn accept_job(&self, job: NewJob, now: DateTime<Utc>) -> Answer<'_, AcceptOutcome>;

    /// Stores many jobs in one commit; one answer per job, in order. A job that fails
    /// does not keep the others from being stored.
    fn accept_jobs(&self, jobs: Vec<NewJob>, now: DateTime<Utc>) -> Answers<'_, AcceptOutcome>;

    /// Records a job file that was rejected.
    fn record_rejection<'a>(
        &'a self,
        file_name: &'a str,
        error: &'a str,
        now: DateTime<Utc>,
    ) -> Answer<'a, ()>;

    /// Records a line of a job's (or the daemon's) history.
    fn record_event<'a>(
        &'a self,
        kind: EventKind,
        job_id: Option<&'a str>,
        detail: &'a str,
        now: DateTime<Utc>,
    ) -> Answer<'a, ()>;

    /// A job's state, source file name and source text, if the job exists.
    fn job_source<'a>(&'a self, job_id: &'a str) -> Answer<'a, Option<JobSource>>;

    /// Adds a recurring job's next occurrence unless (job, occurrence) exists already or
    /// the job is canceled or broken; `skipped` becomes one event. Whether it was added.
    fn add_occurrence<'a>(
        &'a self,
        job_id: &'a str,
        send: NewSend,
        skipped: Option<String>,
        now: DateTime<Utc>,
    ) -> Answer<'a, bool>;

    /// The earliest next attempt among scheduled sends, if any.
    fn next_due(&self) -> Answer<'_, Option<DateTime<Utc>>>;

    /// Claims up to `limit` scheduled sends due at `now`, oldest first: they are `sending`
    /// and durable when this returns, and no other claim returns them.
    fn claim_due(&self, now: DateTime<Utc>, limit: usize) -> Answer<'_, Vec<ClaimedSend>>;

    /// Records one attempt of a claimed send and moves the send on; a send reaching a
    /// final state may finish its job.
    fn record_outcome(
        &self,
        send_id: i64,
        attempt: AttemptRecord,
        next: SendUpdate,
    ) -> Answer<'_, ()> {
        self.record_outcome_then(send_id, attempt, next, None)
    }

    /// [`Backend::record_outcome`], and when the send ends, a cron job's `follow` (its
    /// next occurrence, the end of its schedule, or `broken`) in the same transaction.
    fn record_outcome_then(
        &self,
        send_id: i64,
        attempt: AttemptRecord,
        next: SendUpdate,
        follow: Option<FollowUp>,
    ) -> Answer<'_, ()>;

    /// At start: puts every send left in `sending` back to `scheduled`, due now, with an
    /// `interrupted` attempt each and one event; returns how many.
    fn recover_interrupted(&self, now: DateTime<Utc>) -> Answer<'_, usize>;

    /// Puts claimed sends back to `scheduled` without counting an attempt, with an
    /// `interrupted` attempt row each (shutdown). Sends no longer `sending` are left alone.
    fn requeue(&self, send_ids: Vec<i64>, now: DateTime<Utc>) -> Answer<'_, ()>;

    /// The number of sends in each state, by word, every state present (zero when none).
    fn send_states(&self) -> Answer<'_, BTreeMap<SendState, i64>>;

    /// The states of several sends as last committed, by id (ids that do not exist are
    /// missing): one read for a group of sends about to be posted.
    fn send_states_of(&self, send_ids: Vec<i64>) -> Answer<'_, HashMap<i64, SendState>>;

    /// The state word of one send as last committed (`None` when it does not exist): read
    /// just before its request starts, so a send canceled before then is never posted.
    fn send_state(&self, send_id: i64) -> Answer<'_, Option<SendState>>;

    /// Lets the backend tidy its files (SQLite: copies the WAL into the database).
    fn checkpoint(&self) -> Answer<'_, ()>;

    /// Sends matching `filter`, soonest due first (see [`SendRow::due`]).
    fn list_sends(&self, filter: SendFilter) -> Answer<'_, Vec<SendRow>>;

    /// One send, if it exists.
    fn send(&self, send_id: i64) -> Answer<'_, Option<SendRow>>;

    /// A job with its sends, their attempts and its events; `None` when there is no such job.
    fn job_details<'a>(&'a self, job_id: &'a str) -> Answer<'a, Option<JobDetails>>;

    /// One send with its attempts, under its job; `None` when there is no such send.
    fn send_details(&self, send_id: i64) -> Answer<'_, Option<JobDetails>>;

    /// Sends per state and what finished in the hour and the day before `now`.
    fn stats(&self, now: DateTime<Utc>) -> Answer<'_, Stats>;

    /// Cancels a job: its `scheduled` and `sending` sends and the job become `canceled`
    /// (see [`CancelOutcome`]); [`StoreError::NoSuchJob`] when there is no such job.
    fn cancel_job<'a>(&'a self, job_id: &'a str, now: DateTime<Utc>) -> Answer<'a, CancelOutcome>;

    /// Cancels every active job (whose id starts with `prefix`, when given), all in one
    /// transaction; one answer per job, in id order.
    fn cancel_jobs<'a>(
        &'a self,
        prefix: Option<&'a str>,
        now: DateTime<Utc>,
    ) -> Answer<'a, Vec<CancelOutcome>>;

    /// Cancels one `scheduled` or `sending` send; its job finishes once nothing else of it
    /// is pending. [`StoreError::NoSuchSend`] when there is no such send.
    fn cancel_send(&self, send_id: i64, now: DateTime<Utc>) -> Answer<'_, CancelOutcome>;

    /// Schedules a `failed` or `expired` send again, due `now`, attempts back to 0, and
    /// makes its job active. `extend_to` (when given) is the earliest expiry the send gets;
    /// without it a send whose expiry has passed is refused (see [`RetryOutcome`]).
    fn retry_send(
        &self,
        send_id: i64,
        extend_to: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Answer<'_, RetryOutcome>;

    /// [`Backend::retry_send`] for many sends (id and `extend_to` each) in one commit;
    /// one answer each, in order. One that fails does not keep the others back.
    fn retry_sends(
        &self,
        sends: Vec<(i64, Option<DateTime<Utc>>)>,
        now: DateTime<Utc>,
    ) -> Answers<'_, RetryOutcome>;

    /// Records the database's run mode if it has none; returns its other mode when a
    /// daemon of `mode` must not use it (a dry run on real sends, or the reverse).
    fn claim_mode(&self, mode: RunMode, now: DateTime<Utc>) -> Answer<'_, Option<RunMode>>;

    /// Every cron job that is not canceled (for review at start-up and after a reload).
    fn cron_jobs(&self) -> Answer<'_, Vec<CronJob>>;

    /// Marks a job `broken` (it no longer passes the rules), with the reason and an event.
    fn mark_broken<'a>(
        &'a self,
        job_id: &'a str,
        reason: &'a str,
        now: DateTime<Utc>,
    ) -> Answer<'a, ()>;

    /// Makes a broken job active again, its waiting sends due now; false if it was not broken.
    fn mend<'a>(&'a self, job_id: &'a str, now: DateTime<Utc>) -> Answer<'a, bool>;

    /// After a reload: sends held back by a refused key or a redirect (their last attempt
    /// says so) are due `now` instead of at the end of the pause; returns how many.
    fn resume_refused(&self, now: DateTime<Utc>) -> Answer<'_, usize>;

    /// Whether the backend can still write (false: msgspool must stop, systemd restarts it).
    fn writer_alive(&self) -> bool;

    /// The workspace's rate limit, for a backend whose token bucket is shared by several
    /// daemons (PostgreSQL); a backend of one daemon leaves the bucket to dispatch alone.
    fn set_rate_limit(&self, per_second: u32) {
        let _ = per_second;
    }

    /// After a 429: the workspace's shared bucket is emptied and paused until `until`, for
    /// every daemon sharing it. A backend of one daemon has nothing to share.
    fn pause_workspace(&self, until: DateTime<Utc>) -> Answer<'_, ()> {
        let _ = until;
        Box::pin(async { Ok(()) })
    }

    /// Pokes `waker` whenever another daemon (or an operator) stores a send that may be due
    /// earlier than what this daemon knows (PostgreSQL: `LISTEN`). A backend of one daemon
    /// needs nothing: its own intake pokes dispatch.
    fn watch_new_sends(&self, waker: std::sync::Arc<tokio::sync::Notify>) {
        let _ = waker;
    }

    /// Starts the work a daemon sharing the backend does besides dispatch (PostgreSQL:
    /// its node's heartbeat, lease renewal, and the leader's singleton work), until `stop`.
    fn start_cluster(
        &self,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let _ = stop;
        None
    }

    /// Whether this daemon is the one that does singleton work (cron gap repair) for every
    /// daemon on the backend; false for a backend of one daemon, whose start-up does it.
    fn cluster_leader(&self) -> bool {
        false
    }
}
