//! Statements for sends that leave the ordinary path: a row that cannot be read
//! (quarantined), sends replaced by new content for their job, sends held back by a
//! refused key, and a late acceptance of a send canceled meanwhile.
//!
//! Owns: that SQL. Trusts: its caller for the transaction. Guarantees: each statement
//! names the states it expects, and a quarantine touches only columns msgspool writes.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{NewSend, StoreError};
use crate::timefmt::utc_text;

/// The states of the sends with these ids.
pub(super) fn states_of(
    conn: &Connection,
    send_ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>, StoreError> {
    let ids = serde_json::to_string(send_ids).map_err(|e| StoreError::Sqlite(e.to_string()))?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, state FROM sends WHERE id IN (SELECT value FROM json_each(?1))",
    )?;
    let rows = stmt.query_map([ids], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
    })?;
    let mut states = std::collections::HashMap::new();
    for row in rows {
        let (id, state) = row?;
        states.insert(id, state);
    }
    Ok(states)
}

/// Ends a send whose row cannot be read: `failed`, "unreadable row: ...", touching only
/// columns msgspool writes itself.
pub(super) fn quarantine(
    conn: &Connection,
    send_id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE sends SET state = 'failed', error_message = ?2, last_error = ?2,
                          next_attempt_at = NULL, finished_at = ?3, updated_at = ?3
         WHERE id = ?1 AND state = 'scheduled'",
    )?;
    Ok(stmt.execute(params![
        send_id,
        format!("unreadable row: {reason}"),
        utc_text(now)
    ])?)
}

/// Sends waiting out a refused key or a redirect, due `now`.
pub(super) fn resume_refused(conn: &Connection, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE sends SET next_attempt_at = ?1, updated_at = ?1
         WHERE state = 'scheduled' AND next_attempt_at > ?1
           AND (SELECT a.outcome FROM attempts a WHERE a.send_id = sends.id
                ORDER BY a.id DESC LIMIT 1) IN ('unauthorized', 'redirected')",
    )?;
    Ok(stmt.execute(params![utc_text(now)])?)
}

/// The job of a send, read without anything else of the row.
pub(super) fn job_of_send(conn: &Connection, send_id: i64) -> Result<Option<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT job_id FROM sends WHERE id = ?1")?;
    Ok(stmt
        .query_row([send_id], |row| row.get::<_, String>(0))
        .optional()?)
}

/// Deletes a job's scheduled sends that were never tried (nothing of them to keep);
/// returns how many.
pub(super) fn delete_untried_scheduled_sends(
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
pub(super) fn mark_tried_scheduled_replaced(
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
pub(super) fn revive_replaced(
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
pub(super) fn note_late_acceptance(
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
