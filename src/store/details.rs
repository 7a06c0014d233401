//! The operator's reads that span tables: `show` (a job or a send with its attempts and
//! events) and `stats` (counts per state and per window), each from one snapshot.
//!
//! Owns: [`JobDetails`], [`SendDetails`], [`Stats`], [`FinishedCounts`]. Trusts: its
//! caller for the connection (the read-only one). Guarantees: a read answers from one
//! read transaction, so a send and its attempts agree.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::sends::{SendRow, reads};
use super::{
    AttemptRow, EventRow, JobRow, SendState, StoreError, attempts, events, jobs, rejections,
};

/// A send and every attempt of it, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendDetails {
    pub send: SendRow,
    pub attempts: Vec<AttemptRow>,
}

/// Everything `msgspool show` tells about a job, read in one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDetails {
    pub job: JobRow,
    /// Its sends by occurrence (only the one asked for by `show --send`).
    pub sends: Vec<SendDetails>,
    /// Its events, oldest first.
    pub events: Vec<EventRow>,
}

/// Sends that reached a final state within some window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FinishedCounts {
    pub sent: i64,
    pub failed: i64,
    pub expired: i64,
}

/// The numbers behind `msgspool stats`, read in one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// The instant the windows below end at.
    pub at: DateTime<Utc>,
    /// Every send state (zero when no send is in it), in [`SendState::ALL`] order.
    pub by_state: Vec<(SendState, i64)>,
    /// Sends that finished in the hour before `at`.
    pub last_hour: FinishedCounts,
    /// Sends that finished in the day before `at`.
    pub last_day: FinishedCounts,
    /// Job files rejected in the day before `at`.
    pub rejections_last_day: i64,
}

/// A job, its sends with their attempts, and its events; `None` when there is no such job.
pub(super) fn job_details(
    conn: &Connection,
    job_id: &str,
) -> Result<Option<JobDetails>, StoreError> {
    let snapshot = conn.unchecked_transaction()?;
    let Some(job) = jobs::by_id(&snapshot, job_id)? else {
        return Ok(None);
    };
    let sends = reads::of_job(&snapshot, job_id)?;
    let sends = with_attempts(&snapshot, sends)?;
    let events = events::of_job(&snapshot, job_id)?;
    Ok(Some(JobDetails { job, sends, events }))
}

/// One send with its attempts, its job and the job's events; `None` when there is no
/// such send.
pub(super) fn send_details(
    conn: &Connection,
    send_id: i64,
) -> Result<Option<JobDetails>, StoreError> {
    let snapshot = conn.unchecked_transaction()?;
    let Some(send) = reads::by_id(&snapshot, send_id)? else {
        return Ok(None);
    };
    // The foreign key keeps a send's job in place; not finding it means a damaged file.
    let job = jobs::by_id(&snapshot, &send.job_id)?
        .ok_or_else(|| StoreError::NoSuchJob(send.job_id.clone()))?;
    let events = events::of_job(&snapshot, &job.id)?;
    let sends = with_attempts(&snapshot, vec![send])?;
    Ok(Some(JobDetails { job, sends, events }))
}

/// Pairs each send with its attempts.
fn with_attempts(conn: &Connection, sends: Vec<SendRow>) -> Result<Vec<SendDetails>, StoreError> {
    sends
        .into_iter()
        .map(|send| {
            let attempts = attempts::of_send(conn, send.id)?;
            Ok(SendDetails { send, attempts })
        })
        .collect()
}

/// Sends per state, sends finished in the last hour and day, rejections in the last day.
pub(super) fn stats(conn: &Connection, now: DateTime<Utc>) -> Result<Stats, StoreError> {
    let snapshot = conn.unchecked_transaction()?;
    let counted = reads::count_by_state(&snapshot)?;
    let by_state = SendState::ALL
        .into_iter()
        .map(|state| {
            let count = counted
                .iter()
                .find(|(counted, _)| *counted == state)
                .map_or(0, |&(_, n)| n);
            (state, count)
        })
        .collect();
    let finished_since = |since: DateTime<Utc>| -> Result<FinishedCounts, StoreError> {
        let mut counts = FinishedCounts::default();
        for (state, n) in reads::count_finished_since(&snapshot, since)? {
            match state {
                SendState::Sent => counts.sent = n,
                SendState::Failed => counts.failed = n,
                SendState::Expired => counts.expired = n,
                // The query counts only the three above.
                SendState::Scheduled
                | SendState::Sending
                | SendState::Canceled
                | SendState::Replaced => {}
            }
        }
        Ok(counts)
    };
    let (hour_ago, day_ago) = (
        now - chrono::Duration::hours(1),
        now - chrono::Duration::days(1),
    );
    Ok(Stats {
        at: now,
        by_state,
        last_hour: finished_since(hour_ago)?,
        last_day: finished_since(day_ago)?,
        rejections_last_day: rejections::count_since(&snapshot, day_ago)?,
    })
}

/// The number of sends in every state, zero for the states no send is in.
pub(super) fn send_states(conn: &Connection) -> Result<BTreeMap<SendState, i64>, StoreError> {
    let mut counts: BTreeMap<SendState, i64> =
        SendState::ALL.iter().map(|&state| (state, 0)).collect();
    for (state, count) in reads::count_by_state(conn)? {
        counts.insert(state, count);
    }
    Ok(counts)
}
