//! The SQLite backend: one database file, one writer thread with group commit, two
//! read-only connections; the [`Backend`] operations as calls into the table and
//! operation modules.
//!
//! Owns: the three connections (through the writer thread and two mutexes, in
//! [`connections`]). Trusts: `schema` for the file's shape and the writer for
//! transactions. Guarantees: every write runs inside
//! `BEGIN IMMEDIATE` on the writer thread and is answered only after its COMMIT returned;
//! reads run off the async threads on a read-only connection and see the last commit. The
//! dispatcher's reads (the next due time, the re-read of a group just before its instant)
//! have a connection of their own: a read that walks the whole table (the `STATUS=` counts,
//! an operator's list, `stats`) takes tens of milliseconds with a million sends, and
//! behind one mutex it held up a group due meanwhile by as much.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::retry;
use super::sends::reads;
use super::{
    AcceptOutcome, AttemptRecord, CancelOutcome, ClaimedSend, CronJob, EventKind, FollowUp,
    JobDetails, JobSource, NewJob, NewSend, RetryOutcome, RunMode, SendFilter, SendRow, SendState,
    SendUpdate, Stats,
};
use super::{Answer, Answers, Backend};
use super::{accept, cancel, claim, cron, details, events, jobs, mode, outcome, rejections};

mod connections;

pub use connections::SqliteStore;

