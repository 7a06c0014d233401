//! Scheduling failed or expired sends again.
//!
//! SKELETON: every function answers an error until its SQL is written.
#![allow(unused_variables)]
use super::super::RetryOutcome;
use super::super::StoreError;
use super::PgStore;
use chrono::{DateTime, Utc};

fn not_yet() -> StoreError {
    StoreError::Postgres("not built yet".to_owned())
}

pub(super) async fn retry_send(
    store: &PgStore,
    send_id: i64,
    extend_to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<RetryOutcome, StoreError> {
    Err(not_yet())
}

pub(super) async fn retry_sends(
    store: &PgStore,
    sends: Vec<(i64, Option<DateTime<Utc>>)>,
    now: DateTime<Utc>,
) -> Vec<Result<RetryOutcome, StoreError>> {
    let _ = (store, now);
    sends.into_iter().map(|_| Err(not_yet())).collect()
}
