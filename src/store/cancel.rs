//! Cancelling a job, every active job (of a prefix), or one send.
//!
//! Owns: [`CancelOutcome`]. Trusts: the writer to run each cancel in one transaction and
//! to run it again from the start if its batch is retried. Guarantees: a cancel takes
//! only sends still `scheduled` or `sending`; the daemon claims only `scheduled` sends, so
//! once the cancel is committed it never starts them. A send canceled while its request
//! is in flight stays `canceled` whatever Bird answers (if Bird accepted it, its message
//! id and status are kept on the row, and the attempt says so) and is never put back to
//! `scheduled`. Occurrences of a recurring (`cron`) job are not canceled one by one:
//! dispatch gives the job its next occurrence when one ends, so that would end the
//! schedule unnoticed.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::sends::{reads, replace};
use super::{EventKind, JobKind, JobState, SendState, StoreError, events, jobs, outcome};

/// What a cancel did; not finding the job or send is a [`crate::store::StoreError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// These sends are `canceled` now, committed. `scheduled` ones will never be tried.
    /// `in_flight` ones had a request under way, which cannot be called back: if Bird
    /// accepts it the send ends `sent`, otherwise it is not tried again.
    Canceled {
        job_id: String,
        scheduled: Vec<i64>,
        in_flight: Vec<i64>,
    },
    /// It was canceled before; nothing changed.
    AlreadyCanceled { job_id: String },
    /// It had ended already (`state` is the job's or the send's); nothing changed.
    AlreadyEnded { job_id: String, state: &'static str },
    /// The send is an occurrence of a `cron` job, and only the job as a whole is canceled:
    /// dispatch adds a recurring job's next occurrence when one ends, so a canceled
    /// occurrence would end the schedule unnoticed. Nothing changed.
    RecurringSend { job_id: String },
}

/// Cancels a job: its scheduled and in-flight sends become `canceled`, the job too.
pub(super) fn cancel_job(
    conn: &Connection,
    job_id: &str,
    now: DateTime<Utc>,
) -> Result<CancelOutcome, StoreError> {
    let Some((_, job_state)) = jobs::hash_and_state(conn, job_id)? else {
        return Err(StoreError::NoSuchJob(job_id.to_owned()));
    };
    let scheduled = reads::ids_of_job(conn, job_id, SendState::Scheduled)?;
    let in_flight = reads::ids_of_job(conn, job_id, SendState::Sending)?;
    if scheduled.is_empty() && in_flight.is_empty() {
        match job_state {
            JobState::Canceled => {
                return Ok(CancelOutcome::AlreadyCanceled {
                    job_id: job_id.to_owned(),
                });
            }
            JobState::Finished => {
                return Ok(CancelOutcome::AlreadyEnded {
                    job_id: job_id.to_owned(),
                    state: JobState::Finished.as_str(),
                });
            }
            // An active (or broken) job with nothing pending is still canceled, so
            // nothing of it runs.
            JobState::Active | JobState::Broken => {}
        }
    }
    for &send_id in &scheduled {
        replace::mark_canceled(conn, send_id, SendState::Scheduled, now)?;
    }
    for &send_id in &in_flight {
        replace::mark_canceled(conn, send_id, SendState::Sending, now)?;
    }
    jobs::cancel(conn, job_id, now)?;
    let detail = format!(
        "canceled by an operator: {} scheduled send(s) canceled{}",
        scheduled.len(),
        in_flight_note(&in_flight)
    );
    events::insert(conn, now, EventKind::Canceled, Some(job_id), &detail)?;
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
    jobs::active_ids(conn, prefix)?
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
    let Some((job_id, state)) = reads::job_and_state(conn, send_id)? else {
        return Err(StoreError::NoSuchSend(send_id));
    };
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
    let job = jobs::by_id(conn, &job_id)?.ok_or_else(|| StoreError::NoSuchJob(job_id.clone()))?;
    if job.kind == JobKind::Cron {
        return Ok(CancelOutcome::RecurringSend { job_id });
    }
    replace::mark_canceled(conn, send_id, state, now)?;
    let detail = format!(
        "send {send_id} canceled by an operator (it was {}){}",
        state.as_str(),
        in_flight_note(&in_flight)
    );
    events::insert(conn, now, EventKind::Canceled, Some(&job_id), &detail)?;
    outcome::on_send_finished(conn, &job_id, now)?;
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
