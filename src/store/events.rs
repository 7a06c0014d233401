//! The `events` table: a job's history in words (replaced, canceled, skipped, ...); its
//! SQL and its one row type, [`EventRow`].
//!
//! Trusts: its caller for the transaction. Guarantees: events are only ever added; msgspool
//! writes an [`EventKind`], and reads any kind back as text (an operator may add rows).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::{EventKind, StoreError, instant};
use crate::timefmt::utc_text;

/// One row of `events` about a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub detail: String,
}

/// Appends a line to `events`.
pub(super) fn insert(
    conn: &Connection,
    at: DateTime<Utc>,
    kind: EventKind,
    job_id: Option<&str>,
    detail: &str,
) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached("INSERT INTO events (at, kind, job_id, detail) VALUES (?1, ?2, ?3, ?4)")?;
    stmt.execute(params![utc_text(at), kind.as_str(), job_id, detail])?;
    Ok(())
}

/// Every event of a job, oldest first.
pub(super) fn of_job(conn: &Connection, job_id: &str) -> Result<Vec<EventRow>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT at, kind, detail FROM events WHERE job_id = ?1 ORDER BY at, id")?;
    let rows = stmt.query_map([job_id], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
        ))
    })?;
    rows.map(|row| {
        let (at, kind, detail) = row?;
        Ok(EventRow {
            at: instant("events.at", &at)?,
            kind,
            detail,
        })
    })
    .collect()
}
