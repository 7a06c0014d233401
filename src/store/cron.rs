//! Recurring (`cron`) jobs, store side: the next occurrence written in the same
//! transaction as the outcome that ends the previous one, the `broken` state, and the list
//! start-up and reload review.
//!
//! Trusts: dispatch to have built the next occurrence (or the reason there is none) before
//! asking for the outcome to be recorded. Guarantees: an outcome that ends a cron job's
//! send and the job's next occurrence commit together or not at all, so kill -9 between
//! them cannot end a schedule; (job, occurrence) is unique, so doing it twice adds nothing.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::queries::{self, instant};
use super::{NewSend, StoreError, ops};
use crate::timefmt::utc_text;

/// What follows the end of a cron job's send, decided before the outcome is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUp {
    /// Materialise this occurrence; `skipped` describes occurrences passed over.
    Next {
        send: NewSend,
        skipped: Option<String>,
    },
    /// The schedule has ended (`until`, or no further occurrence).
    End { skipped: Option<String> },
    /// The job no longer passes the rules under the current config: it is `broken`.
    Broken { reason: String },
}

/// A cron job as review needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronJob {
    pub id: String,
    pub state: String,
    pub source_name: String,
    pub source_text: String,
    pub until: Option<DateTime<Utc>>,
    pub broken_reason: Option<String>,
    /// Whether a send is `scheduled` or `sending`.
    pub has_open_send: bool,
    /// The latest occurrence it has a send for.
    pub last_occurrence: Option<DateTime<Utc>>,
}

/// Applies `follow` for `job_id` inside the outcome's transaction.
pub(super) fn apply(
    conn: &Connection,
    job_id: &str,
    follow: &FollowUp,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    match follow {
        FollowUp::Next { send, skipped } => {
            ops::add_occurrence(conn, job_id, send, skipped.as_deref(), now)?;
        }
        FollowUp::End { skipped } => {
            if let Some(detail) = skipped {
                queries::insert_event(conn, now, "skipped", Some(job_id), detail)?;
            }
        }
        FollowUp::Broken { reason } => mark_broken(conn, job_id, reason, now)?,
    }
    Ok(())
}

/// Marks an active (or finished) job `broken` with its reason and one event.
pub(super) fn mark_broken(
    conn: &Connection,
    job_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE jobs SET state = 'broken', broken_reason = ?2, updated_at = ?3
             WHERE id = ?1 AND state IN ('active', 'finished')",
        )?
        .execute(params![job_id, reason, utc_text(now)])?;
    if changed > 0 {
        queries::insert_event(conn, now, "broken", Some(job_id), reason)?;
    }
    Ok(())
}

/// Makes a broken job active again and its waiting sends due now; one event.
pub(super) fn mend(
    conn: &Connection,
    job_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE jobs SET state = 'active', broken_reason = NULL, updated_at = ?2
             WHERE id = ?1 AND state = 'broken'",
        )?
        .execute(params![job_id, utc_text(now)])?;
    if changed == 0 {
        return Ok(false);
    }
    conn.prepare_cached(
        "UPDATE sends SET next_attempt_at = MIN(next_attempt_at, ?2), updated_at = ?2
         WHERE job_id = ?1 AND state = 'scheduled'",
    )?
    .execute(params![job_id, utc_text(now)])?;
    let detail = "passes the rules under the reloaded config again; its schedule resumes";
    queries::insert_event(conn, now, "mended", Some(job_id), detail)?;
    Ok(true)
}

/// Every cron job that is not canceled, for review at start-up and after a reload.
pub(super) fn cron_jobs(conn: &Connection) -> Result<Vec<CronJob>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT j.id, j.state, j.source_name, j.source_text, j.until_at, j.broken_reason,
                EXISTS (SELECT 1 FROM sends s
                        WHERE s.job_id = j.id AND s.state IN ('scheduled', 'sending')),
                (SELECT MAX(s.occurrence_at) FROM sends s WHERE s.job_id = j.id)
         FROM jobs j WHERE j.kind = 'cron' AND j.state <> 'canceled' ORDER BY j.id",
    )?;
    type Raw = (
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        bool,
        Option<String>,
    );
    let rows = stmt.query_map([], |row| {
        Ok::<Raw, rusqlite::Error>((
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
            row.get(6)?,
            row.get(7)?,
        ))
    })?;
    let mut jobs = Vec::new();
    for row in rows {
        let (id, state, source_name, source_text, until, broken_reason, has_open_send, last) = row?;
        jobs.push(CronJob {
            id,
            state,
            source_name,
            source_text,
            until: until.map(|t| instant("jobs.until_at", &t)).transpose()?,
            broken_reason,
            has_open_send,
            last_occurrence: last
                .map(|t| instant("sends.occurrence_at", &t))
                .transpose()?,
        });
    }
    Ok(jobs)
}
