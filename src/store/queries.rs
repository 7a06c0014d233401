//! Every SQL statement msgspool runs, one small function each.
//!
//! Owns: the SQL text and the words it writes. Trusts: its caller for the connection and
//! the transaction: writes run on the writer thread inside its transaction, reads on the
//! read-only connection. Guarantees: timestamps go in through [`utc_text`] and come out
//! through [`parse_utc_text`]; states and outcomes are written as the lower-case words the
//! schema's CHECK constraints allow; a state change names the state it expects, so a send
//! that moved on meanwhile is left alone (the caller sees 0 rows changed).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{AttemptOutcome, AttemptRecord, ClaimedSend, JobKind, NewJob, NewSend, StoreError};
use crate::timefmt::{parse_utc_text, utc_text};

/// The states of a send, as stored in `sends.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendState {
    Scheduled,
    Sending,
    Sent,
    Failed,
    Expired,
    Canceled,
    /// New content for its job replaced it before it was sent; its attempts are kept.
    Replaced,
}

impl SendState {
    /// Every state, in the order a send moves through them.
    pub const ALL: [SendState; 7] = [
        SendState::Scheduled,
        SendState::Sending,
        SendState::Sent,
        SendState::Failed,
        SendState::Expired,
        SendState::Canceled,
        SendState::Replaced,
    ];

    /// The lower-case word stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            SendState::Scheduled => "scheduled",
            SendState::Sending => "sending",
            SendState::Sent => "sent",
            SendState::Failed => "failed",
            SendState::Expired => "expired",
            SendState::Canceled => "canceled",
            SendState::Replaced => "replaced",
        }
    }

    /// The state a stored word names, if it names one.
    pub fn from_word(word: &str) -> Option<SendState> {
        SendState::ALL
            .into_iter()
            .find(|state| state.as_str() == word)
    }
}

impl JobKind {
    /// The lower-case word stored in `jobs.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Once => "once",
            JobKind::Cron => "cron",
        }
    }
}

impl AttemptOutcome {
    /// The lower-case word stored in `attempts.outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Sent => "sent",
            AttemptOutcome::Retry => "retry",
            AttemptOutcome::Throttled => "throttled",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Unauthorized => "unauthorized",
            AttemptOutcome::Redirected => "redirected",
            AttemptOutcome::Expired => "expired",
            AttemptOutcome::Interrupted => "interrupted",
            AttemptOutcome::Unknown => "unknown",
            AttemptOutcome::Reconciled => "reconciled",
            AttemptOutcome::NotFound => "not_found",
        }
    }
}

/// Reads a stored timestamp, naming the column when it is not one.
pub(super) fn instant(column: &'static str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    parse_utc_text(text).ok_or_else(|| StoreError::BadValue {
        column,
        value: text.to_owned(),
    })
}

/// The stored sha256 and state of a job, if the job exists.
pub(super) fn job_hash_and_state(
    conn: &Connection,
    job_id: &str,
) -> Result<Option<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT sha256, state FROM jobs WHERE id = ?1")?;
    Ok(stmt
        .query_row([job_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?)
}

/// Writes a job row in `state`: a new job, or a new version of an existing one (its
/// `created_at` kept).
pub(super) fn upsert_job(
    conn: &Connection,
    job: &NewJob,
    state: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO jobs (id, channel, kind, cron, timezone, until_at, source_name,
                           source_text, sha256, state, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)
         ON CONFLICT (id) DO UPDATE SET
             channel = excluded.channel, kind = excluded.kind, cron = excluded.cron,
             timezone = excluded.timezone, until_at = excluded.until_at,
             source_name = excluded.source_name, source_text = excluded.source_text,
             sha256 = excluded.sha256, state = excluded.state, updated_at = excluded.updated_at",
    )?;
    stmt.execute(params![
        job.id,
        job.channel,
        job.kind.as_str(),
        job.cron,
        job.timezone,
        job.until.map(utc_text),
        job.source_name,
        job.source_text,
        job.sha256,
        state,
        utc_text(now),
    ])?;
    Ok(())
}

/// Inserts one scheduled send of a job, its first attempt due at `send.due`.
pub(super) fn insert_send(
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

/// The number of a job's sends in `state`.
pub(super) fn count_job_sends(
    conn: &Connection,
    job_id: &str,
    state: SendState,
) -> Result<i64, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT COUNT(*) FROM sends WHERE job_id = ?1 AND state = ?2")?;
    Ok(stmt.query_row(params![job_id, state.as_str()], |row| row.get(0))?)
}

