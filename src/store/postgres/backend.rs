//! [`Backend`] for [`PgStore`]: each operation is an async function in the module that
//! owns its SQL (accept, claim, outcome, jobs, reads, cancel, retry).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::super::{
    AcceptOutcome, Answer, Answers, AttemptRecord, Backend, CancelOutcome, ClaimedSend, CronJob,
    EventKind, FollowUp, JobDetails, JobSource, NewJob, NewSend, RetryOutcome, RunMode, SendFilter,
    SendRow, SendState, SendUpdate, Stats,
};
use super::{PgStore, accept, cancel, claim, jobs, outcome, reads, retry};

impl Backend for PgStore {
    fn accept_job(&self, job: NewJob, now: DateTime<Utc>) -> Answer<'_, AcceptOutcome> {
        Box::pin(accept::accept_job(self, job, now))
    }

    fn accept_jobs(&self, jobs: Vec<NewJob>, now: DateTime<Utc>) -> Answers<'_, AcceptOutcome> {
        Box::pin(accept::accept_jobs(self, jobs, now))
    }

    fn record_rejection<'a>(
        &'a self,
        file_name: &'a str,
        error: &'a str,
        now: DateTime<Utc>,
    ) -> Answer<'a, ()> {
        Box::pin(jobs::record_rejection(self, file_name, error, now))
    }

    fn record_event<'a>(
        &'a self,
        kind: EventKind,
        job_id: Option<&'a str>,
        detail: &'a str,
        now: DateTime<Utc>,
    ) -> Answer<'a, ()> {
        Box::pin(jobs::record_event(self, kind, job_id, detail, now))
    }

    fn job_source<'a>(&'a self, job_id: &'a str) -> Answer<'a, Option<JobSource>> {
        Box::pin(jobs::job_source(self, job_id))
    }

    fn add_occurrence<'a>(
        &'a self,
        job_id: &'a str,
        send: NewSend,
        skipped: Option<String>,
        now: DateTime<Utc>,
    ) -> Answer<'a, bool> {
        Box::pin(accept::add_occurrence(self, job_id, send, skipped, now))
    }

    fn next_due(&self) -> Answer<'_, Option<DateTime<Utc>>> {
        Box::pin(claim::next_due(self))
    }

    fn claim_due(&self, now: DateTime<Utc>, limit: usize) -> Answer<'_, Vec<ClaimedSend>> {
        Box::pin(claim::claim_due(self, now, limit))
    }

    fn record_outcome_then(
        &self,
        send_id: i64,
        attempt: AttemptRecord,
        next: SendUpdate,
        follow: Option<FollowUp>,
    ) -> Answer<'_, ()> {
        Box::pin(outcome::record_outcome_then(
            self, send_id, attempt, next, follow,
        ))
    }

    fn recover_interrupted(&self, now: DateTime<Utc>) -> Answer<'_, usize> {
        Box::pin(claim::recover_interrupted(self, now))
    }

    fn requeue(&self, send_ids: Vec<i64>, now: DateTime<Utc>) -> Answer<'_, ()> {
        Box::pin(claim::requeue(self, send_ids, now))
    }

    fn send_states(&self) -> Answer<'_, BTreeMap<SendState, i64>> {
        Box::pin(claim::send_states(self))
    }

    fn send_states_of(&self, send_ids: Vec<i64>) -> Answer<'_, HashMap<i64, SendState>> {
        Box::pin(claim::send_states_of(self, send_ids))
    }

    fn send_state(&self, send_id: i64) -> Answer<'_, Option<SendState>> {
        Box::pin(claim::send_state(self, send_id))
    }

    fn checkpoint(&self) -> Answer<'_, ()> {
        // PostgreSQL checkpoints by itself.
        Box::pin(async { Ok(()) })
    }

    fn list_sends(&self, filter: SendFilter) -> Answer<'_, Vec<SendRow>> {
        Box::pin(reads::list_sends(self, filter))
    }

    fn send(&self, send_id: i64) -> Answer<'_, Option<SendRow>> {
        Box::pin(reads::send(self, send_id))
    }

    fn job_details<'a>(&'a self, job_id: &'a str) -> Answer<'a, Option<JobDetails>> {
        Box::pin(reads::job_details(self, job_id))
    }

    fn send_details(&self, send_id: i64) -> Answer<'_, Option<JobDetails>> {
        Box::pin(reads::send_details(self, send_id))
    }

    fn stats(&self, now: DateTime<Utc>) -> Answer<'_, Stats> {
        Box::pin(reads::stats(self, now))
    }

    fn cancel_job<'a>(&'a self, job_id: &'a str, now: DateTime<Utc>) -> Answer<'a, CancelOutcome> {
        Box::pin(cancel::cancel_job(self, job_id, now))
    }

    fn cancel_jobs<'a>(
        &'a self,
        prefix: Option<&'a str>,
        now: DateTime<Utc>,
    ) -> Answer<'a, Vec<CancelOutcome>> {
        Box::pin(cancel::cancel_jobs(self, prefix, now))
    }

    fn cancel_send(&self, send_id: i64, now: DateTime<Utc>) -> Answer<'_, CancelOutcome> {
        Box::pin(cancel::cancel_send(self, send_id, now))
    }

    fn retry_send(
        &self,
        send_id: i64,
        extend_to: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Answer<'_, RetryOutcome> {
        Box::pin(retry::retry_send(self, send_id, extend_to, now))
    }

    fn retry_sends(
        &self,
        sends: Vec<(i64, Option<DateTime<Utc>>)>,
        now: DateTime<Utc>,
    ) -> Answers<'_, RetryOutcome> {
        Box::pin(retry::retry_sends(self, sends, now))
    }

    fn claim_mode(&self, mode: RunMode, now: DateTime<Utc>) -> Answer<'_, Option<RunMode>> {
        Box::pin(jobs::claim_mode(self, mode, now))
    }

    fn cron_jobs(&self) -> Answer<'_, Vec<CronJob>> {
        Box::pin(jobs::cron_jobs(self))
    }

    fn mark_broken<'a>(
        &'a self,
        job_id: &'a str,
        reason: &'a str,
        now: DateTime<Utc>,
    ) -> Answer<'a, ()> {
        Box::pin(jobs::mark_broken(self, job_id, reason, now))
    }

    fn mend<'a>(&'a self, job_id: &'a str, now: DateTime<Utc>) -> Answer<'a, bool> {
        Box::pin(jobs::mend(self, job_id, now))
    }

    fn resume_refused(&self, now: DateTime<Utc>) -> Answer<'_, usize> {
        Box::pin(jobs::resume_refused(self, now))
    }

    fn writer_alive(&self) -> bool {
        self.alive()
    }

    fn set_rate_limit(&self, per_second: u32) {
        self.set_rate(per_second);
    }

    fn pause_workspace(&self, until: DateTime<Utc>) -> Answer<'_, ()> {
        Box::pin(claim::pause_workspace(self, until))
    }

    fn watch_new_sends(&self, waker: std::sync::Arc<tokio::sync::Notify>) {
        super::listen::spawn(self, waker);
    }

    fn start_cluster(
        &self,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        Some(super::cluster::spawn(self, stop))
    }

    fn cluster_leader(&self) -> bool {
        super::cluster::leads(self)
    }
}
