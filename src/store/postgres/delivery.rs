//! [`DeliveryBackend`] for [`PgStore`]: delivery statuses, polls and look-ups, each
//! operation an async function in [`write`](mod@write) (attempt rows, the reconcile mark,
//! statuses) or [`reads`] (what reconciliation, polling and the operator read).
//!
//! Owns: the mapping of the trait onto those functions. Guarantees (as SQLite's
//! `delivery.rs`): a status only moves forward, each status reached is one
//! `delivery_events` row, and an attempt row and the send's reconcile mark change in one
//! transaction. Several daemons may report a status for one send at once (a webhook on
//! one, a poll on another): each write locks the send's row first, so the second reads
//! what the first committed.

mod reads;
mod write;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::super::{
    Answer, AttemptOutcome, AttemptRecord, DeliveryBackend, DeliveryCounts, DeliveryEventRow,
    DeliveryUpdate, PollDue,
};
use super::PgStore;

impl DeliveryBackend for PgStore {
    fn record_lookup(&self, send_id: i64, attempt: AttemptRecord) -> Answer<'_, ()> {
        Box::pin(write::record_lookup(self, send_id, attempt))
    }

    fn due_polls(
        &self,
        now: DateTime<Utc>,
        first_delay: Duration,
        limit: usize,
    ) -> Answer<'_, Vec<PollDue>> {
        let first = chrono::Duration::from_std(first_delay).unwrap_or(chrono::Duration::zero());
        let first_due_before = now.checked_sub_signed(first).unwrap_or(now);
        Box::pin(reads::due_polls(self, now, first_due_before, limit))
    }

    fn record_poll(
        &self,
        send_id: i64,
        found: Option<DeliveryUpdate>,
        next_poll_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Answer<'_, ()> {
        Box::pin(write::record_poll(self, send_id, found, next_poll_at, now))
    }

    fn record_delivery(
        &self,
        send_id: i64,
        update: DeliveryUpdate,
        now: DateTime<Utc>,
    ) -> Answer<'_, bool> {
        Box::pin(write::record_delivery(self, send_id, update, now))
    }

    fn delivery_timeline(&self, send_id: i64) -> Answer<'_, Vec<DeliveryEventRow>> {
        Box::pin(reads::timeline(self, send_id))
    }

    fn delivery_counts(&self) -> Answer<'_, DeliveryCounts> {
        Box::pin(reads::counts(self))
    }

    fn sends_with_delivery(&self, statuses: Vec<String>) -> Answer<'_, BTreeSet<i64>> {
        Box::pin(reads::with_status(self, statuses))
    }

    fn send_by_bird_id(&self, bird_message_id: String) -> Answer<'_, Option<i64>> {
        Box::pin(reads::send_by_bird_id(self, bird_message_id))
    }

    fn attempt_counts(&self) -> Answer<'_, BTreeMap<AttemptOutcome, i64>> {
        Box::pin(reads::attempt_counts(self))
    }
}
