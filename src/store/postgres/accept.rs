//! Intake: a job and its sends in one transaction (job id unique across hosts; identical content: no-op), then NOTIFY; a cron job's next occurrence.
//!
//! SKELETON: every function answers an error until its SQL is written.
#![allow(unused_variables)]
use super::super::StoreError;
use super::super::{AcceptOutcome, NewJob, NewSend};
use super::PgStore;
use chrono::{DateTime, Utc};

fn not_yet() -> StoreError {
    StoreError::Postgres("not built yet".to_owned())
}

pub(super) async fn accept_job(
    store: &PgStore,
    job: NewJob,
    now: DateTime<Utc>,
) -> Result<AcceptOutcome, StoreError> {
    Err(not_yet())
}

pub(super) async fn add_occurrence(
    store: &PgStore,
    job_id: &str,
    send: NewSend,
    skipped: Option<String>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Err(not_yet())
}

pub(super) async fn accept_jobs(
    store: &PgStore,
    jobs: Vec<NewJob>,
    now: DateTime<Utc>,
) -> Vec<Result<AcceptOutcome, StoreError>> {
    let _ = (store, now);
    jobs.into_iter().map(|_| Err(not_yet())).collect()
}
