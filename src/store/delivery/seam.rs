//! The delivery side of the backend seam: what reconciliation, polling and the operator's
//! delivery views ask of a store, as a trait every [`super::super::Backend`] also is.
//!
//! Owns: the contract of each operation. Trusts: callers for `now`. Guarantees (of every
//! backend): a status only moves forward, each status reached is one event, and an attempt
//! row and the send's reconcile mark change in one transaction.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::super::{Answer, AttemptOutcome, AttemptRecord, SqliteStore, attempts};
use super::{DeliveryCounts, DeliveryEventRow, DeliveryUpdate, PollDue, apply, due_polls, reads};
use crate::timefmt::utc_text;

/// Delivery tracking's operations; part of every backend.
pub trait DeliveryBackend: Send + Sync {
    /// Records a look-up that settled nothing by itself (`not_found`, or a failed
    /// listing): the attempt row, and for `not_found` the reconcile mark cleared.
    fn record_lookup(&self, send_id: i64, attempt: AttemptRecord) -> Answer<'_, ()>;

    /// Up to `limit` sent messages due for a status look-up at `now`: those polled before
    /// at their next look-up, those never polled `first_delay` after they were sent.
    fn due_polls(
        &self,
        now: DateTime<Utc>,
        first_delay: Duration,
        limit: usize,
    ) -> Answer<'_, Vec<PollDue>>;

    /// After a look-up: stores what it found (if anything) and when to look next
    /// (`None`: never again).
    fn record_poll(
        &self,
        send_id: i64,
        found: Option<DeliveryUpdate>,
        next_poll_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Answer<'_, ()>;

    /// Stores a status Bird reported for a send; whether the send's status moved forward.
    fn record_delivery(
        &self,
        send_id: i64,
        update: DeliveryUpdate,
        now: DateTime<Utc>,
    ) -> Answer<'_, bool>;

    /// Every status a send reached, oldest first.
    fn delivery_timeline(&self, send_id: i64) -> Answer<'_, Vec<DeliveryEventRow>>;

    /// Sent messages by what became of them.
    fn delivery_counts(&self) -> Answer<'_, DeliveryCounts>;

    /// The ids of the sends whose latest delivery status is one of `statuses` (`unknown`:
    /// none reported yet).
    fn sends_with_delivery(&self, statuses: Vec<String>) -> Answer<'_, BTreeSet<i64>>;

    /// The send whose message Bird knows by this id (`None`: not one of ours), for a
    /// webhook event.
    fn send_by_bird_id(&self, bird_message_id: String) -> Answer<'_, Option<i64>>;

    /// Every attempt recorded, by outcome (every outcome present), for `/metrics`.
    fn attempt_counts(&self) -> Answer<'_, BTreeMap<AttemptOutcome, i64>>;
}

impl DeliveryBackend for SqliteStore {
    fn record_lookup(&self, send_id: i64, attempt: AttemptRecord) -> Answer<'_, ()> {
        self.write(move |conn| attempts::insert(conn, send_id, &attempt))
    }

    fn due_polls(
        &self,
        now: DateTime<Utc>,
        first_delay: Duration,
        limit: usize,
    ) -> Answer<'_, Vec<PollDue>> {
        let first = chrono::Duration::from_std(first_delay).unwrap_or(chrono::Duration::zero());
        let first_due_before = now.checked_sub_signed(first).unwrap_or(now);
        self.read(move |conn| due_polls(conn, now, first_due_before, limit))
    }

    fn record_poll(
        &self,
        send_id: i64,
        found: Option<DeliveryUpdate>,
        next_poll_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Answer<'_, ()> {
        self.write(move |conn: &Connection| {
            conn.prepare_cached(
                "UPDATE sends SET next_poll_at = ?2, polls = polls + 1 WHERE id = ?1",
            )?
            .execute(params![send_id, next_poll_at.map(utc_text)])?;
            match &found {
                Some(update) => apply(conn, send_id, update, now).map(|_| ()),
                None => Ok(()),
            }
        })
    }

    fn record_delivery(
        &self,
        send_id: i64,
        update: DeliveryUpdate,
        now: DateTime<Utc>,
    ) -> Answer<'_, bool> {
        self.write(move |conn| apply(conn, send_id, &update, now))
    }

    fn delivery_timeline(&self, send_id: i64) -> Answer<'_, Vec<DeliveryEventRow>> {
        self.read(move |conn| reads::timeline(conn, send_id))
    }

    fn delivery_counts(&self) -> Answer<'_, DeliveryCounts> {
        self.read(reads::counts)
    }

    fn sends_with_delivery(&self, statuses: Vec<String>) -> Answer<'_, BTreeSet<i64>> {
        self.read(move |conn| reads::with_status(conn, &statuses))
    }

    fn send_by_bird_id(&self, bird_message_id: String) -> Answer<'_, Option<i64>> {
        self.read(move |conn| reads::send_by_bird_id(conn, &bird_message_id))
    }

    fn attempt_counts(&self) -> Answer<'_, BTreeMap<AttemptOutcome, i64>> {
        self.read(reads::attempt_counts)
    }
}
