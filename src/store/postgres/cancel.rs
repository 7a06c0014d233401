//! Canceling jobs and sends.
//!
//! SKELETON: every function answers an error until its SQL is written.
#![allow(unused_variables)]
use super::super::CancelOutcome;
use super::super::StoreError;
use super::PgStore;
use chrono::{DateTime, Utc};

fn not_yet() -> StoreError {
    StoreError::Postgres("not built yet".to_owned())
}

pub(super) async fn cancel_job(
    store: &PgStore,
    job_id: &str,
    now: DateTime<Utc>,
) -> Result<CancelOutcome, StoreError> {
    Err(not_yet())
}

pub(super) async fn cancel_jobs(
    store: &PgStore,
    prefix: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<CancelOutcome>, StoreError> {
    Err(not_yet())
}

pub(super) async fn cancel_send(
    store: &PgStore,
    send_id: i64,
    now: DateTime<Utc>,
) -> Result<CancelOutcome, StoreError> {
    Err(not_yet())
}
