//! The `attempts` table: one row per try of a send; its SQL and its one row type,
//! [`AttemptRow`].
//!
//! Owns: [`AttemptRecord`] (a try as dispatch saw it) and [`AttemptRow`] (as stored).
//! Trusts: its caller for the transaction. Guarantees: attempts are only ever added,
//! never changed, and the same try is recorded once; outcomes go in and come out as [`AttemptOutcome`].

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, params};

use super::{AttemptOutcome, StoreError, instant};
use crate::timefmt::utc_text;

/// One try of a send, as the dispatcher saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    /// `None` when no HTTP answer came (timeout, connection error, no request made).
    pub http_status: Option<u16>,
    pub outcome: AttemptOutcome,
    pub error: Option<String>,
}

/// One row of `attempts`: one HTTP try of a send and Bird's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    pub id: i64,
    pub send_id: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// `None` when no HTTP answer came.
    pub http_status: Option<u16>,
    pub outcome: AttemptOutcome,
    pub error: Option<String>,
}

/// Records one try of a send.
pub(super) fn insert(
    conn: &Connection,
    send_id: i64,
    attempt: &AttemptRecord,
) -> Result<(), StoreError> {
    insert_row(conn, send_id, attempt)?;
    super::delivery::note_attempt(conn, send_id, attempt)
}

/// Inserts the attempt row alone, for a caller that moved the send's delivery columns in
/// its own statement.
pub(super) fn insert_row(
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
    Ok(())
}

/// Whether this very try (same start, end, status and outcome) is recorded already.
pub(super) fn exists(
    conn: &Connection,
    send_id: i64,
    attempt: &AttemptRecord,
) -> Result<bool, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM attempts
                        WHERE send_id = ?1 AND started_at = ?2 AND finished_at = ?3
                          AND http_status IS ?4 AND outcome = ?5)",
    )?;
    Ok(stmt.query_row(
        params![
            send_id,
            utc_text(attempt.started),
            utc_text(attempt.finished),
            attempt.http_status,
            attempt.outcome.as_str()
        ],
        |row| row.get(0),
    )?)
}

/// Every attempt of a send, oldest first.
pub(super) fn of_send(conn: &Connection, send_id: i64) -> Result<Vec<AttemptRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, send_id, started_at, finished_at, http_status, outcome, error
         FROM attempts WHERE send_id = ?1 ORDER BY started_at, id",
    )?;
    let rows = stmt.query_map([send_id], StoredAttempt::read)?;
    rows.map(|row| row?.parse()).collect()
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
            outcome: AttemptOutcome::read(self.outcome)?,
            error: self.error,
        })
    }
}