/// The state of a job's send for one occurrence, if there is one.
pub(super) fn occurrence_state(
    conn: &Connection,
    job_id: &str,
    occurrence: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT state FROM sends WHERE job_id = ?1 AND occurrence_at = ?2")?;
    Ok(stmt
        .query_row(params![job_id, utc_text(occurrence)], |row| row.get(0))
        .optional()?)
}

/// Whether a job still has sends scheduled or being sent.
pub(super) fn job_has_open_sends(conn: &Connection, job_id: &str) -> Result<bool, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM sends
                        WHERE job_id = ?1 AND state IN ('scheduled', 'sending'))",
    )?;
    Ok(stmt.query_row([job_id], |row| row.get(0))?)
}

/// Marks an active job finished.
pub(super) fn finish_job(
    conn: &Connection,
    job_id: &str,
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE jobs SET state = 'finished', updated_at = ?2 WHERE id = ?1 AND state = 'active'",
    )?;
    Ok(stmt.execute(params![job_id, utc_text(at)])?)
}

/// A job's state, source file name and text.
pub(super) fn job_source(
    conn: &Connection,
    job_id: &str,
) -> Result<Option<(String, String, String)>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT state, source_name, source_text FROM jobs WHERE id = ?1")?;
    Ok(stmt
        .query_row([job_id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?)
}

/// Marks a finished job active again (a recurring job got its next occurrence).
pub(super) fn reactivate_job(
    conn: &Connection,
    job_id: &str,
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE jobs SET state = 'active', updated_at = ?2 WHERE id = ?1 AND state = 'finished'",
    )?;
    Ok(stmt.execute(params![job_id, utc_text(at)])?)
}

/// Appends a line to `events`.
pub(super) fn insert_event(
    conn: &Connection,
    at: DateTime<Utc>,
    kind: &str,
    job_id: Option<&str>,
    detail: &str,
) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached("INSERT INTO events (at, kind, job_id, detail) VALUES (?1, ?2, ?3, ?4)")?;
    stmt.execute(params![utc_text(at), kind, job_id, detail])?;
    Ok(())
}

/// Appends a rejected job file to `rejections`.
pub(super) fn insert_rejection(
    conn: &Connection,
    file_name: &str,
    error: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO rejections (file_name, rejected_at, error) VALUES (?1, ?2, ?3)",
    )?;
    stmt.execute(params![file_name, utc_text(at), error])?;
    Ok(())
}

/// The earliest next attempt among scheduled sends.
pub(super) fn earliest_next_attempt(
    conn: &Connection,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT MIN(next_attempt_at) FROM sends WHERE state = 'scheduled'")?;
    let text: Option<String> = stmt.query_row([], |row| row.get(0))?;
    text.map(|t| instant("sends.next_attempt_at", &t))
        .transpose()
}

/// A due send as read: claimable, or the id of a row that cannot be read and why.
pub(super) type DueSend = Result<ClaimedSend, (i64, StoreError)>;

/// Scheduled sends whose next attempt is at or before `now`, oldest first, at most `limit`;
/// a row that cannot be read (a bad timestamp, attempts beyond u32, a wrong type written
/// with sqlite3) comes back as its id and the error, so the others can still go.
pub(super) fn due_sends(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<DueSend>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.id, s.job_id, j.channel, s.payload, s.reference, s.due_at, s.expires_at,
                s.attempts, s.occurrence_at, j.kind = 'cron',
                CASE WHEN json_valid(s.payload)
                     THEN COALESCE(json_type(s.payload, '$.ignoreQuietHours') = 'true', 0)
                     ELSE 0 END,
                s.reconcile_from
         FROM sends s JOIN jobs j ON j.id = s.job_id
         WHERE s.state = 'scheduled' AND s.next_attempt_at <= ?1
         ORDER BY s.next_attempt_at, s.id
         LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![utc_text(now), limit], |row| {
        let send_id: i64 = row.get(0)?;
        let read = || -> rusqlite::Result<DueRow> {
            Ok(DueRow {
                send_id,
                job_id: row.get(1)?,
                channel: row.get(2)?,
                payload: row.get(3)?,
                reference: row.get(4)?,
                due_at: row.get(5)?,
                expires_at: row.get(6)?,
                attempts: row.get(7)?,
                occurrence_at: row.get(8)?,
                recurring: row.get(9)?,
                ignore_quiet_hours: row.get(10)?,
                reconcile_from: row.get(11)?,
            })
        };
        Ok(read().map_err(|e| (send_id, StoreError::from(e))))
    })?;
    let mut sends = Vec::new();
    for row in rows {
        sends.push(row?.and_then(|row| {
            let id = row.send_id;
            parse_due(row).map_err(|e| (id, e))
        }));
    }
    Ok(sends)
}

