use std::path::Path;

use super::*;
use chrono::NaiveTime;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// 21:00 to 08:00 in UTC.
fn night() -> QuietWindow {
    QuietWindow {
        start: NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
        end: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
        tz: Tz::UTC,
    }
}

fn hourly(until: Option<DateTime<Utc>>) -> Schedule {
    Schedule::Cron(Box::new(CronSchedule {
        cron: parse_cron("0 * * * *").unwrap(),
        timezone: Tz::UTC,
        until,
    }))
}

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn a_time_within_the_immediate_window_is_due_at_intake() {
    let now = utc("2026-11-23T12:00:00Z");
    let ten = Duration::from_secs(600);
    assert_eq!(first_due(Some(utc("2026-11-23T12:09:59Z")), now, ten), now);
    assert_eq!(first_due(Some(utc("2026-11-20T00:00:00Z")), now, ten), now);
    assert_eq!(first_due(None, now, ten), now);
    let later = utc("2026-11-23T12:10:01Z");
    assert_eq!(first_due(Some(later), now, ten), later);
}

#[test]
fn with_a_zero_window_a_time_two_seconds_ahead_is_held() {
    let now = utc("2026-11-23T12:00:00Z");
    let t = utc("2026-11-23T12:00:02Z");
    assert_eq!(first_due(Some(t), now, Duration::ZERO), t);
}

#[test]
fn expiry_counts_from_the_later_of_requested_and_intake() {
    let now = utc("2026-11-23T12:00:00Z");
    let v = Duration::from_secs(600);
    assert_eq!(expiry(None, now, v), utc("2026-11-23T12:10:00Z"));
    assert_eq!(
        expiry(Some(utc("2026-11-23T11:00:00Z")), now, v),
        utc("2026-11-23T12:10:00Z")
    );
    assert_eq!(
        expiry(Some(utc("2026-11-24T00:00:00Z")), now, v),
        utc("2026-11-24T00:10:00Z")
    );
}

#[test]
fn a_job_that_ignores_quiet_hours_gets_no_window_and_others_get_their_channels() {
    let config = Config::parse(
        "[channels.wa]\nid = \"c1\"\n[quiet_hours]\nstart = \"21:00\"\nend = \"08:00\"\n",
        Path::new("config.toml"),
    )
    .unwrap();
    assert!(quiet_window(&config, "wa", false).is_some());
    assert_eq!(quiet_window(&config, "wa", true), None);
    assert_eq!(quiet_window(&config, "gone", false), None);
}

#[test]
fn a_due_time_in_quiet_hours_moves_to_their_end_only_when_that_is_before_expiry() {
    let due = utc("2026-12-01T23:00:00Z");
    let morning = utc("2026-12-02T08:00:00Z");
    let q = night();
    assert_eq!(
        after_quiet_hours(due, utc("2026-12-02T09:00:00Z"), Some(&q)),
        morning
    );
    assert_eq!(after_quiet_hours(due, morning, Some(&q)), due);
    assert_eq!(
        after_quiet_hours(due, utc("2026-12-03T00:00:00Z"), None),
        due
    );
}

#[test]
fn a_one_shot_job_is_planned_at_its_time_with_validity_from_it() {
    let requested = utc("2026-12-01T12:00:00Z");
    let schedule = Schedule::Once {
        requested: Some(requested),
    };
    let timing = Timing {
        schedule: &schedule,
        validity: HOUR,
        quiet: Some(night()),
    };
    let now = utc("2026-12-01T10:00:00Z");
    assert_eq!(
        timing.first(now, Duration::from_secs(600)),
        Some(Planned {
            occurrence: requested,
            due: requested,
            expires: utc("2026-12-01T13:00:00Z")
        })
    );
}

#[test]
fn a_cron_job_is_planned_at_its_next_occurrence_and_none_when_past_until() {
    let now = utc("2026-12-01T10:30:00Z");
    let schedule = hourly(None);
    let timing = Timing {
        schedule: &schedule,
        validity: HOUR,
        quiet: None,
    };
    let first = timing.first(now, Duration::ZERO).unwrap();
    assert_eq!(first.occurrence, utc("2026-12-01T11:00:00Z"));
    assert_eq!(first.due, first.occurrence);
    assert_eq!(first.expires, utc("2026-12-01T12:00:00Z"));
    let ended = hourly(Some(utc("2026-12-01T10:45:00Z")));
    let timing = Timing {
        schedule: &ended,
        ..timing
    };
    assert_eq!(timing.first(now, Duration::ZERO), None);
}

