//! The operator's operations: what `show`, `stats`, `cancel` and `retry` do, as steps over
//! [`queries`](super::queries).
//!
//! Trusts: the writer to run each write in one transaction and to run it again from the
//! start if its batch has to be retried (so these functions only read their inputs).
//!
//! Guarantees: a read answers from one snapshot (one read transaction), so a send and its
//! attempts agree. A cancel takes only sends still `scheduled` or `sending`; the daemon
//! claims only `scheduled` sends, so once the cancel is committed it never starts them. A
//! send canceled while its request is in flight stays `canceled` whatever Bird answers (if
//! Bird accepted it, its message id and status are kept on the row, and the attempt says
//! so) and is never put back to `scheduled` (a retry, failure or expiry is recorded only
//! for a send still `sending`).
//! A retry takes only `failed` and `expired` sends, never schedules one whose expiry has
//! passed, nor one of a canceled job. Recurring (`cron`) jobs get their next occurrence
//! from dispatch when one ends, so their single occurrences are neither canceled (that
//! would end the schedule unnoticed) nor retried once the next occurrence is due
//! (dispatch would skip them as overtaken).

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::queries;
use super::rows::{
    CancelOutcome, FinishedCounts, JobDetails, JobState, RetryOutcome, SendDetails, SendRow, Stats,
};
use crate::store::ops::on_send_finished;
use crate::store::queries::{self as core, SendState};
use crate::store::{JobKind, StoreError};
use crate::timefmt::utc_text;

/// A job, its sends with their attempts, and its events; `None` when there is no such job.
pub(super) fn job_details(
    conn: &Connection,
    job_id: &str,
) -> Result<Option<JobDetails>, StoreError> {
    let snapshot = conn.unchecked_transaction()?;
    let Some(job) = queries::job_by_id(&snapshot, job_id)? else {
        return Ok(None);
    };
    let sends = queries::sends_of_job(&snapshot, job_id)?;
    let sends = with_attempts(&snapshot, sends)?;
    let events = queries::events_of_job(&snapshot, job_id)?;
    Ok(Some(JobDetails { job, sends, events }))
}

/// One send with its attempts, its job and the job's events; `None` when there is no
/// such send.
pub(super) fn send_details(
    conn: &Connection,
    send_id: i64,
) -> Result<Option<JobDetails>, StoreError> {
    let snapshot = conn.unchecked_transaction()?;
    let Some(send) = queries::send_by_id(&snapshot, send_id)? else {
        return Ok(None);
    };
    // The foreign key keeps a send's job in place; not finding it means a damaged file.
    let job = queries::job_by_id(&snapshot, &send.job_id)?
        .ok_or_else(|| StoreError::NoSuchJob(send.job_id.clone()))?;
    let events = queries::events_of_job(&snapshot, &job.id)?;
    let sends = with_attempts(&snapshot, vec![send])?;
    Ok(Some(JobDetails { job, sends, events }))
}

/// Pairs each send with its attempts.
fn with_attempts(conn: &Connection, sends: Vec<SendRow>) -> Result<Vec<SendDetails>, StoreError> {
    sends
        .into_iter()
        .map(|send| {
            let attempts = queries::attempts_of_send(conn, send.id)?;
            Ok(SendDetails { send, attempts })
        })
        .collect()
}

