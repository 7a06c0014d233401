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
mod tests {
    use super::*;
    use crate::bird::BirdError;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn send(attempts: u32, expires: &str) -> ClaimedSend {
        ClaimedSend {
            send_id: 1,
            job_id: "j".into(),
            channel: "whatsapp".into(),
            payload: "{}".into(),
            reference: "r".into(),
            due: utc("2026-11-23T12:00:00Z"),
            occurrence: utc("2026-11-23T12:00:00Z"),
            recurring: false,
            ignore_quiet_hours: false,
            expires: utc(expires),
            attempts,
            reconcile_from: None,
        }
    }

    fn retry() -> RetryConfig {
        RetryConfig {
            max_attempts: 3,
            initial: Duration::from_secs(10),
            max: Duration::from_secs(60),
        }
    }

    const NOW: &str = "2026-11-23T12:00:00Z";

    fn run(s: &ClaimedSend, r: SendResult) -> Decision {
        decide(s, r, utc(NOW), utc(NOW), &retry(), 0.5, None)
    }

    #[test]
    fn a_202_is_sent_with_birds_id() {
        let d = run(
            &send(0, "2026-11-24T00:00:00Z"),
            SendResult::Accepted {
                message_id: "m".into(),
                status: "accepted".into(),
            },
        );
        assert!(
            matches!(d.update, SendUpdate::Sent { ref bird_message_id, .. } if bird_message_id == "m")
        );
        assert_eq!(d.attempt.outcome, AttemptOutcome::Sent);
    }

    #[test]
    fn a_server_error_backs_off_and_counts_an_attempt() {
        let d = run(
            &send(0, "2026-11-24T00:00:00Z"),
            SendResult::ServerError {
                http_status: 503,
                detail: "down".into(),
            },
        );
        let SendUpdate::Retry {
            next_attempt,
            count_attempt,
            ..
        } = d.update
        else {
            panic!("expected a retry, got {:?}", d.update);
        };
        assert!(count_attempt);
        assert_eq!(
            next_attempt,
            utc("2026-11-23T12:00:05Z"),
            "half of the first 10 s ceiling"
        );
    }

    #[test]
    fn a_transport_failure_after_connecting_is_unknown_and_one_before_is_a_retry() {
        let s = send(0, "2026-11-24T00:00:00Z");
        let lost = run(
            &s,
            SendResult::Transport {
                detail: "connection error: connection closed before message completed".into(),
            },
        );
        assert_eq!(lost.attempt.outcome, AttemptOutcome::Unknown);
        let timeout = run(
            &s,
            SendResult::Transport {
                detail: "timeout: operation timed out".into(),
            },
        );
        assert_eq!(timeout.attempt.outcome, AttemptOutcome::Unknown);
        let refused = run(
            &s,
            SendResult::Transport {
                detail: "cannot connect: connection refused".into(),
            },
        );
        assert_eq!(refused.attempt.outcome, AttemptOutcome::Retry);
    }

    #[test]
    fn the_last_allowed_attempt_fails_the_send() {
        let d = run(
            &send(2, "2026-11-24T00:00:00Z"),
            SendResult::Transport {
                detail: "refused".into(),
            },
        );
        assert!(
            matches!(d.update, SendUpdate::Failed { ref message, .. } if message.contains("3 attempts"))
        );
    }

    #[test]
    fn a_retry_that_would_land_after_expiry_expires_the_send() {
        let d = run(
            &send(0, "2026-11-23T12:00:03Z"),
            SendResult::ServerError {
                http_status: 500,
                detail: "x".into(),
            },
        );
        assert!(matches!(d.update, SendUpdate::Expired { .. }));
        assert_eq!(d.attempt.outcome, AttemptOutcome::Expired);
    }

    #[test]
    fn a_429_waits_retry_after_without_counting_and_slows_the_workspace() {
        let d = run(
            &send(1, "2026-11-24T00:00:00Z"),
            SendResult::Throttled {
                retry_after: Some(RetryAfter::Seconds(7)),
            },
        );
        assert_eq!(
            d.workspace,
            WorkspaceEffect::SlowDown(Duration::from_secs(7))
        );
        assert!(matches!(
            d.update,
            SendUpdate::Retry { next_attempt, count_attempt: false, .. } if next_attempt == utc("2026-11-23T12:00:07Z")
        ));
    }

    #[test]
    fn a_refused_key_pauses_the_workspace_and_keeps_the_send() {
        let d = run(
            &send(0, "2026-11-24T00:00:00Z"),
            SendResult::Unauthorized {
                http_status: 401,
                error: BirdError::default(),
            },
        );
        assert_eq!(d.workspace, WorkspaceEffect::KeyRefused);
        assert!(matches!(
            d.update,
            SendUpdate::Retry {
                count_attempt: false,
                ..
            }
        ));
    }

