//! The state changes of a send on its way through dispatch: inserted `scheduled`, claimed
//! `sending`, then `sent`, back to `scheduled` for a retry, `failed` or `expired`.
//!
//! Trusts: its caller for the transaction (the writer's). Guarantees: each statement
//! names the state it expects, so a send that moved on meanwhile (an operator canceled it)
//! is left alone and the caller sees 0 rows changed; a quarantine touches only columns
//! msgspool writes itself.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::NewSend;
use crate::store::StoreError;
use crate::timefmt::utc_text;

/// Inserts one scheduled send of a job, its first attempt due at `send.due`.
pub(in crate::store) fn insert(
    conn: &Connection,
    job_id: &str,
    send: &NewSend,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO sends (job_id, occurrence_at, due_at, expires_at, state, next_attempt_at,
                            payload, reference, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'scheduled', ?3, ?5, ?6, ?7, ?7)",
    )?;
    stmt.execute(params![
        job_id,
        utc_text(send.occurrence),
        utc_text(send.due),
        utc_text(send.expires),
        send.payload,
        send.reference,
        utc_text(now),
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Marks a scheduled send as being sent, claimed at `now`.
pub(in crate::store) fn mark_sending(
    conn: &Connection,
    send_id: i64,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE sends SET state = 'sending', claimed_at = ?2, updated_at = ?2
         WHERE id = ?1 AND state = 'scheduled'",
    )?;
    Ok(stmt.execute(params![send_id, utc_text(now)])?)
}

/// Marks a send sent with Bird's message id (NULL when Bird gave none: `unconfirmed`) and
/// status, unless it is already sent or an operator canceled it (or new content replaced
/// it) meanwhile: those words stand, and only the attempt row tells of the late answer.
pub(in crate::store) fn mark_sent(
    conn: &Connection,
    send_id: i64,
    bird_message_id: &str,
    bird_status: &str,
    counted: bool,
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE sends SET state = 'sent', bird_message_id = ?2, bird_status = ?3,
                          attempts = attempts + ?4, next_attempt_at = NULL,
                          finished_at = ?5, updated_at = ?5
         WHERE id = ?1 AND state NOT IN ('sent', 'canceled', 'replaced')",
    )?;
    Ok(stmt.execute(params![
        send_id,
        (!bird_message_id.is_empty()).then_some(bird_message_id),
        bird_status,
        i64::from(counted),
        utc_text(at)
    ])?)
}

/// The common case of [`mark_sent`] and the attempt's delivery note in one statement: a
/// send still `sending` is marked sent and its delivery polling starts at `poll_from`.
/// Returns the send's job, or `None` when it was not being sent (the caller then takes the
/// general path, which knows what to do with a late answer).
pub(in crate::store) fn sent_while_sending(
    conn: &Connection,
    send_id: i64,
    bird_message_id: &str,
    bird_status: &str,
    counted: bool,
    at: DateTime<Utc>,
    poll_from: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE sends SET state = 'sent', bird_message_id = ?2, bird_status = ?3,
                              attempts = attempts + ?4, next_attempt_at = NULL,
                              finished_at = ?5, updated_at = ?5,
                              reconcile_from = NULL, next_poll_at = ?6, polls = 0
             WHERE id = ?1 AND state = 'sending'",
        )?
        .execute(params![
            send_id,
            (!bird_message_id.is_empty()).then_some(bird_message_id),
            bird_status,
            i64::from(counted),
            utc_text(at),
            utc_text(poll_from)
        ])?;
    if changed == 0 {
        return Ok(None);
    }
    // Read apart rather than with RETURNING, which SQLite buffers in a temporary b-tree.
    Ok(conn
        .prepare_cached("SELECT job_id FROM sends WHERE id = ?1")?
        .query_row([send_id], |row| row.get::<_, String>(0))
        .optional()?)
}

/// Puts a send being sent back to scheduled for another try at `next_attempt`.
pub(in crate::store) fn mark_retry(
    conn: &Connection,
    send_id: i64,
    next_attempt: DateTime<Utc>,
    counted: bool,
    error: &str,
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE sends SET state = 'scheduled', next_attempt_at = ?2, attempts = attempts + ?3,
                          last_error = ?4, updated_at = ?5
         WHERE id = ?1 AND state = 'sending'",
    )?;
    Ok(stmt.execute(params![
        send_id,
        utc_text(next_attempt),
        i64::from(counted),
        error,
        utc_text(at)
    ])?)
}

/// Marks a send being sent failed for good, keeping Bird's error.
pub(in crate::store) fn mark_failed(
    conn: &Connection,
    send_id: i64,
    code: Option<&str>,
    message: &str,
    details: Option<&str>,
    counted: bool,
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE sends SET state = 'failed', error_code = ?2, error_message = ?3,
                          error_details = ?4,
                          last_error = CASE WHEN ?2 IS NULL THEN ?3 ELSE ?2 || ': ' || ?3 END,
                          attempts = attempts + ?5, next_attempt_at = NULL,
                          finished_at = ?6, updated_at = ?6
         WHERE id = ?1 AND state = 'sending'",
    )?;
    Ok(stmt.execute(params![
        send_id,
        code,
        message,
        details,
        i64::from(counted),
        utc_text(at)
    ])?)
}

/// Marks a send being sent expired: its validity ran out.
pub(in crate::store) fn mark_expired(
    conn: &Connection,
    send_id: i64,
    reason: &str,
    counted: bool,
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE sends SET state = 'expired', last_error = ?2, attempts = attempts + ?3,
                          next_attempt_at = NULL, finished_at = ?4, updated_at = ?4
         WHERE id = ?1 AND state = 'sending'",
    )?;
    Ok(stmt.execute(params![send_id, reason, i64::from(counted), utc_text(at)])?)
}

/// Puts a send being sent back to scheduled, due as it was, but not before `not_before`
/// when given: a send claimed ahead of its instant keeps that instant, an overdue one is due
/// at once.
pub(in crate::store) fn unclaim(
    conn: &Connection,
    send_id: i64,
    not_before: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE sends SET state = 'scheduled',
                          next_attempt_at = MAX(COALESCE(next_attempt_at, due_at), COALESCE(?2, '')),
                          updated_at = ?3
         WHERE id = ?1 AND state = 'sending'",
    )?;
    Ok(stmt.execute(params![send_id, not_before.map(utc_text), utc_text(now)])?)
}

/// Ends a send whose row cannot be read: `failed`, "unreadable row: ...", touching only
/// columns msgspool writes itself.
pub(in crate::store) fn quarantine(
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
pub(in crate::store) fn resume_refused(
    conn: &Connection,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE sends SET next_attempt_at = ?1, updated_at = ?1
         WHERE state = 'scheduled' AND next_attempt_at > ?1
           AND (SELECT a.outcome FROM attempts a WHERE a.send_id = sends.id
                ORDER BY a.id DESC LIMIT 1) IN ('unauthorized', 'redirected')",
    )?;
    Ok(stmt.execute(params![utc_text(now)])?)
}

/// Makes a job's waiting sends due `now` at the latest (a broken job was mended).
pub(in crate::store) fn due_now(
    conn: &Connection,
    job_id: &str,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE sends SET next_attempt_at = MIN(next_attempt_at, ?2), updated_at = ?2
         WHERE job_id = ?1 AND state = 'scheduled'",
    )?;
    Ok(stmt.execute(params![job_id, utc_text(now)])?)
}
