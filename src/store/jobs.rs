//! The `jobs` table: its SQL and its one row type, [`JobRow`].
//!
//! Owns: every statement on `jobs` and the one reader of its rows. Trusts: its caller for
//! the connection and the transaction (writes run on the writer thread). Guarantees: a
//! state change names the state it expects, so a job that moved on meanwhile is left
//! alone (0 rows changed); states and kinds go in and come out as [`JobState`] and
//! [`JobKind`], timestamps through [`crate::timefmt`].

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::accept::NewJob;
use super::cron::CronJob;
use super::{JobKind, JobState, StoreError, instant, optional_instant};
use crate::timefmt::utc_text;

/// One row of `jobs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub id: String,
    pub channel: String,
    pub kind: JobKind,
    pub cron: Option<String>,
    pub timezone: Option<String>,
    pub until: Option<DateTime<Utc>>,
    pub source_name: String,
    pub source_text: String,
    pub sha256: String,
    pub state: JobState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Why a `broken` job no longer passes the rules.
    pub broken_reason: Option<String>,
}

/// What dispatch needs to rebuild a recurring job: its state and its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSource {
    pub state: JobState,
    pub source_name: String,
    pub source_text: String,
}

/// The stored sha256 and state of a job, if the job exists.
pub(super) fn hash_and_state(
    conn: &Connection,
    job_id: &str,
) -> Result<Option<(String, JobState)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT sha256, state FROM jobs WHERE id = ?1")?;
    let found: Option<(String, String)> = stmt
        .query_row([job_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    found
        .map(|(sha256, state)| Ok((sha256, JobState::read(state)?)))
        .transpose()
}

/// Writes a job row in `state`: a new job, or a new version of an existing one (its
/// `created_at` kept).
pub(super) fn upsert(
    conn: &Connection,
    job: &NewJob,
    state: JobState,
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
        state.as_str(),
        utc_text(now),
    ])?;
    Ok(())
}

/// Moves a job from state `from` to `to`; returns how many rows changed (0 or 1).
pub(super) fn move_state(
    conn: &Connection,
    job_id: &str,
    from: JobState,
    to: JobState,
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE jobs SET state = ?3, updated_at = ?4 WHERE id = ?1 AND state = ?2",
    )?;
    Ok(stmt.execute(params![job_id, from.as_str(), to.as_str(), utc_text(at)])?)
}

/// Finishes an active job when none of its sends is scheduled or being sent any more; one
/// statement, so the check and the move cannot be split by another write.
pub(super) fn finish_when_done(
    conn: &Connection,
    job_id: &str,
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE jobs SET state = 'finished', updated_at = ?2
         WHERE id = ?1 AND state = 'active'
           AND NOT EXISTS (SELECT 1 FROM sends
                           WHERE job_id = ?1 AND state IN ('scheduled', 'sending'))",
    )?;
    Ok(stmt.execute(params![job_id, utc_text(at)])?)
}

/// A job's state, source file name and text.
pub(super) fn source(conn: &Connection, job_id: &str) -> Result<Option<JobSource>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT state, source_name, source_text FROM jobs WHERE id = ?1")?;
    let found: Option<(String, String, String)> = stmt
        .query_row([job_id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    found
        .map(|(state, source_name, source_text)| {
            Ok(JobSource {
                state: JobState::read(state)?,
                source_name,
                source_text,
            })
        })
        .transpose()
}

/// One job, if it exists.
pub(super) fn by_id(conn: &Connection, job_id: &str) -> Result<Option<JobRow>, StoreError> {
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

/// The ids of active jobs, all or those whose id starts with `prefix`, in id order.
pub(super) fn active_ids(
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

/// Marks a job canceled (unless it is already).
pub(super) fn cancel(
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

/// Marks an active (or finished) job `broken` with its reason.
pub(super) fn mark_broken(
    conn: &Connection,
    job_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE jobs SET state = 'broken', broken_reason = ?2, updated_at = ?3
         WHERE id = ?1 AND state IN ('active', 'finished')",
    )?;
    Ok(stmt.execute(params![job_id, reason, utc_text(now)])?)
}

/// Makes a broken job active again, its reason cleared.
pub(super) fn mend(
    conn: &Connection,
    job_id: &str,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE jobs SET state = 'active', broken_reason = NULL, updated_at = ?2
         WHERE id = ?1 AND state = 'broken'",
    )?;
    Ok(stmt.execute(params![job_id, utc_text(now)])?)
}

/// The cron review's read; index `jobs_cron` keeps it off the one-shot jobs.
pub(super) const CRON_JOBS: &str = "
    SELECT j.id, j.state, j.source_name, j.source_text, j.until_at, j.broken_reason,
           EXISTS (SELECT 1 FROM sends s
                   WHERE s.job_id = j.id AND s.state IN ('scheduled', 'sending')),
           (SELECT MAX(s.occurrence_at) FROM sends s WHERE s.job_id = j.id)
    FROM jobs j WHERE j.kind = 'cron' AND j.state <> 'canceled' ORDER BY j.id";

/// Every cron job that is not canceled, with whether it has an open send and its latest
/// occurrence.
pub(super) fn cron_jobs(conn: &Connection) -> Result<Vec<CronJob>, StoreError> {
    let mut stmt = conn.prepare_cached(CRON_JOBS)?;
    let rows = stmt.query_map([], |row| {
        Ok((
            CronJob {
                id: row.get(0)?,
                state: JobState::Active,
                source_name: row.get(2)?,
                source_text: row.get(3)?,
                until: None,
                broken_reason: row.get(5)?,
                has_open_send: row.get(6)?,
                last_occurrence: None,
            },
            row.get::<_, String>(1)?,
            row.get::<_, Option<String>>(4)?,
            row.get::<_, Option<String>>(7)?,
        ))
    })?;
    let mut jobs = Vec::new();
    for row in rows {
        let (mut job, state, until, last) = row?;
        job.state = JobState::read(state)?;
        job.until = optional_instant("jobs.until_at", until)?;
        job.last_occurrence = optional_instant("sends.occurrence_at", last)?;
        jobs.push(job);
    }
    Ok(jobs)
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
            kind: JobKind::read(self.kind)?,
            cron: self.cron,
            timezone: self.timezone,
            until: optional_instant("jobs.until_at", self.until_at)?,
            source_name: self.source_name,
            source_text: self.source_text,
            sha256: self.sha256,
            state: JobState::read(self.state)?,
            created_at: instant("jobs.created_at", &self.created_at)?,
            updated_at: instant("jobs.updated_at", &self.updated_at)?,
            broken_reason: self.broken_reason,
        })
    }
}
