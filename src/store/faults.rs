//! The [`Store`] methods for running safely: the database's run mode, recurring jobs'
//! review (broken, mended), sends held back by a refused key, the re-check before a
//! request, and whether the writer thread lives. Same rules as the rest of the store:
//! writes go through the writer, reads through the read-only connection.

use chrono::{DateTime, Utc};

use super::{CronJob, RunMode, Store, StoreError, cron, mode, ops, repair};

impl Store {
    /// The states of several sends as last committed, by id (ids that do not exist are
    /// missing): one read for a group of sends about to be posted.
    pub async fn send_states_of(
        &self,
        send_ids: Vec<i64>,
    ) -> Result<std::collections::HashMap<i64, String>, StoreError> {
        self.read(move |conn| repair::states_of(conn, &send_ids))
            .await
    }

    /// Records the database's run mode if it has none; returns its other mode when a
    /// daemon of `mode` must not use it (a dry run on real sends, or the reverse).
    pub async fn claim_mode(
        &self,
        mode: RunMode,
        now: DateTime<Utc>,
    ) -> Result<Option<RunMode>, StoreError> {
        self.inner
            .writer
            .call(move |conn| mode::claim(conn, mode, now))
            .await
    }

    /// Every cron job that is not canceled (for review at start-up and after a reload).
    pub async fn cron_jobs(&self) -> Result<Vec<CronJob>, StoreError> {
        self.read(cron::cron_jobs).await
    }

    /// Marks a job `broken` (it no longer passes the rules), with the reason and an event.
    pub async fn mark_broken(
        &self,
        job_id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (job_id, reason) = (job_id.to_owned(), reason.to_owned());
        self.inner
            .writer
            .call(move |conn| cron::mark_broken(conn, &job_id, &reason, now))
            .await
    }

    /// Makes a broken job active again, its waiting sends due now; false if it was not broken.
    pub async fn mend(&self, job_id: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let job_id = job_id.to_owned();
        self.inner
            .writer
            .call(move |conn| cron::mend(conn, &job_id, now))
            .await
    }

    /// After a reload: sends held back by a refused key or a redirect (their last attempt
    /// says so) are due `now` instead of at the end of the pause; returns how many.
    pub async fn resume_refused(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.inner
            .writer
            .call(move |conn| repair::resume_refused(conn, now))
            .await
    }

    /// Whether the writer thread is still running (false: msgspool must stop).
    pub fn writer_alive(&self) -> bool {
        self.inner.writer.alive()
    }

    /// The state of one send as last committed (`None` when it does not exist): read just
    /// before its request starts, so a send canceled before then is never posted.
    pub async fn send_state(&self, send_id: i64) -> Result<Option<String>, StoreError> {
        self.read(move |conn| ops::send_state(conn, send_id)).await
    }
}
