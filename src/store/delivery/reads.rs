//! The operator's reads of delivery tracking: a send's timeline (`msgspool show`), the
//! counts by outcome (`msgspool stats`, `/metrics`), the sends with a given status
//! (`msgspool list --delivery`) and the send a webhook names by Bird's message id. Reads
//! only, on the read-only connection.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use rusqlite::Connection;

use super::super::{AttemptOutcome, StoreError, instant};

/// One row of `delivery_events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryEventRow {
    pub status: String,
    pub status_at: DateTime<Utc>,
    /// `post`, `reconcile`, `poll` or `webhook`.
    pub source: String,
    pub failure_code: Option<String>,
    pub failure_source: Option<String>,
    pub failure_reason: Option<String>,
}

/// Sent messages counted by what became of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryCounts {
    /// Reported delivered (read ones included).
    pub delivered: i64,
    /// Reported read (WhatsApp's read interaction).
    pub read: i64,
    /// Ended in a failure status (`sending_failed`, `delivery_failed`, `rejected`, ...).
    pub failed: i64,
    /// Sent, with no final status reported yet.
    pub pending: i64,
}

/// Every status a send reached, oldest first.
pub(super) fn timeline(
    conn: &Connection,
    send_id: i64,
) -> Result<Vec<DeliveryEventRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT status, status_at, source, failure_code, failure_source, failure_reason
                 FROM delivery_events WHERE send_id = ?1 ORDER BY status_at, id",
    )?;
    let rows = stmt.query_map([send_id], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, Option<String>>(3)?,
            row.get::<_, Option<String>>(4)?,
            row.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut events = Vec::new();
    for row in rows {
        let (status, at, source, failure_code, failure_source, failure_reason) = row?;
        events.push(DeliveryEventRow {
            status,
            status_at: instant("delivery_events.status_at", &at)?,
            source,
            failure_code,
            failure_source,
            failure_reason,
        });
    }
    Ok(events)
}

/// Sent messages by what became of them.
pub(super) fn counts(conn: &Connection) -> Result<DeliveryCounts, StoreError> {
    let mut stmt = conn.prepare_cached(
                "SELECT
                   COALESCE(SUM(delivery_status IN ('delivered', 'read') OR read_at IS NOT NULL), 0),
                   COALESCE(SUM(read_at IS NOT NULL), 0),
                   COALESCE(SUM(delivery_status IN ('sending_failed', 'delivery_failed',
                                                    'rejected', 'skipped', 'deleted')), 0),
                   COALESCE(SUM(COALESCE(delivery_status, '') IN ('', 'accepted', 'scheduled',
                                                                  'processing', 'sent')), 0)
                 FROM sends WHERE state = 'sent'",
            )?;
    Ok(stmt.query_row([], |row| {
        Ok(DeliveryCounts {
            delivered: row.get(0)?,
            read: row.get(1)?,
            failed: row.get(2)?,
            pending: row.get(3)?,
        })
    })?)
}

/// The ids of the sends whose latest delivery status is one of `statuses` (`unknown`:
/// none reported yet).
pub(super) fn with_status(
    conn: &Connection,
    statuses: &[String],
) -> Result<BTreeSet<i64>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT id FROM sends WHERE COALESCE(delivery_status, 'unknown') = ?1")?;
    let mut ids = BTreeSet::new();
    for status in statuses {
        for id in stmt.query_map(params![status], |row| row.get::<_, i64>(0))? {
            ids.insert(id?);
        }
    }
    Ok(ids)
}

/// The send Bird knows as `bird_message_id` (through the index migration 3 added).
pub(super) fn send_by_bird_id(
    conn: &Connection,
    bird_message_id: &str,
) -> Result<Option<i64>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT id FROM sends WHERE bird_message_id = ?1 ORDER BY id LIMIT 1")?;
    Ok(stmt
        .query_row([bird_message_id], |row| row.get::<_, i64>(0))
        .optional()?)
}

/// Every attempt ever recorded, counted by outcome (each outcome present, 0 when none).
pub(super) fn attempt_counts(
    conn: &Connection,
) -> Result<BTreeMap<AttemptOutcome, i64>, StoreError> {
    let mut counts: BTreeMap<AttemptOutcome, i64> =
        AttemptOutcome::ALL.iter().map(|&o| (o, 0)).collect();
    let mut stmt =
        conn.prepare_cached("SELECT outcome, count(*) FROM attempts GROUP BY outcome")?;
    let rows = stmt.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (word, count) = row?;
        counts.insert(AttemptOutcome::read(word)?, count);
    }
    Ok(counts)
}
