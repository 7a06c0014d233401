//! The reads of delivery tracking on PostgreSQL: the sends due for a status look-up, a
//! send's timeline, the counts by outcome, the sends with a given status, the send a
//! webhook names, and the attempts by outcome.
//!
//! Owns: their SQL (as SQLite's `delivery/reads.rs` and `delivery::due_polls`). Trusts:
//! the schema's CHECKs for the words stored. Guarantees: reads only; `due_polls` returns
//! the earliest look-ups first, at most `limit`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::super::super::{
    AttemptOutcome, DeliveryCounts, DeliveryEventRow, PollDue, SendState, StoreError,
};
use super::super::PgStore;

/// Sent messages whose next look-up is due at `now`: those polled before at their
/// `next_poll_at`, those never polled once that is before `first_due_before`.
pub(super) async fn due_polls(
    store: &PgStore,
    now: DateTime<Utc>,
    first_due_before: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<PollDue>, StoreError> {
    let client = store.client().await?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = client
        .query(
            "SELECT s.id, j.channel, s.bird_message_id, s.state, s.bird_status, s.polls,
                    s.expires_at
             FROM sends s JOIN jobs j ON j.id = s.job_id
             WHERE s.next_poll_at <= $1 AND (s.polls > 0 OR s.next_poll_at <= $2)
             ORDER BY s.next_poll_at, s.id
             LIMIT $3",
            &[&now, &first_due_before, &limit],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let polls: i32 = row.try_get(5)?;
            Ok(PollDue {
                send_id: row.try_get(0)?,
                channel: row.try_get(1)?,
                bird_message_id: row.try_get(2)?,
                state: SendState::read(row.try_get(3)?)?,
                bird_status: row.try_get(4)?,
                // The schema keeps polls at 0 or more.
                polls: u32::try_from(polls).unwrap_or(0),
                expires: row.try_get(6)?,
            })
        })
        .collect()
}

/// Every status a send reached, oldest first.
pub(super) async fn timeline(
    store: &PgStore,
    send_id: i64,
) -> Result<Vec<DeliveryEventRow>, StoreError> {
    let client = store.client().await?;
    let rows = client
        .query(
            "SELECT status, status_at, source, failure_code, failure_source, failure_reason
             FROM delivery_events WHERE send_id = $1 ORDER BY status_at, id",
            &[&send_id],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(DeliveryEventRow {
                status: row.try_get(0)?,
                status_at: row.try_get(1)?,
                source: row.try_get(2)?,
                failure_code: row.try_get(3)?,
                failure_source: row.try_get(4)?,
                failure_reason: row.try_get(5)?,
            })
        })
        .collect()
}

/// Sent messages by what became of them.
pub(super) async fn counts(store: &PgStore) -> Result<DeliveryCounts, StoreError> {
    let client = store.client().await?;
    let row = client
        .query_one(
            "SELECT
               COUNT(*) FILTER (WHERE delivery_status IN ('delivered', 'read')
                                   OR read_at IS NOT NULL),
               COUNT(*) FILTER (WHERE read_at IS NOT NULL),
               COUNT(*) FILTER (WHERE delivery_status IN ('sending_failed', 'delivery_failed',
                                                          'rejected', 'skipped', 'deleted')),
               COUNT(*) FILTER (WHERE COALESCE(delivery_status, '') IN
                                      ('', 'accepted', 'scheduled', 'processing', 'sent'))
             FROM sends WHERE state = 'sent'",
            &[],
        )
        .await?;
    Ok(DeliveryCounts {
        delivered: row.try_get(0)?,
        read: row.try_get(1)?,
        failed: row.try_get(2)?,
        pending: row.try_get(3)?,
    })
}

/// The ids of the sends whose latest delivery status is one of `statuses` (`unknown`:
/// none reported yet).
pub(super) async fn with_status(
    store: &PgStore,
    statuses: Vec<String>,
) -> Result<BTreeSet<i64>, StoreError> {
    let client = store.client().await?;
    let rows = client
        .query(
            "SELECT id FROM sends WHERE COALESCE(delivery_status, 'unknown') = ANY($1)",
            &[&statuses],
        )
        .await?;
    rows.iter()
        .map(|row| Ok(row.try_get::<_, i64>(0)?))
        .collect()
}

/// The send Bird knows as `bird_message_id` (through index `sends_by_bird_message_id`).
pub(super) async fn send_by_bird_id(
    store: &PgStore,
    bird_message_id: String,
) -> Result<Option<i64>, StoreError> {
    let client = store.client().await?;
    let row = client
        .query_opt(
            "SELECT id FROM sends WHERE bird_message_id = $1 ORDER BY id LIMIT 1",
            &[&bird_message_id],
        )
        .await?;
    row.map(|row| row.try_get::<_, i64>(0))
        .transpose()
        .map_err(StoreError::from)
}

/// Every attempt ever recorded, counted by outcome (each outcome present, 0 when none).
pub(super) async fn attempt_counts(
    store: &PgStore,
) -> Result<BTreeMap<AttemptOutcome, i64>, StoreError> {
    let client = store.client().await?;
    let mut counts: BTreeMap<AttemptOutcome, i64> =
        AttemptOutcome::ALL.iter().map(|&o| (o, 0)).collect();
    let rows = client
        .query(
            "SELECT outcome, COUNT(*) FROM attempts GROUP BY outcome",
            &[],
        )
        .await?;
    for row in rows {
        let outcome = AttemptOutcome::read(row.try_get(0)?)?;
        counts.insert(outcome, row.try_get(1)?);
    }
    Ok(counts)
}
