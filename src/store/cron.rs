//! Recurring (`cron`) jobs, store side: the next occurrence written in the same
//! transaction as the outcome that ends the previous one, the `broken` state and its
//! mending (the list start-up and reload review is [`jobs::cron_jobs`]).
//!
//! Trusts: dispatch to have built the next occurrence (or the reason there is none) before
//! asking for the outcome to be recorded. Guarantees: an outcome that ends a cron job's
//! send and the job's next occurrence commit together or not at all, so kill -9 between
//! them cannot end a schedule; (job, occurrence) is unique, so doing it twice adds nothing.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::sends::{moves, reads};
use super::{EventKind, JobState, NewSend, StoreError, events, jobs};

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
    pub state: JobState,
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
            add_occurrence(conn, job_id, send, skipped.as_deref(), now)?;
        }
        FollowUp::End { skipped } => {
            if let Some(detail) = skipped {
                events::insert(conn, now, EventKind::Skipped, Some(job_id), detail)?;
            }
        }
        FollowUp::Broken { reason } => mark_broken(conn, job_id, reason, now)?,
    }
    Ok(())
}

/// Adds the next occurrence of a recurring job, unless it exists already or the job is
/// neither active nor finished (canceled, broken); records `skipped` (occurrences passed
/// over) as one event. Returns whether a send was added.
pub(super) fn add_occurrence(
    conn: &Connection,
    job_id: &str,
    send: &NewSend,
    skipped: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    if let Some(detail) = skipped {
        events::insert(conn, now, EventKind::Skipped, Some(job_id), detail)?;
    }
    let state = jobs::source(conn, job_id)?.map(|job| job.state);
    match state {
        Some(JobState::Active | JobState::Finished) => {}
        Some(JobState::Canceled | JobState::Broken) | None => return Ok(false),
    }
    if reads::occurrence_state(conn, job_id, send.occurrence)?.is_some() {
        return Ok(false);
    }
    moves::insert(conn, job_id, send, now)?;
    jobs::move_state(conn, job_id, JobState::Finished, JobState::Active, now)?;
    Ok(true)
}

/// Marks an active (or finished) job `broken` with its reason and one event.
pub(super) fn mark_broken(
    conn: &Connection,
    job_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if jobs::mark_broken(conn, job_id, reason, now)? > 0 {
        events::insert(conn, now, EventKind::Broken, Some(job_id), reason)?;
    }
    Ok(())
}

/// Makes a broken job active again and its waiting sends due now; one event.
pub(super) fn mend(
    conn: &Connection,
    job_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    if jobs::mend(conn, job_id, now)? == 0 {
        return Ok(false);
    }
    moves::due_now(conn, job_id, now)?;
    let detail = "passes the rules under the reloaded config again; its schedule resumes";
    events::insert(conn, now, EventKind::Mended, Some(job_id), detail)?;
    Ok(true)
}