impl Backend for SqliteStore {
    fn accept_job(&self, job: NewJob, now: DateTime<Utc>) -> Answer<'_, AcceptOutcome> {
        self.write(move |conn| accept::accept_job(conn, &job, now))
    }

    fn accept_jobs(&self, jobs: Vec<NewJob>, now: DateTime<Utc>) -> Answers<'_, AcceptOutcome> {
        let works = jobs
            .into_iter()
            .map(|job| move |conn: &Connection| accept::accept_job(conn, &job, now));
        self.write_many(works.collect())
    }

    fn record_rejection<'a>(
        &'a self,
        file_name: &'a str,
        error: &'a str,
        now: DateTime<Utc>,
    ) -> Answer<'a, ()> {
        let (file_name, error) = (file_name.to_owned(), error.to_owned());
        self.write(move |conn| rejections::insert(conn, &file_name, &error, now))
    }

    fn record_event<'a>(
        &'a self,
        kind: EventKind,
        job_id: Option<&'a str>,
        detail: &'a str,
        now: DateTime<Utc>,
    ) -> Answer<'a, ()> {
        let (job_id, detail) = (job_id.map(str::to_owned), detail.to_owned());
        self.write(move |conn| events::insert(conn, now, kind, job_id.as_deref(), &detail))
    }

    fn job_source<'a>(&'a self, job_id: &'a str) -> Answer<'a, Option<JobSource>> {
        let job_id = job_id.to_owned();
        self.read(move |conn| jobs::source(conn, &job_id))
    }

    fn add_occurrence<'a>(
        &'a self,
        job_id: &'a str,
        send: NewSend,
        skipped: Option<String>,
        now: DateTime<Utc>,
    ) -> Answer<'a, bool> {
        let job_id = job_id.to_owned();
        self.write(move |conn| cron::add_occurrence(conn, &job_id, &send, skipped.as_deref(), now))
    }

    fn next_due(&self) -> Answer<'_, Option<DateTime<Utc>>> {
        self.read_for_dispatch(reads::earliest_next_attempt)
    }

    fn claim_due(&self, now: DateTime<Utc>, limit: usize) -> Answer<'_, Vec<ClaimedSend>> {
        self.write(move |conn| claim::claim_due(conn, now, limit))
    }

    fn record_outcome_then(
        &self,
        send_id: i64,
        attempt: AttemptRecord,
        next: SendUpdate,
        follow: Option<FollowUp>,
    ) -> Answer<'_, ()> {
        self.write(move |conn| {
            outcome::record_outcome(conn, send_id, &attempt, &next, follow.as_ref())
        })
    }

    fn recover_interrupted(&self, now: DateTime<Utc>) -> Answer<'_, usize> {
        self.write(move |conn| claim::recover_interrupted(conn, now))
    }

    fn requeue(&self, send_ids: Vec<i64>, now: DateTime<Utc>) -> Answer<'_, ()> {
        self.write(move |conn| claim::requeue(conn, &send_ids, now))
    }

    fn send_states(&self) -> Answer<'_, BTreeMap<SendState, i64>> {
        self.read(details::send_states)
    }

    fn send_states_of(&self, send_ids: Vec<i64>) -> Answer<'_, HashMap<i64, SendState>> {
        self.read_for_dispatch(move |conn| reads::states_of(conn, &send_ids))
    }

    fn send_state(&self, send_id: i64) -> Answer<'_, Option<SendState>> {
        let state = move |conn: &Connection| reads::job_and_state(conn, send_id);
        self.read_for_dispatch(move |conn| Ok(state(conn)?.map(|(_, state)| state)))
    }

    fn checkpoint(&self) -> Answer<'_, ()> {
        Box::pin(self.inner.writer.checkpoint())
    }

    fn list_sends(&self, filter: SendFilter) -> Answer<'_, Vec<SendRow>> {
        self.read(move |conn| reads::filtered(conn, &filter))
    }

    fn send(&self, send_id: i64) -> Answer<'_, Option<SendRow>> {
        self.read(move |conn| reads::by_id(conn, send_id))
    }

    fn job_details<'a>(&'a self, job_id: &'a str) -> Answer<'a, Option<JobDetails>> {
        let job_id = job_id.to_owned();
        self.read(move |conn| details::job_details(conn, &job_id))
    }

    fn send_details(&self, send_id: i64) -> Answer<'_, Option<JobDetails>> {
        self.read(move |conn| details::send_details(conn, send_id))
    }

    fn stats(&self, now: DateTime<Utc>) -> Answer<'_, Stats> {
        self.read(move |conn| details::stats(conn, now))
    }

    fn cancel_job<'a>(&'a self, job_id: &'a str, now: DateTime<Utc>) -> Answer<'a, CancelOutcome> {
        let job_id = job_id.to_owned();
        self.write(move |conn| cancel::cancel_job(conn, &job_id, now))
    }

    fn cancel_jobs<'a>(
        &'a self,
        prefix: Option<&'a str>,
        now: DateTime<Utc>,
    ) -> Answer<'a, Vec<CancelOutcome>> {
        let prefix = prefix.map(str::to_owned);
        self.write(move |conn| cancel::cancel_jobs(conn, prefix.as_deref(), now))
    }

    fn cancel_send(&self, send_id: i64, now: DateTime<Utc>) -> Answer<'_, CancelOutcome> {
        self.write(move |conn| cancel::cancel_send(conn, send_id, now))
    }

    fn retry_send(
        &self,
        send_id: i64,
        extend_to: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Answer<'_, RetryOutcome> {
        self.write(move |conn| retry::retry_send(conn, send_id, extend_to, now))
    }

    fn retry_sends(
        &self,
        sends: Vec<(i64, Option<DateTime<Utc>>)>,
        now: DateTime<Utc>,
    ) -> Answers<'_, RetryOutcome> {
        let works = sends.into_iter().map(|(send_id, extend_to)| {
            move |conn: &Connection| retry::retry_send(conn, send_id, extend_to, now)
        });
        self.write_many(works.collect())
    }

    fn claim_mode(&self, run_mode: RunMode, now: DateTime<Utc>) -> Answer<'_, Option<RunMode>> {
        self.write(move |conn| mode::claim(conn, run_mode, now))
    }

    fn cron_jobs(&self) -> Answer<'_, Vec<CronJob>> {
        self.read(jobs::cron_jobs)
    }

    fn mark_broken<'a>(
        &'a self,
        job_id: &'a str,
        reason: &'a str,
        now: DateTime<Utc>,
    ) -> Answer<'a, ()> {
        let (job_id, reason) = (job_id.to_owned(), reason.to_owned());
        self.write(move |conn| cron::mark_broken(conn, &job_id, &reason, now))
    }

    fn mend<'a>(&'a self, job_id: &'a str, now: DateTime<Utc>) -> Answer<'a, bool> {
        let job_id = job_id.to_owned();
        self.write(move |conn| cron::mend(conn, &job_id, now))
    }

    fn resume_refused(&self, now: DateTime<Utc>) -> Answer<'_, usize> {
        self.write(move |conn| super::sends::moves::resume_refused(conn, now))
    }

    fn writer_alive(&self) -> bool {
        self.inner.writer.alive()
    }
}
