//! Claims under a lease, the shared token bucket, the states dispatch re-reads, and putting sends back.
//!
//! SKELETON: every function answers an error until its SQL is written.
#![allow(unused_variables)]
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};

use super::super::StoreError;
use super::super::{ClaimedSend, SendState};
use super::PgStore;

fn not_yet() -> StoreError {
    StoreError::Postgres("not built yet".to_owned())
}

pub(super) async fn next_due(store: &PgStore) -> Result<Option<DateTime<Utc>>, StoreError> {
    Err(not_yet())
}

pub(super) async fn claim_due(
    store: &PgStore,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<ClaimedSend>, StoreError> {
    Err(not_yet())
}

pub(super) async fn recover_interrupted(
    store: &PgStore,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    Err(not_yet())
}

pub(super) async fn requeue(
    store: &PgStore,
    send_ids: Vec<i64>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    Err(not_yet())
}

pub(super) async fn send_states(store: &PgStore) -> Result<BTreeMap<SendState, i64>, StoreError> {
    Err(not_yet())
}

pub(super) async fn send_states_of(
    store: &PgStore,
    send_ids: Vec<i64>,
) -> Result<HashMap<i64, SendState>, StoreError> {
    Err(not_yet())
}

pub(super) async fn send_state(
    store: &PgStore,
    send_id: i64,
) -> Result<Option<SendState>, StoreError> {
    Err(not_yet())
}

pub(super) async fn pause_workspace(
    store: &PgStore,
    until: DateTime<Utc>,
) -> Result<(), StoreError> {
    Err(not_yet())
}

/// STUB (pg-cluster branch) until pg-dispatch's version lands: takes back sends whose
/// lease expired. The leader's loop (`cluster.rs`) calls it; this one takes back nothing.
pub(super) async fn take_back_expired(
    store: &PgStore,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    Ok(0)
}
