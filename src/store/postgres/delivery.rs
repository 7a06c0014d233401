//! [`DeliveryBackend`] for [`PgStore`]: delivery statuses, polls and look-ups.
//!
//! SKELETON: every function answers an error until its SQL is written.
#![allow(unused_variables)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::super::{
    Answer, AttemptOutcome, AttemptRecord, DeliveryBackend, DeliveryCounts, DeliveryEventRow,
    DeliveryUpdate, PollDue, StoreError,
};
use super::PgStore;

fn not_yet<'a, T: Send + 'a>() -> Answer<'a, T> {
    Box::pin(async { Err(StoreError::Postgres("not built yet".to_owned())) })
}

impl DeliveryBackend for PgStore {
    fn record_lookup(&self, send_id: i64, attempt: AttemptRecord) -> Answer<'_, ()> {
        not_yet()
    }

    fn due_polls(
        &self,
        now: DateTime<Utc>,
        first_delay: Duration,
        limit: usize,
    ) -> Answer<'_, Vec<PollDue>> {
        not_yet()
    }

    fn record_poll(
        &self,
        send_id: i64,
        found: Option<DeliveryUpdate>,
        next_poll_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Answer<'_, ()> {
        not_yet()
    }

    fn record_delivery(
        &self,
        send_id: i64,
        update: DeliveryUpdate,
        now: DateTime<Utc>,
    ) -> Answer<'_, bool> {
        not_yet()
    }

    fn delivery_timeline(&self, send_id: i64) -> Answer<'_, Vec<DeliveryEventRow>> {
        not_yet()
    }

    fn delivery_counts(&self) -> Answer<'_, DeliveryCounts> {
        not_yet()
    }

    fn sends_with_delivery(&self, statuses: Vec<String>) -> Answer<'_, BTreeSet<i64>> {
        not_yet()
    }

    fn send_by_bird_id(&self, bird_message_id: String) -> Answer<'_, Option<i64>> {
        not_yet()
    }

    fn attempt_counts(&self) -> Answer<'_, BTreeMap<AttemptOutcome, i64>> {
        not_yet()
    }
}
