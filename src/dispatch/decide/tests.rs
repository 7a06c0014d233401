use std::path::Path;

use super::*;
use chrono_tz::Tz;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Channel `wa` (id c1) with quiet hours 21:00 to 08:00 UTC.
fn config() -> Config {
    Config::parse(
        "timezone = \"UTC\"\n[channels.wa]\nid = \"c1\"\n[quiet_hours]\nstart = \"21:00\"\nend = \"08:00\"\n",
        Path::new("config.toml"),
    )
    .unwrap()
}

/// A send of occurrence 12:00, claimed at [`NOON`], valid until 13:00.
fn send() -> ClaimedSend {
    ClaimedSend {
        send_id: 7,
        job_id: "j".into(),
        channel: "wa".into(),
        payload: r#"{"body":{"type":"text"}}"#.into(),
        reference: "r".into(),
        due: utc(NOON),
        occurrence: utc(NOON),
        recurring: false,
        ignore_quiet_hours: false,
        expires: utc("2026-12-01T13:00:00Z"),
        attempts: 0,
        reconcile_from: None,
    }
}

const NOON: &str = "2026-12-01T12:00:00Z";

fn hourly() -> CronSchedule {
    CronSchedule {
        cron: crate::plan::parse_cron("0 * * * *").unwrap(),
        timezone: Tz::UTC,
        until: None,
    }
}

fn decide(send: &ClaimedSend, recheck: Recheck, now: &str) -> Before {
    before_request(send, &recheck, None, &config(), utc(now))
}

#[test]
fn a_valid_send_outside_quiet_hours_is_posted_with_the_seconds_left_as_validity() {
    let got = decide(&send(), Recheck::Sending, "2026-12-01T12:10:00Z");
    let Before::Send {
        channel_id,
        body,
        quiet,
    } = got
    else {
        panic!("not sent: {got:?}")
    };
    assert_eq!(channel_id, "c1");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["validity"], 3000);
    assert_eq!(body["body"]["type"], "text");
    assert!(quiet.is_some(), "kept for the retry of a failure");
}

#[test]
fn a_changed_state_wins_over_every_other_reason_and_records_nothing() {
    let mut gone = send();
    gone.channel = "gone".into();
    let got = decide(
        &gone,
        Recheck::Changed(Some(SendState::Canceled)),
        "2026-12-01T14:00:00Z",
    );
    assert_eq!(
        got,
        Before::Canceled {
            state: Some(SendState::Canceled)
        }
    );
    assert_eq!(got.record(utc(NOON)), None);
    assert_eq!(
        decide(&send(), Recheck::Changed(None), NOON),
        Before::Canceled { state: None }
    );
}

#[test]
fn a_recurring_send_overtaken_by_a_later_due_occurrence_ends_expired_as_skipped() {
    let now = utc("2026-12-01T12:30:00Z");
    let mut late = send();
    late.occurrence = utc("2026-12-01T11:00:00Z");
    let got = before_request(&late, &Recheck::Sending, Some(&hourly()), &config(), now);
    assert!(
        matches!(&got, Before::Overtaken { reason } if reason.starts_with("skipped")),
        "{got:?}"
    );
    let (attempt, update) = got.record(now).unwrap();
    assert_eq!(attempt.outcome, AttemptOutcome::Expired);
    assert!(matches!(update, SendUpdate::Expired { at, .. } if at == now));
    // Its own occurrence still the latest: it goes.
    let on_time = before_request(&send(), &Recheck::Sending, Some(&hourly()), &config(), now);
    assert!(matches!(on_time, Before::Send { .. }), "{on_time:?}");
}

#[test]
fn a_send_claimed_at_or_after_its_expiry_expires_naming_the_instant() {
    let got = decide(&send(), Recheck::Sending, "2026-12-01T13:00:00Z");
    assert_eq!(
        got,
        Before::Expired {
            reason: "validity ended at 2026-12-01T13:00:00.000Z before it could be sent".into()
        }
    );
    let (attempt, _) = got.record(utc(NOON)).unwrap();
    assert_eq!(attempt.outcome, AttemptOutcome::Expired);
}