/// Sends per state, sends finished in the last hour and day, rejections in the last day.
pub(super) fn stats(conn: &Connection, now: DateTime<Utc>) -> Result<Stats, StoreError> {
    let snapshot = conn.unchecked_transaction()?;
    let counted = core::count_sends_by_state(&snapshot)?;
    let by_state = SendState::ALL
        .into_iter()
        .map(|state| {
            let count = counted
                .iter()
                .find(|(word, _)| word == state.as_str())
                .map_or(0, |&(_, n)| n);
            (state, count)
        })
        .collect();
    let finished_since = |since: DateTime<Utc>| -> Result<FinishedCounts, StoreError> {
        let mut counts = FinishedCounts::default();
        for (state, n) in queries::count_finished_since(&snapshot, since)? {
            match SendState::from_word(&state) {
                Some(SendState::Sent) => counts.sent = n,
                Some(SendState::Failed) => counts.failed = n,
                Some(SendState::Expired) => counts.expired = n,
                _ => {}
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
        rejections_last_day: queries::count_rejections_since(&snapshot, day_ago)?,
    })
}

/// Cancels a job: its scheduled and in-flight sends become `canceled`, the job too.
pub(super) fn cancel_job(
    conn: &Connection,
    job_id: &str,
    now: DateTime<Utc>,
) -> Result<CancelOutcome, StoreError> {
    let Some((_, job_state)) = core::job_hash_and_state(conn, job_id)? else {
        return Err(StoreError::NoSuchJob(job_id.to_owned()));
    };
    let scheduled = queries::job_send_ids(conn, job_id, SendState::Scheduled)?;
    let in_flight = queries::job_send_ids(conn, job_id, SendState::Sending)?;
    if scheduled.is_empty() && in_flight.is_empty() {
        match job_state.as_str() {
            "canceled" => {
                return Ok(CancelOutcome::AlreadyCanceled {
                    job_id: job_id.to_owned(),
                });
            }
            "finished" => {
                return Ok(CancelOutcome::AlreadyEnded {
                    job_id: job_id.to_owned(),
                    state: "finished",
                });
            }
            // An active job with nothing pending is still canceled, so nothing of it runs.
            _ => {}
        }
    }
    for &send_id in &scheduled {
        queries::mark_canceled(conn, send_id, SendState::Scheduled, now)?;
    }
    for &send_id in &in_flight {
        queries::mark_canceled(conn, send_id, SendState::Sending, now)?;
    }
    queries::cancel_job_row(conn, job_id, now)?;
    let detail = format!(
        "canceled by an operator: {} scheduled send(s) canceled{}",
        scheduled.len(),
        in_flight_note(&in_flight)
    );
    core::insert_event(conn, now, "canceled", Some(job_id), &detail)?;
    Ok(CancelOutcome::Canceled {
        job_id: job_id.to_owned(),
        scheduled,
        in_flight,
    })
}

/// Cancels every active job, or every active job whose id starts with `prefix`.
pub(super) fn cancel_jobs(
    conn: &Connection,
    prefix: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<CancelOutcome>, StoreError> {
    queries::active_job_ids(conn, prefix)?
        .iter()
        .map(|job_id| cancel_job(conn, job_id, now))
        .collect()
}

/// Cancels one scheduled or in-flight send of a one-shot job; the job finishes when
/// nothing else of it is pending.
pub(super) fn cancel_send(
    conn: &Connection,
    send_id: i64,
    now: DateTime<Utc>,
) -> Result<CancelOutcome, StoreError> {
    let Some((job_id, stored_state)) = core::send_job_and_state(conn, send_id)? else {
        return Err(StoreError::NoSuchSend(send_id));
    };
    let state = SendState::from_word(&stored_state).ok_or(StoreError::BadValue {
        column: "sends.state",
        value: stored_state,
    })?;
    let (scheduled, in_flight) = match state {
        SendState::Scheduled => (vec![send_id], vec![]),
        SendState::Sending => (vec![], vec![send_id]),
        SendState::Canceled => return Ok(CancelOutcome::AlreadyCanceled { job_id }),
        SendState::Sent | SendState::Failed | SendState::Expired | SendState::Replaced => {
            return Ok(CancelOutcome::AlreadyEnded {
                job_id,
                state: state.as_str(),
            });
        }
    };
    let job =
        queries::job_by_id(conn, &job_id)?.ok_or_else(|| StoreError::NoSuchJob(job_id.clone()))?;
    if job.kind == JobKind::Cron {
        return Ok(CancelOutcome::RecurringSend { job_id });
    }
    queries::mark_canceled(conn, send_id, state, now)?;
    let detail = format!(
        "send {send_id} canceled by an operator (it was {}){}",
        state.as_str(),
        in_flight_note(&in_flight)
    );
    core::insert_event(conn, now, "canceled", Some(&job_id), &detail)?;
    on_send_finished(conn, &job_id, now)?;
    Ok(CancelOutcome::Canceled {
        job_id,
        scheduled,
        in_flight,
    })
}

/// The part of a cancel event about requests that were under way.
fn in_flight_note(in_flight: &[i64]) -> String {
    if in_flight.is_empty() {
        return String::new();
    }
    format!(
        "; {} send(s) had a request in flight ({in_flight:?}): they stay canceled (Bird's id \
         is kept if it accepts the request) and are never tried again",
        in_flight.len()
    )
}

/// Schedules a failed or expired send again, due `now`, attempts back to 0, and makes its
/// finished job active. With `extend_to`, the expiry becomes the later of the current one and
/// `extend_to`; a send whose expiry (after that) is not after `now` is refused.
pub(super) fn retry_send(
    conn: &Connection,
    send_id: i64,
    extend_to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<RetryOutcome, StoreError> {
    let Some(send) = queries::send_by_id(conn, send_id)? else {
        return Err(StoreError::NoSuchSend(send_id));
    };
    if !matches!(send.state, SendState::Failed | SendState::Expired) {
        return Ok(RetryOutcome::NotRetryable {
            send_id,
            state: send.state,
        });
    }
    let job = queries::job_by_id(conn, &send.job_id)?
        .ok_or_else(|| StoreError::NoSuchJob(send.job_id.clone()))?;
    if job.state == JobState::Canceled {
        return Ok(RetryOutcome::JobCanceled {
            send_id,
            job_id: job.id,
        });
    }
    if job.kind == JobKind::Cron
        && let Some(next) = queries::next_occurrence_after(conn, &job.id, send.occurrence_at)?
        && next <= now
    {
        return Ok(RetryOutcome::Overtaken {
            send_id,
            job_id: job.id,
            next,
        });
    }
    let expires_at = extend_to.map_or(send.expires_at, |t| t.max(send.expires_at));
    if expires_at <= now {
        return Ok(RetryOutcome::PastExpiry {
            send_id,
            expires_at: send.expires_at,
        });
    }
    queries::reschedule_ended_send(conn, send_id, expires_at, now)?;
    core::reactivate_job(conn, &send.job_id, now)?;
    let extended = expires_at > send.expires_at;
    let expiry_note = if extended {
        format!(
            "expiry extended from {} to {}",
            utc_text(send.expires_at),
            utc_text(expires_at)
        )
    } else {
        format!("expires {}", utc_text(expires_at))
    };
    let detail = format!(
        "send {send_id} ({}, {} attempt(s)) scheduled again by an operator, due now; {expiry_note}",
        send.state.as_str(),
        send.attempts,
    );
    core::insert_event(conn, now, "retried", Some(&send.job_id), &detail)?;
    Ok(RetryOutcome::Scheduled {
        send_id,
        job_id: send.job_id,
        expires_at,
        extended,
    })
}
