//! The store's operations: what each `Store` method does, as steps over [`queries`].
//!
//! Owns: the rules that span several statements: when a re-dropped job is unchanged,
//! replaced or a conflict; what a claim, an outcome, a recovery and a requeue change; when
//! an attempt counts; when a job is finished ([`on_send_finished`]).
//!
//! Trusts: the writer to run each write operation inside one transaction and savepoint, so
//! an operation that returns an error leaves nothing behind, and to run it again from the
//! start if its batch has to be retried (so these functions only read their inputs).
//!
//! Guarantees: a job's sends never change under a send in flight; a send reaching a final
//! state finishes its job, in the same transaction, once nothing else of it is pending.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::queries::{self, SendState};
use super::repair;
use super::{
    AcceptOutcome, AttemptOutcome, AttemptRecord, ClaimedSend, NewJob, NewSend, SendUpdate,
    StoreError,
};
use crate::timefmt::utc_text;

/// Stores a new job, leaves an identical one alone, or replaces a job's pending sends.
pub(super) fn accept_job(
    conn: &Connection,
    job: &NewJob,
    now: DateTime<Utc>,
) -> Result<AcceptOutcome, StoreError> {
    let state = if job.sends.is_empty() {
        "finished"
    } else {
        "active"
    };
    let Some((stored_sha256, stored_state)) = queries::job_hash_and_state(conn, &job.id)? else {
        queries::upsert_job(conn, job, state, now)?;
        for send in &job.sends {
            queries::insert_send(conn, &job.id, send, now)?;
        }
        return Ok(AcceptOutcome::Inserted);
    };
    if stored_sha256 == job.sha256 {
        return Ok(AcceptOutcome::Unchanged);
    }
    if let Some(reason) = replace_conflict(conn, job, &stored_state)? {
        return Ok(AcceptOutcome::Conflict { reason });
    }
    // Sends never tried go; tried ones stay as `replaced` with their attempts, and one
    // for an occurrence the new content has again takes that content in place.
    let removed = repair::delete_untried_scheduled_sends(conn, &job.id)?;
    let kept = repair::mark_tried_scheduled_replaced(conn, &job.id, now)?;
    let canceled = removed + kept;
    queries::upsert_job(conn, job, state, now)?;
    for send in &job.sends {
        if repair::revive_replaced(conn, &job.id, send, now)? == 0 {
            queries::insert_send(conn, &job.id, send, now)?;
        }
    }
    let detail = format!(
        "new content (sha256 {} replaces {}) from {}: {canceled} pending send(s) replaced ({kept} kept as replaced with their attempts), {} scheduled",
        short_hash(&job.sha256),
        short_hash(&stored_sha256),
        job.source_name,
        job.sends.len(),
    );
    queries::insert_event(conn, now, "replaced", Some(&job.id), &detail)?;
    if job.sends.is_empty() {
        on_send_finished(conn, &job.id, now)?;
    }
    Ok(AcceptOutcome::Replaced { canceled })
}

