//! Accepting a job: a new one is stored with its sends, an identical one is left alone,
//! new content replaces a job's pending sends, or it is a conflict.
//!
//! Owns: [`NewJob`] (what intake hands over), [`AcceptOutcome`] and the rules that decide
//! between them. Trusts: the writer to run [`accept_job`] in one transaction (rolled
//! back alone if it fails), and to run it again from the start if its batch is retried
//! (so it only reads its inputs). Guarantees: a job's sends never change under a send in
//! flight; a send already tried is kept (as `replaced`, with its attempts), never deleted.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::sends::{moves, reads, replace};
use super::{EventKind, JobKind, JobState, NewSend, SendState, StoreError, events, jobs, outcome};
use crate::timefmt::utc_text;

/// A validated job and its sends, as intake hands them over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// The job id (the file name without `.toml` unless the file sets `id`).
    pub id: String,
    /// The channel name from the config.
    pub channel: String,
    pub kind: JobKind,
    /// The cron expression of a `Cron` job; `None` for `Once`.
    pub cron: Option<String>,
    /// The IANA zone the cron expression is evaluated in.
    pub timezone: Option<String>,
    /// The end of a cron schedule.
    pub until: Option<DateTime<Utc>>,
    /// The job file's name, e.g. `order-1234.toml`.
    pub source_name: String,
    /// The job file's text, kept so the file can be removed.
    pub source_text: String,
    /// SHA-256 of the file's content; the same id with the same hash is a no-op.
    pub sha256: String,
    pub sends: Vec<NewSend>,
}

/// What accepting a job did with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptOutcome {
    /// A new job: it and its sends are stored.
    Inserted,
    /// The same id with the same content is already stored; nothing changed. (A crash
    /// between commit and removing the file lands here on the next scan.)
    Unchanged,
    /// The same id with new content while the job still had scheduled sends: those were
    /// removed (`canceled` of them), the job row now holds the new content and the new
    /// sends are scheduled. An event row records it.
    Replaced { canceled: usize },
    /// The same id with new content, but the job cannot take it: it has finished, has a
    /// send in flight, or an occurrence in the new content already happened.
    Conflict { reason: String },
}

/// Stores a new job, leaves an identical one alone, or replaces a job's pending sends.
pub(super) fn accept_job(
    conn: &Connection,
    job: &NewJob,
    now: DateTime<Utc>,
) -> Result<AcceptOutcome, StoreError> {
    let state = if job.sends.is_empty() {
        JobState::Finished
    } else {
        JobState::Active
    };
    let Some((stored_sha256, stored_state)) = jobs::hash_and_state(conn, &job.id)? else {
        jobs::upsert(conn, job, state, now)?;
        for send in &job.sends {
            moves::insert(conn, &job.id, send, now)?;
        }
        return Ok(AcceptOutcome::Inserted);
    };
    if stored_sha256 == job.sha256 {
        return Ok(AcceptOutcome::Unchanged);
    }
    if let Some(reason) = replace_conflict(conn, job, stored_state)? {
        return Ok(AcceptOutcome::Conflict { reason });
    }
    // Sends never tried go; tried ones stay as `replaced` with their attempts, and one
    // for an occurrence the new content has again takes that content in place.
    let removed = replace::delete_untried_scheduled_sends(conn, &job.id)?;
    let kept = replace::mark_tried_scheduled_replaced(conn, &job.id, now)?;
    let canceled = removed + kept;
    jobs::upsert(conn, job, state, now)?;
    for send in &job.sends {
        if replace::revive_replaced(conn, &job.id, send, now)? == 0 {
            moves::insert(conn, &job.id, send, now)?;
        }
    }
    let detail = format!(
        "new content (sha256 {} replaces {}) from {}: {canceled} pending send(s) replaced ({kept} kept as replaced with their attempts), {} scheduled",
        short_hash(&job.sha256),
        short_hash(&stored_sha256),
        job.source_name,
        job.sends.len(),
    );
    events::insert(conn, now, EventKind::Replaced, Some(&job.id), &detail)?;
    if job.sends.is_empty() {
        outcome::on_send_finished(conn, &job.id, now)?;
    }
    Ok(AcceptOutcome::Replaced { canceled })
}

/// Why new content for a stored job cannot replace it, if it cannot.
fn replace_conflict(
    conn: &Connection,
    job: &NewJob,
    stored_state: JobState,
) -> Result<Option<String>, StoreError> {
    let id = &job.id;
    if !reads::ids_of_job(conn, id, SendState::Sending)?.is_empty() {
        return Ok(Some(format!(
            "job {id} has a send in flight right now and different content was dropped; \
             drop the file again once that send has finished"
        )));
    }
    if reads::ids_of_job(conn, id, SendState::Scheduled)?.is_empty() {
        return Ok(Some(format!(
            "job {id} already exists with different content and has nothing left to send \
             (state {stored_state}); give the new job a new id"
        )));
    }
    for send in &job.sends {
        if let Some(state) = reads::occurrence_state(conn, id, send.occurrence)?
            && state != SendState::Scheduled
            && state != SendState::Replaced
        {
            return Ok(Some(format!(
                "job {id} already has a {state} send for {}; give the new job a new id",
                utc_text(send.occurrence)
            )));
        }
    }
    Ok(None)
}

/// The first 12 hex digits of a hash, enough to tell versions apart in an event.
fn short_hash(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}