    #[test]
    fn a_rejection_fails_at_once_keeping_birds_error() {
        let error = BirdError {
            code: "InvalidPayload".into(),
            message: "bad".into(),
            details: Some(serde_json::json!({"/body": ["x"]})),
        };
        let d = run(
            &send(0, "2026-11-24T00:00:00Z"),
            SendResult::Rejected {
                http_status: 422,
                error,
            },
        );
        let SendUpdate::Failed { code, details, .. } = d.update else {
            panic!("expected failed");
        };
        assert_eq!(code.as_deref(), Some("InvalidPayload"));
        assert!(details.is_some_and(|d| d.contains("/body")));
    }

    fn throttled(retry_after: Option<RetryAfter>, expires: &str) -> Decision {
        run(&send(0, expires), SendResult::Throttled { retry_after })
    }

    #[test]
    fn a_huge_retry_after_is_clamped_to_the_retry_maximum() {
        for huge in [10_000_000_000_000, u64::MAX] {
            let d = throttled(Some(RetryAfter::Seconds(huge)), "2026-11-24T00:00:00Z");
            assert_eq!(
                d.workspace,
                WorkspaceEffect::SlowDown(Duration::from_secs(60))
            );
            assert!(matches!(
                d.update,
                SendUpdate::Retry { next_attempt, .. } if next_attempt == utc("2026-11-23T12:01:00Z")
            ));
        }
    }

    #[test]
    fn a_retry_after_past_expiry_is_clamped_to_the_time_left() {
        let d = throttled(Some(RetryAfter::Seconds(3600)), "2026-11-23T12:00:20Z");
        assert_eq!(
            d.workspace,
            WorkspaceEffect::SlowDown(Duration::from_secs(20))
        );
    }

    #[test]
    fn a_zero_retry_after_still_waits_a_second() {
        let d = throttled(Some(RetryAfter::Seconds(0)), "2026-11-24T00:00:00Z");
        assert_eq!(
            d.workspace,
            WorkspaceEffect::SlowDown(Duration::from_secs(1))
        );
        let past = RetryAfter::At(utc("2026-11-23T11:00:00Z"));
        let d = throttled(Some(past), "2026-11-24T00:00:00Z");
        assert_eq!(
            d.workspace,
            WorkspaceEffect::SlowDown(Duration::from_secs(1))
        );
    }

    #[test]
    fn an_http_date_retry_after_waits_until_that_instant() {
        let at = RetryAfter::At(utc("2026-11-23T12:00:30Z"));
        let d = throttled(Some(at), "2026-11-24T00:00:00Z");
        assert_eq!(
            d.workspace,
            WorkspaceEffect::SlowDown(Duration::from_secs(30))
        );
    }

    #[test]
    fn a_2xx_without_a_message_id_is_sent_unconfirmed_and_counted() {
        let d = run(
            &send(0, "2026-11-24T00:00:00Z"),
            SendResult::Unconfirmed {
                http_status: 200,
                detail: "no message id".into(),
            },
        );
        assert!(matches!(
            d.update,
            SendUpdate::Sent { ref bird_status, .. } if bird_status == UNCONFIRMED
        ));
        assert_eq!(d.attempt.outcome, AttemptOutcome::Sent);
    }

    #[test]
    fn a_redirect_pauses_the_workspace_naming_the_location_and_keeps_the_send() {
        let d = run(
            &send(0, "2026-11-24T00:00:00Z"),
            SendResult::Redirected {
                http_status: 301,
                location: Some("https://elsewhere.example/".into()),
            },
        );
        assert!(matches!(d.workspace, WorkspaceEffect::Misdirected { .. }));
        assert_eq!(d.attempt.outcome, AttemptOutcome::Redirected);
        assert!(matches!(
            d.update,
            SendUpdate::Retry { count_attempt: false, ref error, .. } if error.contains("https://elsewhere.example/")
        ));
    }

    fn quiet() -> QuietWindow {
        QuietWindow {
            start: chrono::NaiveTime::from_hms_opt(11, 0, 0).unwrap(),
            end: chrono::NaiveTime::from_hms_opt(13, 0, 0).unwrap(),
            tz: chrono_tz::Tz::UTC,
        }
    }

    #[test]
    fn a_retry_that_falls_inside_quiet_hours_waits_for_their_end() {
        let q = quiet();
        let d = decide(
            &send(0, "2026-11-24T00:00:00Z"),
            SendResult::ServerError {
                http_status: 500,
                detail: "x".into(),
            },
            utc(NOW),
            utc(NOW),
            &retry(),
            0.5,
            Some(&q),
        );
        assert!(matches!(
            d.update,
            SendUpdate::Retry { next_attempt, .. } if next_attempt == utc("2026-11-23T13:00:00Z")
        ));
    }

    #[test]
    fn a_quiet_hours_deferral_past_expiry_ends_expired_naming_quiet_hours() {
        let q = quiet();
        let d = decide(
            &send(0, "2026-11-23T12:30:00Z"),
            SendResult::ServerError {
                http_status: 500,
                detail: "x".into(),
            },
            utc(NOW),
            utc(NOW),
            &retry(),
            0.5,
            Some(&q),
        );
        let SendUpdate::Expired { reason, .. } = d.update else {
            panic!("expected expired, got {:?}", d.update);
        };
        assert!(reason.contains("quiet hours (11:00–13:00 UTC)"), "{reason}");
    }
}
