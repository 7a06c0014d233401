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
