//! Jobs, events, rejections and the run mode.
//!
//! SKELETON: every function answers an error until its SQL is written.
#![allow(unused_variables)]
use super::super::StoreError;
use super::super::{CronJob, EventKind, JobSource, RunMode};
use super::PgStore;
use chrono::{DateTime, Utc};

fn not_yet() -> StoreError {
    StoreError::Postgres("not built yet".to_owned())
}

pub(super) async fn record_rejection(
    store: &PgStore,
    file_name: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    Err(not_yet())
}

pub(super) async fn record_event(
    store: &PgStore,
    kind: EventKind,
    job_id: Option<&str>,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    Err(not_yet())
}

pub(super) async fn job_source(
    store: &PgStore,
    job_id: &str,
) -> Result<Option<JobSource>, StoreError> {
    Err(not_yet())
}

pub(super) async fn claim_mode(
    store: &PgStore,
    mode: RunMode,
    now: DateTime<Utc>,
) -> Result<Option<RunMode>, StoreError> {
    Err(not_yet())
}

pub(super) async fn cron_jobs(store: &PgStore) -> Result<Vec<CronJob>, StoreError> {
    Err(not_yet())
}

pub(super) async fn mark_broken(
    store: &PgStore,
    job_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    Err(not_yet())
}

pub(super) async fn mend(
    store: &PgStore,
    job_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Err(not_yet())
}

pub(super) async fn resume_refused(
    store: &PgStore,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    Err(not_yet())
}
