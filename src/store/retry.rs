//! Retrying a `failed` or `expired` send: scheduled again, due now, attempts back to 0.
//!
//! Owns: [`RetryOutcome`]. Trusts: the writer for the transaction. Guarantees: a retry
//! takes only `failed` and `expired` sends, never schedules one whose expiry has passed,
//! nor one of a canceled job, nor an occurrence of a recurring job whose next occurrence
//! is already due (dispatch would skip it as overtaken).

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::sends::{reads, replace};
use super::{EventKind, JobKind, JobState, SendState, StoreError, events, jobs};
use crate::timefmt::utc_text;

/// What a retry did with one send; not finding it is a [`crate::store::StoreError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryOutcome {
    /// Scheduled again, due now, attempts back to 0, its job active (if it had
    /// finished); committed.
    Scheduled {
        send_id: i64,
        job_id: String,
        /// Its expiry now (later than before when it was extended).
        expires_at: DateTime<Utc>,
        extended: bool,
    },
    /// Only `failed` and `expired` sends are retried; nothing changed.
    NotRetryable { send_id: i64, state: SendState },
    /// Its expiry has passed and no new one was given; nothing changed.
    PastExpiry {
        send_id: i64,
        expires_at: DateTime<Utc>,
    },
    /// Its job was canceled, so nothing of it is sent any more; nothing changed.
    JobCanceled { send_id: i64, job_id: String },
    /// It is an occurrence of a `cron` job whose next occurrence (`next`) is already due:
    /// dispatch would skip it as overtaken. Nothing changed.
    Overtaken {
        send_id: i64,
        job_id: String,
        next: DateTime<Utc>,
    },
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
    let Some(send) = reads::by_id(conn, send_id)? else {
        return Err(StoreError::NoSuchSend(send_id));
    };
    if !matches!(send.state, SendState::Failed | SendState::Expired) {
        return Ok(RetryOutcome::NotRetryable {
            send_id,
            state: send.state,
        });
    }
    let job = jobs::by_id(conn, &send.job_id)?
        .ok_or_else(|| StoreError::NoSuchJob(send.job_id.clone()))?;
    if job.state == JobState::Canceled {
        return Ok(RetryOutcome::JobCanceled {
            send_id,
            job_id: job.id,
        });
    }
    if job.kind == JobKind::Cron
        && let Some(next) = reads::next_occurrence_after(conn, &job.id, send.occurrence_at)?
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
    replace::reschedule_ended_send(conn, send_id, expires_at, now)?;
    jobs::move_state(
        conn,
        &send.job_id,
        JobState::Finished,
        JobState::Active,
        now,
    )?;
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
    events::insert(conn, now, EventKind::Retried, Some(&send.job_id), &detail)?;
    Ok(RetryOutcome::Scheduled {
        send_id,
        job_id: send.job_id,
        expires_at,
        extended,
    })
}
