//! What happens to a send after Bird answered: the one place that decides retry, fail,
//! expire or done.
//!
//! Pure: the answer, the claimed send, the time and a jitter fraction come in; a
//! [`Decision`] (the attempt row, the send's next state, and what the whole workspace must
//! do) comes out. The `match` over [`SendResult`] has no catch-all arm, so a new kind of
//! answer does not compile until someone classifies it.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::backoff::full_jitter;
use crate::bird::{BirdError, RetryAfter, SendResult};
use crate::config::RetryConfig;
use crate::quiet::QuietWindow;
use crate::store::{AttemptOutcome, AttemptRecord, ClaimedSend, SendUpdate};

/// What the workspace as a whole must do after this answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkspaceEffect {
    None,
    /// Bird throttled us: hold every request back this long.
    SlowDown(Duration),
    /// The access key was refused: pause dispatch (sends stay scheduled).
    KeyRefused,
    /// Bird's address answered a redirect (a wrong `base_url`): pause dispatch like a
    /// refused key; `location` is where it pointed.
    Misdirected {
        location: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub attempt: AttemptRecord,
    pub update: SendUpdate,
    pub workspace: WorkspaceEffect,
}

/// How long dispatch pauses after Bird refused the key before it tries again.
pub const KEY_REFUSED_PAUSE: Duration = Duration::from_secs(30);

/// Decides the consequences of `result` for `send`, which was POSTed at `started`.
/// Retries that would fall inside `quiet` hours wait for their end.
pub fn decide(
    send: &ClaimedSend,
    result: SendResult,
    started: DateTime<Utc>,
    now: DateTime<Utc>,
    retry: &RetryConfig,
    jitter: f64,
    quiet: Option<&QuietWindow>,
) -> Decision {
    let attempt = |http_status: Option<u16>, outcome, error: Option<String>| AttemptRecord {
        started,
        finished: now,
        http_status,
        outcome,
        error,
    };
    match result {
        SendResult::Accepted { message_id, status } => Decision {
            attempt: attempt(Some(202), AttemptOutcome::Sent, None),
            update: SendUpdate::Sent {
                bird_message_id: message_id,
                bird_status: status,
                at: now,
            },
            workspace: WorkspaceEffect::None,
        },
        SendResult::Unconfirmed {
            http_status,
            detail,
        } => Decision {
            // Bird may have taken it: recorded as sent, never posted again.
            attempt: attempt(Some(http_status), AttemptOutcome::Sent, Some(detail)),
            update: SendUpdate::Sent {
                bird_message_id: String::new(),
                bird_status: UNCONFIRMED.to_owned(),
                at: now,
            },
            workspace: WorkspaceEffect::None,
        },
        SendResult::Redirected {
            http_status,
            location,
        } => {
            let text = format!(
                "{http_status}: redirected to {} (not followed; check [bird] base_url); dispatch paused until the config is fixed",
                location.as_deref().unwrap_or("no Location")
            );
            let next = now + chrono::Duration::from_std(KEY_REFUSED_PAUSE).unwrap_or_default();
            Decision {
                attempt: attempt(
                    Some(http_status),
                    AttemptOutcome::Redirected,
                    Some(text.clone()),
                ),
                update: retry_or_expire(send, next, false, text, now, quiet),
                workspace: WorkspaceEffect::Misdirected { location },
            }
        }
        SendResult::Throttled { retry_after } => {
            // Not processed by Bird: no attempt is used up.
            let wait = throttle_wait(send, retry_after, now, retry, jitter);
            let error = format!(
                "429 Too Many Requests; waiting {}",
                crate::duration::format_duration(wait)
            );
            let next = now + chrono::Duration::from_std(wait).unwrap_or_default();
            Decision {
                attempt: attempt(Some(429), AttemptOutcome::Throttled, Some(error.clone())),
                update: retry_or_expire(send, next, false, error, now, quiet),
                workspace: WorkspaceEffect::SlowDown(wait),
            }
        }
        SendResult::Unauthorized { http_status, error } => {
            let text = format!(
                "{http_status}: Bird refused the access key ({}); dispatch paused until the key is fixed",
                describe(&error)
            );
            let next = now + chrono::Duration::from_std(KEY_REFUSED_PAUSE).unwrap_or_default();
            Decision {
                attempt: attempt(
                    Some(http_status),
                    AttemptOutcome::Unauthorized,
                    Some(text.clone()),
                ),
                update: retry_or_expire(send, next, false, text, now, quiet),
                workspace: WorkspaceEffect::KeyRefused,
            }
        }
        SendResult::Rejected { http_status, error } => Decision {
            attempt: attempt(
                Some(http_status),
                AttemptOutcome::Failed,
                Some(describe(&error)),
            ),
            update: SendUpdate::Failed {
                code: (!error.code.is_empty()).then(|| error.code.clone()),
                message: format!("{http_status}: {}", error.message),
                details: error.details.as_ref().map(|d| d.to_string()),
                at: now,
            },
            workspace: WorkspaceEffect::None,
        },
        SendResult::ServerError {
            http_status,
            detail,
        } => transient(
            send,
            attempt(
                Some(http_status),
                AttemptOutcome::Retry,
                Some(detail.clone()),
            ),
            format!("{http_status}: {detail}"),
            now,
            retry,
            (jitter, quiet),
        ),
        SendResult::Transport { detail } => transient(
            send,
            attempt(None, transport_outcome(&detail), Some(detail.clone())),
            detail,
            now,
            retry,
            (jitter, quiet),
        ),
    }
}

