//! The state changes of sends off the dispatch path: new content for their job replaces
//! them, an operator cancels or retries them, a late answer for a canceled one.
//!
//! Trusts: its caller for the transaction (the writer's). Guarantees: each statement
//! names the states it expects; (job, occurrence) stays unique, so new content for an
//! occurrence that was replaced takes that row over instead of adding one.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::NewSend;
use crate::store::{SendState, StoreError};
use crate::timefmt::utc_text;

/// returns how many.
pub(in crate::store) fn delete_untried_scheduled_sends(
    conn: &Connection,
    job_id: &str,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "DELETE FROM sends WHERE job_id = ?1 AND state = 'scheduled'
           AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.send_id = sends.id)",
    )?;
    Ok(stmt.execute([job_id])?)
}

/// Ends a job's scheduled sends that were tried as `replaced`, keeping them and their
/// attempts; returns how many.
pub(in crate::store) fn mark_tried_scheduled_replaced(
    conn: &Connection,
    job_id: &str,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE sends SET state = 'replaced', next_attempt_at = NULL, finished_at = ?2,
                          updated_at = ?2
         WHERE job_id = ?1 AND state = 'scheduled'",
    )?;
    Ok(stmt.execute(params![job_id, utc_text(now)])?)
}

/// Gives a replaced send of the same occurrence the new content (the (job, occurrence)
/// pair is unique): it is scheduled again, its earlier attempts stay attached.
pub(in crate::store) fn revive_replaced(
    conn: &Connection,
    job_id: &str,
    send: &NewSend,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE sends SET state = 'scheduled', due_at = ?3, expires_at = ?4,
                          next_attempt_at = ?3, payload = ?5, reference = ?6, attempts = 0,
                          last_error = NULL, finished_at = NULL, updated_at = ?7
         WHERE job_id = ?1 AND occurrence_at = ?2 AND state = 'replaced'",
    )?;
    Ok(stmt.execute(params![
        job_id,
        utc_text(send.occurrence),
        utc_text(send.due),
        utc_text(send.expires),
        send.payload,
        send.reference,
        utc_text(now)
    ])?)
}

/// Keeps Bird's id and status on a send canceled (or replaced) while Bird was taking it;
/// its state stands.
pub(in crate::store) fn note_late_acceptance(
    conn: &Connection,
    send_id: i64,
    bird_message_id: &str,
    bird_status: &str,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE sends SET bird_message_id = ?2, bird_status = ?3
         WHERE id = ?1 AND state IN ('canceled', 'replaced') AND bird_message_id IS NULL",
    )?;
    Ok(stmt.execute(params![
        send_id,
        (!bird_message_id.is_empty()).then_some(bird_message_id),
        bird_status
    ])?)
}

/// Marks a send in state `from` canceled, finished at `now`.
pub(in crate::store) fn mark_canceled(
    conn: &Connection,
    send_id: i64,
    from: SendState,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE sends SET state = 'canceled', next_attempt_at = NULL, finished_at = ?3,
                          updated_at = ?3
         WHERE id = ?1 AND state = ?2",
    )?;
    Ok(stmt.execute(params![send_id, from.as_str(), utc_text(now)])?)
}

/// Puts a failed or expired send back to scheduled: due `now`, no attempts counted,
/// expiring at `expires`, Bird's error of the failure cleared (`last_error` stays).
pub(in crate::store) fn reschedule_ended_send(
    conn: &Connection,
    send_id: i64,
    expires: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE sends SET state = 'scheduled', next_attempt_at = ?3, attempts = 0,
                          expires_at = ?2, error_code = NULL, error_message = NULL,
                          error_details = NULL, claimed_at = NULL, finished_at = NULL,
                          updated_at = ?3
         WHERE id = ?1 AND state IN ('failed', 'expired')",
    )?;
    Ok(stmt.execute(params![send_id, utc_text(expires), utc_text(now)])?)
}
