//! The reads of `sends`: listings for the operator, the due sends for a claim, counts.
//!
//! Trusts: its caller for the connection (the read-only one, or the writer's inside its
//! transaction). Guarantees: rows come out through the one reader, [`StoredSend`]; a
//! listing stops at the first row it cannot read, a claim does not (see [`due`]).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{ClaimedSend, SendFilter, SendRow, StoredSend, select_sends};
use crate::store::{SendState, StoreError, instant, optional_instant};
use crate::timefmt::utc_text;

/// Sends matching `filter`, soonest due first (next attempt while waiting, else due time).
pub(in crate::store) fn filtered(
    conn: &Connection,
    filter: &SendFilter,
) -> Result<Vec<SendRow>, StoreError> {
    let mut stmt = conn.prepare_cached(concat!(
        select_sends!(),
        " FROM sends s JOIN jobs j ON j.id = s.job_id
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
    rows.map(|row| row?.parse()).collect()
}

/// A job's sends by occurrence.
pub(in crate::store) fn of_job(
    conn: &Connection,
    job_id: &str,
) -> Result<Vec<SendRow>, StoreError> {
    let mut stmt = conn.prepare_cached(concat!(
        select_sends!(),
        " FROM sends s JOIN jobs j ON j.id = s.job_id
         WHERE s.job_id = ?1 ORDER BY s.occurrence_at, s.id"
    ))?;
    let rows = stmt.query_map([job_id], StoredSend::read)?;
    rows.map(|row| row?.parse()).collect()
}

/// One send, if it exists.
pub(in crate::store) fn by_id(
    conn: &Connection,
    send_id: i64,
) -> Result<Option<SendRow>, StoreError> {
    let mut stmt = conn.prepare_cached(concat!(
        select_sends!(),
        " FROM sends s JOIN jobs j ON j.id = s.job_id WHERE s.id = ?1"
    ))?;
    stmt.query_row([send_id], StoredSend::read)
        .optional()?
        .map(StoredSend::parse)
        .transpose()
}

/// A due send as read: claimable, or the id of a row that cannot be read and why.
pub(in crate::store) type DueSend = Result<ClaimedSend, (i64, StoreError)>;

/// Scheduled sends whose next attempt is at or before `now`, oldest first, at most `limit`;
/// a row that cannot be read (a bad timestamp, attempts beyond u32, a wrong type written
/// with sqlite3) comes back as its id and the error, so the others can still go.
pub(in crate::store) fn due(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<DueSend>, StoreError> {
    let mut stmt = conn.prepare_cached(concat!(
        select_sends!(),
        ", j.kind = 'cron',
                CASE WHEN json_valid(s.payload)
                     THEN COALESCE(json_type(s.payload, '$.ignoreQuietHours') = 'true', 0)
                     ELSE 0 END
         FROM sends s JOIN jobs j ON j.id = s.job_id
         WHERE s.state = 'scheduled' AND s.next_attempt_at <= ?1
         ORDER BY s.next_attempt_at, s.id
         LIMIT ?2"
    ))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![utc_text(now), limit], |row| {
        let send_id: i64 = row.get(0)?;
        let read = || -> rusqlite::Result<(StoredSend, bool, bool)> {
            let extra = StoredSend::COLUMNS;
            Ok((StoredSend::read(row)?, row.get(extra)?, row.get(extra + 1)?))
        };
        Ok(read().map_err(|e| (send_id, StoreError::from(e))))
    })?;
    let mut sends = Vec::new();
    for row in rows {
        sends.push(row?.and_then(|(stored, recurring, ignore_quiet_hours)| {
            let id = stored.id;
            let row = stored.parse().map_err(|e| (id, e))?;
            Ok(ClaimedSend::of(row, recurring, ignore_quiet_hours))
        }));
    }
    Ok(sends)
}

/// The earliest next attempt among scheduled sends.
pub(in crate::store) fn earliest_next_attempt(
    conn: &Connection,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT MIN(next_attempt_at) FROM sends WHERE state = 'scheduled'")?;
    let text: Option<String> = stmt.query_row([], |row| row.get(0))?;
    optional_instant("sends.next_attempt_at", text)
}

/// The number of sends in each state that has any.
pub(in crate::store) fn count_by_state(
    conn: &Connection,
) -> Result<Vec<(SendState, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT state, COUNT(*) FROM sends GROUP BY state")?;
    let rows = stmt.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get(1)?)))?;
    rows.map(|row| {
        let (state, count) = row?;
        Ok((SendState::read(state)?, count))
    })
    .collect()
}

