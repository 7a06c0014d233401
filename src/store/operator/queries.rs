//! The operator's SQL statements, one small function each: the reads behind `list`,
//! `show` and `stats`, and the state changes behind `cancel` and `retry`.
//!
//! Same contract as [`crate::store`]'s own `queries`: reads run on the read-only
//! connection, writes on the writer thread inside its transaction; every state change
//! names the state it expects, so a send that moved on meanwhile is left alone (0 rows).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::rows::{AttemptRow, EventRow, JobRow, JobState, SendFilter, SendRow};
use crate::store::queries::{SendState, instant};
use crate::store::{AttemptOutcome, JobKind, StoreError};
use crate::timefmt::utc_text;

/// The columns [`send_row`] reads, in its order.
macro_rules! select_sends {
    () => {
        "SELECT s.id, s.job_id, j.channel, s.state, s.occurrence_at, s.due_at, s.expires_at,
                s.next_attempt_at, s.attempts, s.reference, s.bird_message_id, s.bird_status,
                s.last_error, s.error_code, s.error_message, s.error_details, s.claimed_at,
                s.finished_at, s.created_at, s.updated_at, s.payload
         FROM sends s JOIN jobs j ON j.id = s.job_id"
    };
}

/// Sends matching `filter`, soonest due first (next attempt while waiting, else due time).
pub(super) fn filtered_sends(
    conn: &Connection,
    filter: &SendFilter,
) -> Result<Vec<SendRow>, StoreError> {
    let mut stmt = conn.prepare_cached(concat!(
        select_sends!(),
        "
         WHERE (?1 IS NULL OR s.state IN (SELECT value FROM json_each(?1)))
           AND (?2 IS NULL OR s.job_id = ?2)
           AND (?3 IS NULL OR substr(s.job_id, 1, length(?3)) = ?3)
           AND (?4 IS NULL OR COALESCE(s.next_attempt_at, s.due_at) < ?4)
         ORDER BY COALESCE(s.next_attempt_at, s.due_at), s.id
         LIMIT ?5"
    ))?;
    let states = (!filter.states.is_empty()).then(|| {
        serde_json::Value::from(filter.states.iter().map(|s| s.as_str()).collect::<Vec<_>>())
            .to_string()
    });
    // SQLite reads a negative LIMIT as "no limit".
    let limit = filter
        .limit
        .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
    let rows = stmt.query_map(
        params![
            states,
            filter.job_id,
            filter.job_prefix,
            filter.due_before.map(utc_text),
            limit
        ],
        StoredSend::read,
    )?;
    collect(rows, StoredSend::parse)
}

/// A job's sends by occurrence.
pub(super) fn sends_of_job(conn: &Connection, job_id: &str) -> Result<Vec<SendRow>, StoreError> {
    let mut stmt = conn.prepare_cached(concat!(
        select_sends!(),
        " WHERE s.job_id = ?1 ORDER BY s.occurrence_at, s.id"
    ))?;
    let rows = stmt.query_map([job_id], StoredSend::read)?;
    collect(rows, StoredSend::parse)
}

/// One send, if it exists.
pub(super) fn send_by_id(conn: &Connection, send_id: i64) -> Result<Option<SendRow>, StoreError> {
    let mut stmt = conn.prepare_cached(concat!(select_sends!(), " WHERE s.id = ?1"))?;
    stmt.query_row([send_id], StoredSend::read)
        .optional()?
        .map(StoredSend::parse)
        .transpose()
}

/// One job, if it exists.
pub(super) fn job_by_id(conn: &Connection, job_id: &str) -> Result<Option<JobRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, channel, kind, cron, timezone, until_at, source_name, source_text, sha256,
                state, created_at, updated_at, broken_reason
         FROM jobs WHERE id = ?1",
    )?;
    stmt.query_row([job_id], StoredJob::read)
        .optional()?
        .map(StoredJob::parse)
        .transpose()
}

/// Every attempt of a send, oldest first.
pub(super) fn attempts_of_send(
    conn: &Connection,
    send_id: i64,
) -> Result<Vec<AttemptRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, send_id, started_at, finished_at, http_status, outcome, error
         FROM attempts WHERE send_id = ?1 ORDER BY started_at, id",
    )?;
    let rows = stmt.query_map([send_id], StoredAttempt::read)?;
    collect(rows, StoredAttempt::parse)
}

/// Every event of a job, oldest first.
pub(super) fn events_of_job(conn: &Connection, job_id: &str) -> Result<Vec<EventRow>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT at, kind, detail FROM events WHERE job_id = ?1 ORDER BY at, id")?;
    let rows = stmt.query_map([job_id], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
        ))
    })?;
    collect(rows, |(at, kind, detail)| {
        Ok(EventRow {
            at: instant("events.at", &at)?,
            kind,
            detail,
        })
    })
}

