//! The operator's side of the store: the reads behind `msgspool list`, `show` and `stats`,
//! and the writes behind `cancel` and `retry`, safe while the daemon runs.
//!
//! Split like the store itself: [`rows`] (the plain data handed out), [`queries`] (one
//! function per SQL statement), [`ops`] (what each method does, as steps over them).
//!
//! Reads run on the read-only connection, so they also work on a store opened with
//! [`Store::open_read_only`]. Writes go through the one writer thread like the daemon's
//! own, so they serialize with intake and dispatch and are answered only once committed.
//! Every method takes `now`, so tests can move time.

mod ops;
mod queries;
mod rows;

use chrono::{DateTime, Utc};

pub use rows::{
    AttemptRow, CancelOutcome, EventRow, FinishedCounts, JobDetails, JobRow, JobState,
    RetryOutcome, SendDetails, SendFilter, SendRow, Stats,
};

use super::{Store, StoreError};

impl Store {
    /// Sends matching `filter`, soonest due first (see [`SendRow::due`]).
    pub async fn list_sends(&self, filter: SendFilter) -> Result<Vec<SendRow>, StoreError> {
        self.read(move |conn| queries::filtered_sends(conn, &filter))
            .await
    }

    /// One send, if it exists.
    pub async fn send(&self, send_id: i64) -> Result<Option<SendRow>, StoreError> {
        self.read(move |conn| queries::send_by_id(conn, send_id))
            .await
    }

    /// A job with its sends, their attempts and its events; `None` when there is no such job.
    pub async fn job_details(&self, job_id: &str) -> Result<Option<JobDetails>, StoreError> {
        let job_id = job_id.to_owned();
        self.read(move |conn| ops::job_details(conn, &job_id)).await
    }

    /// One send with its attempts, under its job; `None` when there is no such send.
    pub async fn send_details(&self, send_id: i64) -> Result<Option<JobDetails>, StoreError> {
        self.read(move |conn| ops::send_details(conn, send_id))
            .await
    }

    /// Sends per state and what finished in the hour and the day before `now`.
    pub async fn stats(&self, now: DateTime<Utc>) -> Result<Stats, StoreError> {
        self.read(move |conn| ops::stats(conn, now)).await
    }

    /// Cancels a job: its `scheduled` and `sending` sends and the job become `canceled`
    /// (see [`CancelOutcome`]); [`StoreError::NoSuchJob`] when there is no such job.
    pub async fn cancel_job(
        &self,
        job_id: &str,
        now: DateTime<Utc>,
    ) -> Result<CancelOutcome, StoreError> {
        let job_id = job_id.to_owned();
        self.inner
            .writer
            .call(move |conn| ops::cancel_job(conn, &job_id, now))
            .await
    }

    /// Cancels every active job (whose id starts with `prefix`, when given), all in one
    /// transaction; one answer per job, in id order.
    pub async fn cancel_jobs(
        &self,
        prefix: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<CancelOutcome>, StoreError> {
        let prefix = prefix.map(str::to_owned);
        self.inner
            .writer
            .call(move |conn| ops::cancel_jobs(conn, prefix.as_deref(), now))
            .await
    }

    /// Cancels one `scheduled` or `sending` send; its job finishes once nothing else of it
    /// is pending. [`StoreError::NoSuchSend`] when there is no such send.
    pub async fn cancel_send(
        &self,
        send_id: i64,
        now: DateTime<Utc>,
    ) -> Result<CancelOutcome, StoreError> {
        self.inner
            .writer
            .call(move |conn| ops::cancel_send(conn, send_id, now))
            .await
    }

    /// Schedules a `failed` or `expired` send again, due `now`, attempts back to 0, and
    /// makes its job active. `extend_to` (when given) is the earliest expiry the send gets;
    /// without it a send whose expiry has passed is refused (see [`RetryOutcome`]).
    pub async fn retry_send(
        &self,
        send_id: i64,
        extend_to: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<RetryOutcome, StoreError> {
        self.inner
            .writer
            .call(move |conn| ops::retry_send(conn, send_id, extend_to, now))
            .await
    }

    /// [`Store::retry_send`] for many sends (id and `extend_to` each) in one group commit;
    /// one answer each, in order. One that fails does not keep the others back.
    pub async fn retry_sends(
        &self,
        sends: Vec<(i64, Option<DateTime<Utc>>)>,
        now: DateTime<Utc>,
    ) -> Vec<Result<RetryOutcome, StoreError>> {
        let work = sends
            .into_iter()
            .map(|(send_id, extend_to)| {
                move |conn: &rusqlite::Connection| ops::retry_send(conn, send_id, extend_to, now)
            })
            .collect();
        self.inner.writer.call_many(work).await
    }
}