#[test]
fn upcoming_defers_into_the_morning_only_the_occurrences_still_valid_then() {
    let now = utc("2026-12-01T19:30:00Z");
    let schedule = hourly(None);
    let text = |t: &Timing| -> Vec<String> {
        t.upcoming(now, Duration::ZERO, 4)
            .into_iter()
            .map(crate::timefmt::utc_text)
            .collect()
    };
    // Validity 10 h: 21:00 expires at 07:00 and 22:00 at 08:00, before quiet hours end,
    // so they stay (and expire, as intake plans them); 23:00 is still valid at 08:00.
    let ten = Timing {
        schedule: &schedule,
        validity: Duration::from_secs(10 * 3600),
        quiet: Some(night()),
    };
    assert_eq!(
        text(&ten),
        [
            "2026-12-01T20:00:00.000Z",
            "2026-12-01T21:00:00.000Z",
            "2026-12-01T22:00:00.000Z",
            "2026-12-02T08:00:00.000Z"
        ]
    );
    let twelve = Timing {
        validity: Duration::from_secs(12 * 3600),
        ..ten
    };
    assert_eq!(
        text(&twelve),
        [
            "2026-12-01T20:00:00.000Z",
            "2026-12-02T08:00:00.000Z",
            "2026-12-02T08:00:00.000Z",
            "2026-12-02T08:00:00.000Z"
        ]
    );
}

#[test]
fn upcoming_for_a_one_shot_job_is_its_intake_due_time() {
    let schedule = Schedule::Once { requested: None };
    let timing = Timing {
        schedule: &schedule,
        validity: HOUR,
        quiet: None,
    };
    let now = utc("2026-12-01T12:00:00Z");
    assert_eq!(timing.upcoming(now, Duration::ZERO, 3), vec![now]);
    assert!(timing.upcoming(now, Duration::ZERO, 0).is_empty());
}

#[test]
fn the_follow_up_after_downtime_is_the_latest_missed_occurrence_sent_now() {
    let Schedule::Cron(cron) = hourly(None) else {
        unreachable!()
    };
    let now = utc("2026-12-01T12:20:00Z");
    let f = follow_up(&cron, HOUR, None, utc("2026-12-01T08:00:00Z"), now);
    let twelve = utc("2026-12-01T12:00:00Z");
    assert_eq!(
        f.next,
        Some(Planned {
            occurrence: twelve,
            due: now,
            expires: utc("2026-12-01T13:00:00Z")
        })
    );
    assert_eq!(f.skipped.map(|s| s.0), Some(3));
}

#[test]
fn a_follow_up_inside_quiet_hours_waits_for_their_end_when_still_valid() {
    let Schedule::Cron(cron) = hourly(None) else {
        unreachable!()
    };
    let now = utc("2026-12-01T21:00:01Z");
    let long = follow_up(
        &cron,
        Duration::from_secs(12 * 3600),
        Some(&night()),
        utc("2026-12-01T21:00:00Z"),
        now,
    );
    assert_eq!(long.next.map(|p| p.due), Some(utc("2026-12-02T08:00:00Z")));
    let short = follow_up(
        &cron,
        HOUR,
        Some(&night()),
        utc("2026-12-01T21:00:00Z"),
        now,
    );
    assert_eq!(short.next.map(|p| p.due), Some(utc("2026-12-01T22:00:00Z")));
}

#[test]
fn a_send_is_overtaken_once_a_later_occurrence_is_due() {
    let Schedule::Cron(cron) = hourly(None) else {
        unreachable!()
    };
    let occurrence = utc("2026-12-01T10:00:00Z");
    assert!(!cron.overtaken(occurrence, utc("2026-12-01T10:59:59Z")));
    assert!(cron.overtaken(occurrence, utc("2026-12-01T11:00:00Z")));
    assert_eq!(cron.pattern(), "0 * * * *");
}

#[test]
fn a_retry_inside_quiet_hours_waits_for_their_end_and_one_outside_keeps_its_time() {
    let q = night();
    assert_eq!(
        retry_time(utc("2026-12-01T22:00:00Z"), Some(&q)),
        utc("2026-12-02T08:00:00Z")
    );
    let noon = utc("2026-12-01T12:00:00Z");
    assert_eq!(retry_time(noon, Some(&q)), noon);
    assert_eq!(
        retry_time(utc("2026-12-01T22:00:00Z"), None),
        utc("2026-12-01T22:00:00Z")
    );
}
