//! Recording an attempt and the send's next state, fenced by the lease token.
//!
//! SKELETON: every function answers an error until its SQL is written.
#![allow(unused_variables)]
use super::super::StoreError;
use super::super::{AttemptRecord, FollowUp, SendUpdate};
use super::PgStore;
use chrono::{DateTime, Utc};

fn not_yet() -> StoreError {
    StoreError::Postgres("not built yet".to_owned())
}

pub(super) async fn record_outcome_then(
    store: &PgStore,
    send_id: i64,
    attempt: AttemptRecord,
    next: SendUpdate,
    follow: Option<FollowUp>,
) -> Result<(), StoreError> {
    Err(not_yet())
}