/// The number of sends that became sent, failed or expired at or after `since`, per state.
pub(in crate::store) fn count_finished_since(
    conn: &Connection,
    since: DateTime<Utc>,
) -> Result<Vec<(SendState, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT state, COUNT(*) FROM sends
         WHERE state IN ('sent', 'failed', 'expired') AND finished_at >= ?1
         GROUP BY state",
    )?;
    let rows = stmt.query_map([utc_text(since)], |row| {
        Ok((row.get::<_, String>(0)?, row.get(1)?))
    })?;
    rows.map(|row| {
        let (state, count) = row?;
        Ok((SendState::read(state)?, count))
    })
    .collect()
}

/// The ids of a job's sends in `state`, in id order.
pub(in crate::store) fn ids_of_job(
    conn: &Connection,
    job_id: &str,
    state: SendState,
) -> Result<Vec<i64>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT id FROM sends WHERE job_id = ?1 AND state = ?2 ORDER BY id")?;
    let rows = stmt.query_map(params![job_id, state.as_str()], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The state of a job's send for one occurrence, if there is one.
pub(in crate::store) fn occurrence_state(
    conn: &Connection,
    job_id: &str,
    occurrence: DateTime<Utc>,
) -> Result<Option<SendState>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT state FROM sends WHERE job_id = ?1 AND occurrence_at = ?2")?;
    let state: Option<String> = stmt
        .query_row(params![job_id, utc_text(occurrence)], |row| row.get(0))
        .optional()?;
    state.map(SendState::read).transpose()
}

/// The job and state of a send, if the send exists.
pub(in crate::store) fn job_and_state(
    conn: &Connection,
    send_id: i64,
) -> Result<Option<(String, SendState)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT job_id, state FROM sends WHERE id = ?1")?;
    let found: Option<(String, String)> = stmt
        .query_row([send_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    found
        .map(|(job_id, state)| Ok((job_id, SendState::read(state)?)))
        .transpose()
}

/// The job of a send, read without anything else of the row (which may not be readable).
pub(in crate::store) fn job_of(
    conn: &Connection,
    send_id: i64,
) -> Result<Option<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT job_id FROM sends WHERE id = ?1")?;
    Ok(stmt
        .query_row([send_id], |row| row.get::<_, String>(0))
        .optional()?)
}

/// The states of the sends with these ids (ids that do not exist are missing).
pub(in crate::store) fn states_of(
    conn: &Connection,
    send_ids: &[i64],
) -> Result<HashMap<i64, SendState>, StoreError> {
    let ids = serde_json::to_string(send_ids).map_err(|e| StoreError::Sqlite(e.to_string()))?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, state FROM sends WHERE id IN (SELECT value FROM json_each(?1))",
    )?;
    let rows = stmt.query_map([ids], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
    })?;
    rows.map(|row| {
        let (id, state) = row?;
        Ok((id, SendState::read(state)?))
    })
    .collect()
}

/// A send in state `sending` and the time it was claimed.
pub(in crate::store) struct InFlight {
    pub(in crate::store) send_id: i64,
    pub(in crate::store) claimed_at: Option<DateTime<Utc>>,
}

/// Sends left in `sending`, with the time each was claimed.
pub(in crate::store) fn in_flight(conn: &Connection) -> Result<Vec<InFlight>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT id, claimed_at FROM sends WHERE state = 'sending' ORDER BY id")?;
    let rows = stmt.query_map([], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, Option<String>>(1)?))
    })?;
    rows.map(|row| {
        let (send_id, claimed_at) = row?;
        Ok(InFlight {
            send_id,
            claimed_at: optional_instant("sends.claimed_at", claimed_at)?,
        })
    })
    .collect()
}

/// The earliest occurrence of a job after `after`, if it has one.
pub(in crate::store) fn next_occurrence_after(
    conn: &Connection,
    job_id: &str,
    after: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT MIN(occurrence_at) FROM sends WHERE job_id = ?1 AND occurrence_at > ?2",
    )?;
    let text: Option<String> =
        stmt.query_row(params![job_id, utc_text(after)], |row| row.get(0))?;
    text.map(|t| instant("sends.occurrence_at", &t)).transpose()
}
