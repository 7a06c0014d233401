//! Recording the outcome of an attempt: the attempt row, where the send goes next, and
//! when it ends, a cron job's next occurrence and the end of its job, all in one
//! transaction.
//!
//! Owns: [`SendUpdate`], when an attempt counts ([`counts_as_attempt`]) and when a job is
//! finished ([`on_send_finished`]). Trusts: the writer for the transaction, and dispatch
//! for the follow-up it built. Guarantees: an outcome changes only a send still `sending`
//! (a canceled or replaced send keeps its word and only gains the attempt row); recording
//! the same attempt twice changes nothing the second time; a send reaching a final state finishes its
//! job, in the same transaction, once nothing else of it is pending.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::sends::{moves, reads, replace};
use super::{AttemptOutcome, AttemptRecord, FollowUp, SendState, StoreError, attempts, cron, jobs};

/// Where a send goes after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendUpdate {
    /// Bird accepted it (202).
    Sent {
        bird_message_id: String,
        bird_status: String,
        at: DateTime<Utc>,
    },
    /// Back to `scheduled`, next try at `next_attempt`; `count_attempt` is false when Bird
    /// did not process the request (429).
    Retry {
        next_attempt: DateTime<Utc>,
        count_attempt: bool,
        error: String,
    },
    /// Failed for good; keeps Bird's `code`, `message` and `details` (JSON text).
    Failed {
        code: Option<String>,
        message: String,
        details: Option<String>,
        at: DateTime<Utc>,
    },
    /// Its validity ran out before it could be sent.
    Expired { reason: String, at: DateTime<Utc> },
}

/// Records an attempt and moves the send to where `next` says; when that ends the send,
/// a cron job's `follow` (its next occurrence) is applied in the same transaction.
pub(super) fn record_outcome(
    conn: &Connection,
    send_id: i64,
    attempt: &AttemptRecord,
    next: &SendUpdate,
    follow: Option<&FollowUp>,
) -> Result<(), StoreError> {
    if let Some((job_id, at)) = sent_while_sending(conn, send_id, attempt, next)? {
        return finish(conn, &job_id, follow, at);
    }
    let Some((job_id, state)) = reads::job_and_state(conn, send_id)? else {
        return Err(StoreError::NoSuchSend(send_id));
    };
    if state != SendState::Sending && attempts::exists(conn, send_id, attempt)? {
        // The same try recorded again (a caller that did not learn the first answer).
        return Ok(());
    }
    attempts::insert(conn, send_id, attempt)?;
    let counted = counts_as_attempt(attempt.outcome, next);
    let (changed, finished_at) = match next {
        SendUpdate::Sent {
            bird_message_id,
            bird_status,
            at,
        } => (
            moves::mark_sent(conn, send_id, bird_message_id, bird_status, counted, *at)?,
            Some(*at),
        ),
        SendUpdate::Retry {
            next_attempt,
            error,
            ..
        } => (
            moves::mark_retry(
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
            let changed = moves::mark_failed(
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
            moves::mark_expired(conn, send_id, reason, counted, *at)?,
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
            replace::note_late_acceptance(conn, send_id, bird_message_id, bird_status)?;
            tracing::warn!(
                send_id,
                state = %state,
                bird_id = %bird_message_id,
                "Bird accepted a send that was {state} while its request was in flight; it stays {state}, Bird's id is kept"
            );
            return Ok(());
        }
        tracing::warn!(
            send_id,
            state = %state,
            "an outcome arrived for a send that was no longer being sent; only the attempt was recorded"
        );
        return Ok(());
    }
    match finished_at {
        Some(at) => finish(conn, &job_id, follow, at),
        None => Ok(()),
    }
}

/// The hot path, three statements: Bird accepted a send that is still `sending` (the
/// attempt row, the send's move with its delivery note, the job's end). Returns the send's
/// job and when it was sent when it applied; `None` leaves everything to the general path.
fn sent_while_sending(
    conn: &Connection,
    send_id: i64,
    attempt: &AttemptRecord,
    next: &SendUpdate,
) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
    let SendUpdate::Sent {
        bird_message_id,
        bird_status,
        at,
    } = next
    else {
        return Ok(None);
    };
    // Only these outcomes start delivery polling at the attempt's end (delivery::note_attempt).
    if !matches!(
        attempt.outcome,
        AttemptOutcome::Sent | AttemptOutcome::Reconciled
    ) {
        return Ok(None);
    }
    let counted = counts_as_attempt(attempt.outcome, next);
    let job_id = moves::sent_while_sending(
        conn,
        send_id,
        bird_message_id,
        bird_status,
        counted,
        *at,
        attempt.finished,
    )?;
    let Some(job_id) = job_id else {
        return Ok(None);
    };
    attempts::insert_row(conn, send_id, attempt)?;
    Ok(Some((job_id, *at)))
}

/// A send reached a final state at `at`: a cron job's next occurrence, then the job's end.
fn finish(
    conn: &Connection,
    job_id: &str,
    follow: Option<&FollowUp>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if let Some(follow) = follow {
        cron::apply(conn, job_id, follow, at)?;
    }
    on_send_finished(conn, job_id, at)
}

/// Whether an attempt counts towards the send's `attempts` (and so towards giving up):
/// a request Bird could have processed counts; one it did not (429, a wrong key, no request
/// made, an outcome never learned) does not. A retry says so itself.
pub(super) fn counts_as_attempt(outcome: AttemptOutcome, next: &SendUpdate) -> bool {
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
    jobs::finish_when_done(conn, job_id, at)?;
    Ok(())
}