fn parse_due(row: DueRow) -> Result<ClaimedSend, StoreError> {
    Ok(ClaimedSend {
        send_id: row.send_id,
        job_id: row.job_id,
        channel: row.channel,
        payload: row.payload,
        reference: row.reference,
        due: instant("sends.due_at", &row.due_at)?,
        occurrence: instant("sends.occurrence_at", &row.occurrence_at)?,
        recurring: row.recurring,
        ignore_quiet_hours: row.ignore_quiet_hours,
        expires: instant("sends.expires_at", &row.expires_at)?,
        attempts: u32::try_from(row.attempts).map_err(|_| StoreError::BadValue {
            column: "sends.attempts",
            value: row.attempts.to_string(),
        })?,
        reconcile_from: row
            .reconcile_from
            .map(|t| instant("sends.reconcile_from", &t))
            .transpose()?,
    })
}

/// One row of [`due_sends`] as stored, before its times are parsed.
struct DueRow {
    send_id: i64,
    job_id: String,
    channel: String,
    payload: String,
    reference: String,
    due_at: String,
    expires_at: String,
    attempts: i64,
    occurrence_at: String,
    recurring: bool,
    ignore_quiet_hours: bool,
    reconcile_from: Option<String>,
}

/// Marks a scheduled send as being sent, claimed at `now`.
pub(super) fn mark_sending(
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

/// The job and state of a send, if the send exists.
pub(super) fn send_job_and_state(
    conn: &Connection,
    send_id: i64,
) -> Result<Option<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT job_id, state FROM sends WHERE id = ?1")?;
    Ok(stmt
        .query_row([send_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?)
}

/// Records one try of a send.
pub(super) fn insert_attempt(
    conn: &Connection,
    send_id: i64,
    attempt: &AttemptRecord,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO attempts (send_id, started_at, finished_at, http_status, outcome, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    stmt.execute(params![
        send_id,
        utc_text(attempt.started),
        utc_text(attempt.finished),
        attempt.http_status,
        attempt.outcome.as_str(),
        attempt.error,
    ])?;
    super::delivery::note_attempt(conn, send_id, attempt)
}

/// Marks a send sent with Bird's message id (NULL when Bird gave none: `unconfirmed`) and
/// status, unless it is already sent or an operator canceled it (or new content replaced
/// it) meanwhile: those words stand, and only the attempt row tells of the late answer.
pub(super) fn mark_sent(
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

/// Puts a send being sent back to scheduled for another try at `next_attempt`.
pub(super) fn mark_retry(
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
pub(super) fn mark_failed(
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
pub(super) fn mark_expired(
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

/// A send in state `sending` and the time it was claimed.
pub(super) struct InFlight {
    pub(super) send_id: i64,
    pub(super) claimed_at: Option<DateTime<Utc>>,
}

/// Sends left in `sending`, with the time each was claimed.
pub(super) fn sending_sends(conn: &Connection) -> Result<Vec<InFlight>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT id, claimed_at FROM sends WHERE state = 'sending' ORDER BY id")?;
    let rows = stmt.query_map([], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, Option<String>>(1)?))
    })?;
    let mut sends = Vec::new();
    for row in rows {
        let (send_id, claimed_at) = row?;
        let claimed_at = claimed_at
            .map(|t| instant("sends.claimed_at", &t))
            .transpose()?;
        sends.push(InFlight {
            send_id,
            claimed_at,
        });
    }
    Ok(sends)
}

/// Puts a send being sent back to scheduled, due at `next` (or as it was when `None`).
pub(super) fn unclaim(
    conn: &Connection,
    send_id: i64,
    next: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE sends SET state = 'scheduled',
                          next_attempt_at = COALESCE(?2, next_attempt_at, due_at),
                          updated_at = ?3
         WHERE id = ?1 AND state = 'sending'",
    )?;
    Ok(stmt.execute(params![send_id, next.map(utc_text), utc_text(now)])?)
}

/// The number of sends in each state that has any.
pub(super) fn count_sends_by_state(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT state, COUNT(*) FROM sends GROUP BY state")?;
    let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
