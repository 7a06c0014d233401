//! The store's side of delivery tracking: the reconcile mark, the poll schedule, status
//! changes and `delivery_events`.
//!
//! Owns every statement over the columns migration 3 added. Trusts its callers for the
//! statuses they pass (already [`DeliveryStatus`]) and for the clock.
//! Guarantees: a send's `reconcile_from` is set in the same transaction as the attempt
//! whose outcome was unknown (or interrupted), so no crash can lose it and let the send be
//! posted blindly; it is cleared only by an attempt that settled the question (sent,
//! reconciled, not found). A delivery status only moves forward
//! ([`DeliveryStatus::moves_forward_from`]); each status a send reaches is one
//! `delivery_events` row, however often it is reported.

mod reads;
mod seam;
mod status;

pub use reads::{DeliveryCounts, DeliveryEventRow};
pub use seam::DeliveryBackend;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{AttemptOutcome, AttemptRecord, SendState, StoreError, instant};
use crate::timefmt::utc_text;
pub use status::DeliveryStatus;

/// A status Bird reported for a message, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryUpdate {
    pub status: DeliveryStatus,
    /// When Bird says the status was reached (`lastStatusAt`, or the event's time).
    pub at: DateTime<Utc>,
    /// `failure.source.code` (WhatsApp's error code) or else `failure.code`.
    pub failure_code: Option<String>,
    /// `failure.source.name` (`whatsapp`, ...).
    pub failure_source: Option<String>,
    /// Bird's `reason` (or `failure.description`).
    pub failure_reason: Option<String>,
    /// `post`, `reconcile`, `poll` or `webhook`.
    pub source: &'static str,
}

/// A sent message due for a status look-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollDue {
    pub send_id: i64,
    pub channel: String,
    /// `None` (or not `sent`) means there is nothing to look up: polling ends for it.
    pub bird_message_id: Option<String>,
    pub state: SendState,
    pub bird_status: Option<String>,
    pub polls: u32,
    pub expires: DateTime<Utc>,
}

/// Called for every attempt row written: keeps `reconcile_from` and the poll schedule in
/// step with the attempt, in its transaction. `sends::moves::sent_while_sending` writes the
/// Sent/Reconciled columns below in its own UPDATE (the hot path): change both together.
pub(super) fn note_attempt(
    conn: &Connection,
    send_id: i64,
    attempt: &AttemptRecord,
) -> Result<(), StoreError> {
    let (sql, at) = match attempt.outcome {
        AttemptOutcome::Unknown | AttemptOutcome::Interrupted => (
            "UPDATE sends SET reconcile_from = MIN(COALESCE(reconcile_from, ?2), ?2) WHERE id = ?1",
            attempt.started,
        ),
        // Polling starts from the moment Bird was known to hold it.
        AttemptOutcome::Sent | AttemptOutcome::Reconciled => (
            "UPDATE sends SET reconcile_from = NULL, next_poll_at = ?2, polls = 0 WHERE id = ?1",
            attempt.finished,
        ),
        AttemptOutcome::NotFound => {
            conn.prepare_cached("UPDATE sends SET reconcile_from = NULL WHERE id = ?1")?
                .execute([send_id])?;
            return Ok(());
        }
        AttemptOutcome::Retry
        | AttemptOutcome::Throttled
        | AttemptOutcome::Failed
        | AttemptOutcome::Unauthorized
        | AttemptOutcome::Redirected
        | AttemptOutcome::Expired => return Ok(()),
    };
    conn.prepare_cached(sql)?
        .execute(params![send_id, utc_text(at)])?;
    Ok(())
}

/// Sent messages whose next look-up is due: those polled before at their `next_poll_at`,
/// those never polled `first_delay` after they were sent.
pub(super) fn due_polls(
    conn: &Connection,
    now: DateTime<Utc>,
    first_due_before: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<PollDue>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.id, j.channel, s.bird_message_id, s.state, s.bird_status, s.polls, s.expires_at
         FROM sends s JOIN jobs j ON j.id = s.job_id
         WHERE s.next_poll_at <= ?1 AND (s.polls > 0 OR s.next_poll_at <= ?2)
         ORDER BY s.next_poll_at, s.id
         LIMIT ?3",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(
        params![utc_text(now), utc_text(first_due_before), limit],
        |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, Option<String>>(4)?,
                row.get::<_, i64>(5)?,
                row.get::<_, String>(6)?,
            ))
        },
    )?;
    let mut due = Vec::new();
    for row in rows {
        let (send_id, channel, bird_message_id, state, bird_status, polls, expires) = row?;
        due.push(PollDue {
            send_id,
            channel,
            bird_message_id,
            state: SendState::read(state)?,
            bird_status,
            polls: u32::try_from(polls).unwrap_or(u32::MAX),
            expires: instant("sends.expires_at", &expires)?,
        });
    }
    Ok(due)
}

/// The latest delivery status stored for a send, if it exists and has one.
fn current_status(conn: &Connection, send_id: i64) -> Result<Option<Option<String>>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT delivery_status FROM sends WHERE id = ?1")?;
    Ok(stmt
        .query_row([send_id], |row| row.get::<_, Option<String>>(0))
        .optional()?)
}

/// Stores `update` for a send: one `delivery_events` row per status, and the send's
/// columns only when the status moves forward. Returns whether the send's status moved.
pub(super) fn apply(
    conn: &Connection,
    send_id: i64,
    update: &DeliveryUpdate,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(current) = current_status(conn, send_id)? else {
        return Err(StoreError::NoSuchSend(send_id));
    };
    conn.prepare_cached(
        "INSERT OR IGNORE INTO delivery_events
             (send_id, status, status_at, source, failure_code, failure_source, failure_reason,
              recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        send_id,
        update.status.as_str(),
        utc_text(update.at),
        update.source,
        update.failure_code,
        update.failure_source,
        update.failure_reason,
        utc_text(now),
    ])?;
    let current = current.as_deref().and_then(DeliveryStatus::from_word);
    if update.status == DeliveryStatus::Read {
        conn.prepare_cached("UPDATE sends SET read_at = COALESCE(read_at, ?2) WHERE id = ?1")?
            .execute(params![send_id, utc_text(update.at)])?;
    }
    if !update.status.moves_forward_from(current) {
        return Ok(false);
    }
    let failure = update.status.is_failure();
    conn.prepare_cached(
        "UPDATE sends SET delivery_status = ?2, delivery_status_at = ?3,
                          failure_code = CASE WHEN ?4 THEN ?5 ELSE failure_code END,
                          failure_source = CASE WHEN ?4 THEN ?6 ELSE failure_source END,
                          failure_reason = CASE WHEN ?4 THEN ?7 ELSE failure_reason END,
                          next_poll_at = CASE WHEN ?8 THEN NULL ELSE next_poll_at END
         WHERE id = ?1",
    )?
    .execute(params![
        send_id,
        update.status.as_str(),
        utc_text(update.at),
        failure,
        update.failure_code,
        update.failure_source,
        update.failure_reason,
        update.status.is_final(),
    ])?;
    Ok(true)
}
