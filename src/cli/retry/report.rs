//! What `msgspool retry` says about each send: why one was not retried and what to do
//! instead (for people), and what happened to it (one JSON object, for programs).
//!
//! Owns the wording; trusts the store's [`RetryOutcome`] as given.

use serde_json::json;

use super::super::format;
use crate::store::{RetryOutcome, SendState};

/// Why a send was not retried and what to do instead; `None` when it was scheduled again.
pub(super) fn refusal(outcome: &RetryOutcome) -> Option<String> {
    let text = match outcome {
        RetryOutcome::Scheduled { .. } => return None,
        RetryOutcome::NotRetryable { send_id, state } => not_retryable(*send_id, *state),
        RetryOutcome::PastExpiry {
            send_id,
            expires_at,
        } => format!(
            "send {send_id} expired at {} (its validity ran out), so it was not retried; \
             add --force to schedule it anyway with a new expiry of now + the channel's \
             default validity (or --validity DURATION)",
            format::time(*expires_at)
        ),
        RetryOutcome::JobCanceled { send_id, job_id } => format!(
            "send {send_id} belongs to job {job_id}, which was canceled, so it was not \
             retried; to send it after all, drop the job file again under a new id"
        ),
        RetryOutcome::Overtaken {
            send_id,
            job_id,
            next,
        } => format!(
            "send {send_id} is an occurrence of the recurring job {job_id}, whose next \
             occurrence ({}) is already due, so it was not retried (msgspool would skip it \
             as overtaken)",
            format::time(*next)
        ),
    };
    Some(text)
}

/// Why a send in `state` is not retried, and what to do instead.
fn not_retryable(send_id: i64, state: SendState) -> String {
    match state {
        SendState::Scheduled | SendState::Sending => format!(
            "send {send_id} is {}, not failed or expired: it is still on its way; nothing to retry",
            state.as_str()
        ),
        SendState::Sent => format!(
            "send {send_id} was sent, so it is not retried; to send the message again, drop a \
             new job file"
        ),
        SendState::Canceled => format!(
            "send {send_id} was canceled, and canceled sends are not retried; to send it after \
             all, drop the job file again under a new id"
        ),
        SendState::Replaced => format!(
            "send {send_id} was replaced by new content for its job; the job's current sends \
             are the ones to look at"
        ),
        SendState::Failed | SendState::Expired => {
            format!("send {send_id} changed while msgspool looked at it; run the command again")
        }
    }
}

/// What a retry did with one send, for programs.
pub(super) fn outcome_json(outcome: &RetryOutcome) -> serde_json::Value {
    match outcome {
        RetryOutcome::Scheduled {
            send_id,
            job_id,
            expires_at,
            extended,
        } => json!({
            "send_id": send_id,
            "job_id": job_id,
            "result": "scheduled",
            "expires_at": format::time(*expires_at),
            "expiry_extended": extended,
        }),
        RetryOutcome::NotRetryable { send_id, state } => json!({
            "send_id": send_id,
            "result": "not_retryable",
            "state": state.as_str(),
        }),
        RetryOutcome::PastExpiry {
            send_id,
            expires_at,
        } => json!({
            "send_id": send_id,
            "result": "past_expiry",
            "expires_at": format::time(*expires_at),
        }),
        RetryOutcome::JobCanceled { send_id, job_id } => json!({
            "send_id": send_id,
            "job_id": job_id,
            "result": "job_canceled",
        }),
        RetryOutcome::Overtaken {
            send_id,
            job_id,
            next,
        } => json!({
            "send_id": send_id,
            "job_id": job_id,
            "result": "overtaken",
            "next_occurrence_at": format::time(*next),
        }),
    }
}