/// The number of sends that became sent, failed or expired at or after `since`, per state.
pub(super) fn count_finished_since(
    conn: &Connection,
    since: DateTime<Utc>,
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT state, COUNT(*) FROM sends
         WHERE state IN ('sent', 'failed', 'expired') AND finished_at >= ?1
         GROUP BY state",
    )?;
    let rows = stmt.query_map([utc_text(since)], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The number of job files rejected at or after `since`.
pub(super) fn count_rejections_since(
    conn: &Connection,
    since: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT COUNT(*) FROM rejections WHERE rejected_at >= ?1")?;
    Ok(stmt.query_row([utc_text(since)], |row| row.get(0))?)
}

/// The ids of active jobs, all or those whose id starts with `prefix`, in id order.
pub(super) fn active_job_ids(
    conn: &Connection,
    prefix: Option<&str>,
) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM jobs
         WHERE state = 'active' AND (?1 IS NULL OR substr(id, 1, length(?1)) = ?1)
         ORDER BY id",
    )?;
    let rows = stmt.query_map([prefix], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The ids of a job's sends in `state`, in id order.
pub(super) fn job_send_ids(
    conn: &Connection,
    job_id: &str,
    state: SendState,
) -> Result<Vec<i64>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT id FROM sends WHERE job_id = ?1 AND state = ?2 ORDER BY id")?;
    let rows = stmt.query_map(params![job_id, state.as_str()], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Marks a send in state `from` canceled, finished at `now`.
pub(super) fn mark_canceled(
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

/// Marks a job canceled (unless it is already).
pub(super) fn cancel_job_row(
    conn: &Connection,
    job_id: &str,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE jobs SET state = 'canceled', updated_at = ?2
         WHERE id = ?1 AND state <> 'canceled'",
    )?;
    Ok(stmt.execute(params![job_id, utc_text(now)])?)
}

/// Puts a failed or expired send back to scheduled: due `now`, no attempts counted,
/// expiring at `expires`, Bird's error of the failure cleared (`last_error` stays).
pub(super) fn reschedule_ended_send(
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

/// The earliest occurrence of a job after `after`, if it has one.
pub(super) fn next_occurrence_after(
    conn: &Connection,
    job_id: &str,
    after: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT MIN(occurrence_at) FROM sends WHERE job_id = ?1 AND occurrence_at > ?2",
    )?;
    let text: Option<String> =
        stmt.query_row(params![job_id, utc_text(after)], |row| row.get(0))?;
    optional_instant("sends.occurrence_at", text)
}

/// Turns raw rows into parsed ones, stopping at the first that does not parse.
fn collect<S, T>(
    rows: impl Iterator<Item = rusqlite::Result<S>>,
    parse: impl Fn(S) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.map(|row| parse(row?)).collect()
}

/// Reads a stored word through `from_word`, naming the column when it is not one.
fn word<T>(
    column: &'static str,
    text: String,
    from_word: impl Fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    from_word(&text).ok_or(StoreError::BadValue {
        column,
        value: text,
    })
}

/// Reads an optional stored timestamp.
fn optional_instant(
    column: &'static str,
    text: Option<String>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    text.map(|t| instant(column, &t)).transpose()
}

/// A `sends` row as stored, before its words and times are parsed.
struct StoredSend {
    id: i64,
    job_id: String,
    channel: String,
    state: String,
    occurrence_at: String,
    due_at: String,
    expires_at: String,
    next_attempt_at: Option<String>,
    attempts: i64,
    reference: String,
    bird_message_id: Option<String>,
    bird_status: Option<String>,
    last_error: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
    error_details: Option<String>,
    claimed_at: Option<String>,
    finished_at: Option<String>,
    created_at: String,
    updated_at: String,
    payload: String,
}

impl StoredSend {
    fn read(row: &Row) -> rusqlite::Result<StoredSend> {
        Ok(StoredSend {
            id: row.get(0)?,
            job_id: row.get(1)?,
            channel: row.get(2)?,
            state: row.get(3)?,
            occurrence_at: row.get(4)?,
            due_at: row.get(5)?,
            expires_at: row.get(6)?,
            next_attempt_at: row.get(7)?,
            attempts: row.get(8)?,
            reference: row.get(9)?,
            bird_message_id: row.get(10)?,
            bird_status: row.get(11)?,
            last_error: row.get(12)?,
            error_code: row.get(13)?,
            error_message: row.get(14)?,
            error_details: row.get(15)?,
            claimed_at: row.get(16)?,
            finished_at: row.get(17)?,
            created_at: row.get(18)?,
            updated_at: row.get(19)?,
            payload: row.get(20)?,
        })
    }

    fn parse(self) -> Result<SendRow, StoreError> {
        Ok(SendRow {
            id: self.id,
            job_id: self.job_id,
            channel: self.channel,
            state: word("sends.state", self.state, SendState::from_word)?,
            occurrence_at: instant("sends.occurrence_at", &self.occurrence_at)?,
            due_at: instant("sends.due_at", &self.due_at)?,
            expires_at: instant("sends.expires_at", &self.expires_at)?,
            next_attempt_at: optional_instant("sends.next_attempt_at", self.next_attempt_at)?,
            attempts: u32::try_from(self.attempts).map_err(|_| StoreError::BadValue {
                column: "sends.attempts",
                value: self.attempts.to_string(),
            })?,
            reference: self.reference,
            bird_message_id: self.bird_message_id,
            bird_status: self.bird_status,
            last_error: self.last_error,
            error_code: self.error_code,
            error_message: self.error_message,
            error_details: self.error_details,
            claimed_at: optional_instant("sends.claimed_at", self.claimed_at)?,
            finished_at: optional_instant("sends.finished_at", self.finished_at)?,
            created_at: instant("sends.created_at", &self.created_at)?,
            updated_at: instant("sends.updated_at", &self.updated_at)?,
            payload: self.payload,
        })
    }
}

/// A `jobs` row as stored.
struct StoredJob {
    id: String,
    channel: String,
    kind: String,
    cron: Option<String>,
    timezone: Option<String>,
    until_at: Option<String>,
    source_name: String,
    source_text: String,
    sha256: String,
    state: String,
    created_at: String,
    updated_at: String,
    broken_reason: Option<String>,
}

impl StoredJob {
    fn read(row: &Row) -> rusqlite::Result<StoredJob> {
        Ok(StoredJob {
            id: row.get(0)?,
            channel: row.get(1)?,
            kind: row.get(2)?,
            cron: row.get(3)?,
            timezone: row.get(4)?,
            until_at: row.get(5)?,
            source_name: row.get(6)?,
            source_text: row.get(7)?,
            sha256: row.get(8)?,
            state: row.get(9)?,
            created_at: row.get(10)?,
            updated_at: row.get(11)?,
            broken_reason: row.get(12)?,
        })
    }

    fn parse(self) -> Result<JobRow, StoreError> {
        Ok(JobRow {
            id: self.id,
            channel: self.channel,
            kind: word("jobs.kind", self.kind, |w| {
                [JobKind::Once, JobKind::Cron]
                    .into_iter()
                    .find(|k| k.as_str() == w)
            })?,
            cron: self.cron,
            timezone: self.timezone,
            until: optional_instant("jobs.until_at", self.until_at)?,
            source_name: self.source_name,
            source_text: self.source_text,
            sha256: self.sha256,
            state: word("jobs.state", self.state, JobState::from_word)?,
            created_at: instant("jobs.created_at", &self.created_at)?,
            updated_at: instant("jobs.updated_at", &self.updated_at)?,
            broken_reason: self.broken_reason,
        })
    }
}

/// An `attempts` row as stored.
struct StoredAttempt {
    id: i64,
    send_id: i64,
    started_at: String,
    finished_at: String,
    http_status: Option<i64>,
    outcome: String,
    error: Option<String>,
}

impl StoredAttempt {
    fn read(row: &Row) -> rusqlite::Result<StoredAttempt> {
        Ok(StoredAttempt {
            id: row.get(0)?,
            send_id: row.get(1)?,
            started_at: row.get(2)?,
            finished_at: row.get(3)?,
            http_status: row.get(4)?,
            outcome: row.get(5)?,
            error: row.get(6)?,
        })
    }

    fn parse(self) -> Result<AttemptRow, StoreError> {
        let http_status = self
            .http_status
            .map(|code| {
                u16::try_from(code).map_err(|_| StoreError::BadValue {
                    column: "attempts.http_status",
                    value: code.to_string(),
                })
            })
            .transpose()?;
        Ok(AttemptRow {
            id: self.id,
            send_id: self.send_id,
            started_at: instant("attempts.started_at", &self.started_at)?,
            finished_at: instant("attempts.finished_at", &self.finished_at)?,
            http_status,
            outcome: word("attempts.outcome", self.outcome, attempt_outcome)?,
            error: self.error,
        })
    }
}

/// The outcome a stored word names, if it names one.
fn attempt_outcome(word: &str) -> Option<AttemptOutcome> {
    [
        AttemptOutcome::Sent,
        AttemptOutcome::Retry,
        AttemptOutcome::Throttled,
        AttemptOutcome::Failed,
        AttemptOutcome::Unauthorized,
        AttemptOutcome::Redirected,
        AttemptOutcome::Expired,
        AttemptOutcome::Interrupted,
    ]
    .into_iter()
    .find(|outcome| outcome.as_str() == word)
}