#[test]
fn a_send_whose_channel_left_the_config_is_tried_again_in_a_minute_uncounted() {
    let mut s = send();
    s.channel = "old".into();
    let got = decide(&s, Recheck::Sending, NOON);
    assert!(
        matches!(&got, Before::ChannelGone { error, .. } if error.contains("\"old\"")),
        "{got:?}"
    );
    let (attempt, update) = got.record(utc(NOON)).unwrap();
    assert_eq!(attempt.outcome, AttemptOutcome::Retry);
    assert!(matches!(
        update,
        SendUpdate::Retry { next_attempt, count_attempt: false, .. } if next_attempt == utc("2026-12-01T12:01:00Z")
    ));
}

#[test]
fn a_send_claimed_inside_quiet_hours_waits_for_their_end_or_expires_before_it() {
    let mut s = send();
    s.expires = utc("2026-12-02T09:00:00Z");
    let got = decide(&s, Recheck::Sending, "2026-12-01T22:00:00Z");
    let Before::Deferred { error, update } = got else {
        panic!("{got:?}")
    };
    assert!(error.starts_with("deferred by quiet hours"), "{error}");
    assert!(
        matches!(update, SendUpdate::Retry { next_attempt, count_attempt: false, .. } if next_attempt == utc("2026-12-02T08:00:00Z"))
    );
    s.expires = utc("2026-12-02T07:00:00Z");
    let got = decide(&s, Recheck::Sending, "2026-12-01T22:00:00Z");
    assert!(
        matches!(
            got,
            Before::Deferred {
                update: SendUpdate::Expired { .. },
                ..
            }
        ),
        "{got:?}"
    );
}

#[test]
fn a_send_of_a_job_that_ignores_quiet_hours_is_posted_inside_them() {
    let mut s = send();
    s.ignore_quiet_hours = true;
    s.expires = utc("2026-12-02T09:00:00Z");
    let got = decide(&s, Recheck::Sending, "2026-12-01T22:00:00Z");
    assert!(matches!(got, Before::Send { quiet: None, .. }), "{got:?}");
}

#[test]
fn a_stored_payload_that_is_not_json_fails_the_send() {
    let mut s = send();
    s.payload = "{not json".into();
    let got = decide(&s, Recheck::Sending, NOON);
    assert!(
        matches!(&got, Before::BadPayload { message } if message.starts_with("stored payload is not JSON"))
    );
    let (attempt, update) = got.record(utc(NOON)).unwrap();
    assert_eq!(attempt.outcome, AttemptOutcome::Failed);
    assert!(matches!(update, SendUpdate::Failed { code: None, .. }));
}

#[test]
fn an_unreadable_state_is_not_posted_and_tried_again_in_a_second_unless_another_reason_ends_it() {
    let got = decide(&send(), Recheck::Unreadable("locked".into()), NOON);
    assert_eq!(
        got,
        Before::Unchecked {
            error: "state not readable before the request: locked".into()
        }
    );
    let (attempt, update) = got.record(utc(NOON)).unwrap();
    assert_eq!(attempt.outcome, AttemptOutcome::Retry);
    assert!(
        matches!(update, SendUpdate::Retry { next_attempt, count_attempt: false, .. } if next_attempt == utc("2026-12-01T12:00:01Z"))
    );
    let expired = decide(
        &send(),
        Recheck::Unreadable("locked".into()),
        "2026-12-01T13:00:00Z",
    );
    assert!(matches!(expired, Before::Expired { .. }), "{expired:?}");
}

#[test]
fn a_send_to_be_posted_records_nothing_before_its_answer() {
    let got = decide(&send(), Recheck::Sending, NOON);
    assert!(matches!(got, Before::Send { .. }));
    assert_eq!(got.record(utc(NOON)), None);
}