/// A transport failure before the connection was made cannot have reached Bird (`retry`);
/// any other (a timeout, a connection lost after the request was written) may have, so
/// its outcome is `unknown` and the send is looked up before it is posted again.
/// `bird::describe` starts a connect failure's text with "cannot connect".
fn transport_outcome(detail: &str) -> AttemptOutcome {
    match detail.starts_with("cannot connect") {
        true => AttemptOutcome::Retry,
        false => AttemptOutcome::Unknown,
    }
}

/// Bird's status word for a 2xx that carried no message id.
pub const UNCONFIRMED: &str = "unconfirmed";

/// The shortest wait after a 429, whatever `Retry-After` says (`0` must not spin).
pub const MIN_THROTTLE_WAIT: Duration = Duration::from_secs(1);

/// How long to hold back after a 429: `Retry-After` (or backoff without one), clamped to
/// [[`MIN_THROTTLE_WAIT`], min(`retry.max`, time left until the send's expiry)], so a
/// far-away answer can neither overflow a clock nor pause the workspace past any use.
fn throttle_wait(
    send: &ClaimedSend,
    retry_after: Option<RetryAfter>,
    now: DateTime<Utc>,
    retry: &RetryConfig,
    jitter: f64,
) -> Duration {
    let asked = match retry_after {
        Some(r) => r.wait_from(now),
        None => full_jitter(
            send.attempts.saturating_add(1),
            retry.initial,
            retry.max,
            jitter,
        ),
    };
    let left = (send.expires - now).to_std().unwrap_or(Duration::ZERO);
    asked.min(retry.max.min(left)).max(MIN_THROTTLE_WAIT)
}

/// A failure worth retrying: back off, unless attempts or validity run out first.
fn transient(
    send: &ClaimedSend,
    mut attempt: AttemptRecord,
    error: String,
    now: DateTime<Utc>,
    retry: &RetryConfig,
    (jitter, quiet): (f64, Option<&QuietWindow>),
) -> Decision {
    let used = send.attempts.saturating_add(1);
    let update = if used >= retry.max_attempts {
        attempt.outcome = AttemptOutcome::Failed;
        SendUpdate::Failed {
            code: None,
            message: format!("gave up after {used} attempts; last error: {error}"),
            details: None,
            at: now,
        }
    } else {
        let wait = full_jitter(used, retry.initial, retry.max, jitter);
        let next = now + chrono::Duration::from_std(wait).unwrap_or_default();
        retry_or_expire(send, next, true, error, now, quiet)
    };
    if matches!(update, SendUpdate::Expired { .. }) {
        attempt.outcome = AttemptOutcome::Expired;
    }
    Decision {
        attempt,
        update,
        workspace: WorkspaceEffect::None,
    }
}

/// Retries at `next` (or at the end of quiet hours when `next` falls inside them), or
/// ends the send `expired` when that is not before its expiry.
pub fn retry_or_expire(
    send: &ClaimedSend,
    next: DateTime<Utc>,
    count_attempt: bool,
    error: String,
    now: DateTime<Utc>,
    quiet: Option<&QuietWindow>,
) -> SendUpdate {
    let deferred = crate::plan::retry_time(next, quiet);
    if deferred < send.expires {
        return SendUpdate::Retry {
            next_attempt: deferred,
            count_attempt,
            error,
        };
    }
    let expires = crate::timefmt::utc_text(send.expires);
    let reason = match quiet {
        Some(q) if deferred != next => format!(
            "quiet hours ({}) defer the next try to {}, past its expiry at {expires}; last error: {error}",
            q.describe(),
            crate::timefmt::utc_text(deferred)
        ),
        _ => format!(
            "validity ended at {expires} before the next try at {}; last error: {error}",
            crate::timefmt::utc_text(next)
        ),
    };
    SendUpdate::Expired { reason, at: now }
}

fn describe(e: &BirdError) -> String {
    match (e.code.is_empty(), e.message.is_empty()) {
        (true, true) => "no error body".to_owned(),
        (true, false) => e.message.clone(),
        (false, true) => e.code.clone(),
        (false, false) => format!("{}: {}", e.code, e.message),
    }
}

#[cfg(test)]
mod tests;
