//! What operators read: sends, a job's or a send's details, stats.
//!
//! SKELETON: every function answers an error until its SQL is written.
#![allow(unused_variables)]
use super::super::StoreError;
use super::super::{JobDetails, SendFilter, SendRow, Stats};
use super::PgStore;
use chrono::{DateTime, Utc};

fn not_yet() -> StoreError {
    StoreError::Postgres("not built yet".to_owned())
}

pub(super) async fn list_sends(
    store: &PgStore,
    filter: SendFilter,
) -> Result<Vec<SendRow>, StoreError> {
    Err(not_yet())
}

pub(super) async fn send(store: &PgStore, send_id: i64) -> Result<Option<SendRow>, StoreError> {
    Err(not_yet())
}

pub(super) async fn job_details(
    store: &PgStore,
    job_id: &str,
) -> Result<Option<JobDetails>, StoreError> {
    Err(not_yet())
}

pub(super) async fn send_details(
    store: &PgStore,
    send_id: i64,
) -> Result<Option<JobDetails>, StoreError> {
    Err(not_yet())
}

pub(super) async fn stats(store: &PgStore, now: DateTime<Utc>) -> Result<Stats, StoreError> {
    Err(not_yet())
}