/// Why new content for a stored job cannot replace it, if it cannot.
fn replace_conflict(
    conn: &Connection,
    job: &NewJob,
    stored_state: &str,
) -> Result<Option<String>, StoreError> {
    let id = &job.id;
    if queries::count_job_sends(conn, id, SendState::Sending)? > 0 {
        return Ok(Some(format!(
            "job {id} has a send in flight right now and different content was dropped; \
             drop the file again once that send has finished"
        )));
    }
    if queries::count_job_sends(conn, id, SendState::Scheduled)? == 0 {
        return Ok(Some(format!(
            "job {id} already exists with different content and has nothing left to send \
             (state {stored_state}); give the new job a new id"
        )));
    }
    for send in &job.sends {
        if let Some(state) = queries::occurrence_state(conn, id, send.occurrence)?
            && state != SendState::Scheduled.as_str()
            && state != SendState::Replaced.as_str()
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

/// Claims due scheduled sends, oldest first: they become `sending`.
pub(super) fn claim_due(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<ClaimedSend>, StoreError> {
    let mut claimed = Vec::new();
    for row in queries::due_sends(conn, now, limit)? {
        match row {
            Ok(send) => {
                queries::mark_sending(conn, send.send_id, now)?;
                claimed.push(send);
            }
            Err((send_id, error)) => {
                // One bad row must not stop every claim: that send ends failed, loudly.
                let reason = error.to_string();
                tracing::error!(send = send_id, %reason, "a send's row cannot be read: it is failed (unreadable row), the others go on");
                if repair::quarantine(conn, send_id, &reason, now)? > 0 {
                    let detail = format!("send {send_id} failed: unreadable row: {reason}");
                    let job = repair::job_of_send(conn, send_id)?;
                    queries::insert_event(conn, now, "quarantined", job.as_deref(), &detail)?;
                    if let Some(job) = job {
                        on_send_finished(conn, &job, now)?;
                    }
                }
            }
        }
    }
    Ok(claimed)
}

/// Records an attempt and moves the send to where `next` says; when that ends the send,
/// a cron job's `follow` (its next occurrence) is applied in the same transaction.
pub(super) fn record_outcome(
    conn: &Connection,
    send_id: i64,
    attempt: &AttemptRecord,
    next: &SendUpdate,
    follow: Option<&super::FollowUp>,
) -> Result<(), StoreError> {
    let Some((job_id, state)) = queries::send_job_and_state(conn, send_id)? else {
        return Err(StoreError::NoSuchSend(send_id));
    };
    queries::insert_attempt(conn, send_id, attempt)?;
    let counted = counts_as_attempt(attempt.outcome, next);
    let (changed, finished_at) = match next {
        SendUpdate::Sent {
            bird_message_id,
            bird_status,
            at,
        } => (
            queries::mark_sent(conn, send_id, bird_message_id, bird_status, counted, *at)?,
            Some(*at),
        ),
        SendUpdate::Retry {
            next_attempt,
            error,
            ..
        } => (
            queries::mark_retry(
                conn,
                send_id,
                *next_attempt,
                counted,
                error,
                attempt.finished,
            )?,
            None,
        ),
        SendUpdate::Failed {
            code,
            message,
            details,
            at,
        } => {
            let details = details.as_deref().map(as_json);
            let changed = queries::mark_failed(
                conn,
                send_id,
                code.as_deref(),
                message,
                details.as_deref(),
                counted,
                *at,
            )?;
            (changed, Some(*at))
        }
        SendUpdate::Expired { reason, at } => (
            queries::mark_expired(conn, send_id, reason, counted, *at)?,
            Some(*at),
        ),
    };
    if changed == 0 {
        if let SendUpdate::Sent {
            bird_message_id,
            bird_status,
            ..
        } = next
        {
            repair::note_late_acceptance(conn, send_id, bird_message_id, bird_status)?;
            tracing::warn!(
                send_id,
                state,
                bird_id = %bird_message_id,
                "Bird accepted a send that was {state} while its request was in flight; it stays {state}, Bird's id is kept"
            );
            return Ok(());
        }
        tracing::warn!(
            send_id,
            state,
            "an outcome arrived for a send that was no longer being sent; only the attempt was recorded"
        );
        return Ok(());
    }
    if let Some(at) = finished_at {
        if let Some(follow) = follow {
            super::cron::apply(conn, &job_id, follow, at)?;
        }
        on_send_finished(conn, &job_id, at)?;
    }
    Ok(())
}

/// Whether an attempt counts towards the send's `attempts` (and so towards giving up):
/// a request Bird could have processed counts; one it did not (429, a wrong key, no request
/// made, an outcome never learned) does not. A retry says so itself.
fn counts_as_attempt(outcome: AttemptOutcome, next: &SendUpdate) -> bool {
    if let SendUpdate::Retry { count_attempt, .. } = next {
        return *count_attempt;
    }
    match outcome {
        AttemptOutcome::Sent
        | AttemptOutcome::Retry
        | AttemptOutcome::Failed
        | AttemptOutcome::Unknown => true,
        // The POST whose outcome was unknown was counted already; a look-up is not a POST.
        AttemptOutcome::Reconciled
        | AttemptOutcome::NotFound
        | AttemptOutcome::Throttled
        | AttemptOutcome::Unauthorized
        | AttemptOutcome::Redirected
        | AttemptOutcome::Expired
        | AttemptOutcome::Interrupted => false,
    }
}

/// Bird's error details as JSON text: kept as they are when they are JSON, else quoted as
/// a JSON string (an odd answer from Bird must not keep the failure from being recorded).
fn as_json(details: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(details) {
        Ok(_) => details.to_owned(),
        Err(_) => serde_json::Value::String(details.to_owned()).to_string(),
    }
}

/// Runs when one of a job's sends reaches a final state (sent, failed, expired, canceled),
/// in the same transaction: the job is finished once none of its sends is scheduled or
/// being sent.
///
/// Recurring jobs hook in here: a `cron` job materialises its next occurrence (one new
/// `scheduled` send, unique per job and occurrence) before the check below, so it stays
/// active until its schedule ends.
pub(super) fn on_send_finished(
    conn: &Connection,
    job_id: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if !queries::job_has_open_sends(conn, job_id)? {
        queries::finish_job(conn, job_id, at)?;
    }
    Ok(())
}

/// Puts every send left in `sending` back to `scheduled`, due `now`, with an `interrupted`
/// attempt each (not counted) and one event.
pub(super) fn recover_interrupted(
    conn: &Connection,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let interrupted = queries::sending_sends(conn)?;
    for send in &interrupted {
        let attempt = AttemptRecord {
            started: send.claimed_at.unwrap_or(now),
            finished: now,
            http_status: None,
            outcome: AttemptOutcome::Interrupted,
            error: Some(
                "msgspool stopped before the outcome of this attempt was recorded; \
                 Bird may or may not have received it"
                    .to_owned(),
            ),
        };
        queries::insert_attempt(conn, send.send_id, &attempt)?;
        queries::unclaim(conn, send.send_id, Some(now), now)?;
    }
    if !interrupted.is_empty() {
        let detail = format!(
            "recovered {} interrupted send(s): scheduled again, due now",
            interrupted.len()
        );
        queries::insert_event(conn, now, "recovered", None, &detail)?;
    }
    Ok(interrupted.len())
}

/// Puts claimed sends back to `scheduled` as they were due, counting nothing, each with an
/// `interrupted` attempt row saying the daemon stopped before its request finished.
pub(super) fn requeue(
    conn: &Connection,
    send_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for &send_id in send_ids {
        if queries::unclaim(conn, send_id, None, now)? == 0 {
            continue;
        }
        let attempt = AttemptRecord {
            started: now,
            finished: now,
            http_status: None,
            outcome: AttemptOutcome::Interrupted,
            error: Some(
                "msgspool was stopping: this send's request was not made or did not finish \
                 within shutdown_grace; it goes out after the restart"
                    .to_owned(),
            ),
        };
        queries::insert_attempt(conn, send_id, &attempt)?;
    }
    Ok(())
}

/// The state of one send, if it exists.
pub(super) fn send_state(conn: &Connection, send_id: i64) -> Result<Option<String>, StoreError> {
    Ok(queries::send_job_and_state(conn, send_id)?.map(|(_, state)| state))
}

/// The number of sends in every state, zero for the states no send is in.
pub(super) fn send_states(conn: &Connection) -> Result<BTreeMap<String, i64>, StoreError> {
    let mut counts: BTreeMap<String, i64> = SendState::ALL
        .iter()
        .map(|state| (state.as_str().to_owned(), 0))
        .collect();
    for (state, count) in queries::count_sends_by_state(conn)? {
        counts.insert(state, count);
    }
    Ok(counts)
}

/// Adds the next occurrence of a recurring job, unless it exists already or the job was
/// canceled; records `skipped` (occurrences passed over) as one event. Returns whether a
/// send was added.
pub(super) fn add_occurrence(
    conn: &Connection,
    job_id: &str,
    send: &NewSend,
    skipped: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    if let Some(detail) = skipped {
        queries::insert_event(conn, now, "skipped", Some(job_id), detail)?;
    }
    let state = queries::job_source(conn, job_id)?.map(|(state, _, _)| state);
    if state.as_deref() != Some("active") && state.as_deref() != Some("finished") {
        return Ok(false);
    }
    if queries::occurrence_state(conn, job_id, send.occurrence)?.is_some() {
        return Ok(false);
    }
    queries::insert_send(conn, job_id, send, now)?;
    queries::reactivate_job(conn, job_id, now)?;
    Ok(true)
}
