use super::*;
use chrono::TimeZone;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn a_daily_job_inside_the_spring_forward_gap_fires_once_after_the_gap() {
    let cron = parse_cron("30 2 * * *").unwrap();
    let tz: Tz = "Europe/Amsterdam".parse().unwrap();
    let mut t = utc("2026-03-28T12:00:00Z");
    let mut got = Vec::new();
    for _ in 0..3 {
        t = next_occurrence(&cron, tz, t, None).unwrap();
        got.push(crate::timefmt::utc_text(t));
    }
    assert_eq!(
        got,
        [
            "2026-03-29T01:00:00.000Z",
            "2026-03-30T00:30:00.000Z",
            "2026-03-31T00:30:00.000Z"
        ]
    );
}

#[test]
fn a_pattern_with_the_wrong_number_of_fields_is_refused() {
    assert!(parse_cron("* * * *").unwrap_err().contains("4 fields"));
    assert!(parse_cron("*/2 * * * * *").is_ok());
    assert!(parse_cron("0 9 * * 1-5").is_ok());
    assert!(parse_cron("0 0 9 * * 1 2026").is_err());
}

#[test]
fn occurrences_after_until_are_not_returned() {
    let cron = parse_cron("0 9 * * *").unwrap();
    let until = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    assert_eq!(
        next_occurrence(&cron, Tz::UTC, utc("2026-01-01T10:00:00Z"), Some(until)),
        None
    );
}

fn amsterdam() -> Tz {
    "Europe/Amsterdam".parse().unwrap()
}

fn walk(cron: &Cron, tz: Tz, from: &str, to: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut t = utc(from);
    while let Some(n) = next_occurrence(cron, tz, t, Some(utc(to))) {
        out.push(crate::timefmt::utc_text(n));
        t = n;
        assert!(out.len() < 1000, "bounded");
    }
    out
}

#[test]
fn an_every_30_minutes_job_sends_in_both_repeated_hours_in_order() {
    // 25 October 2026: 03:00 CEST falls back to 02:00 CET; 02:00-03:00 happens twice.
    let cron = parse_cron("*/30 * * * *").unwrap();
    let got = walk(
        &cron,
        amsterdam(),
        "2026-10-24T23:45:00Z",
        "2026-10-25T02:00:00Z",
    );
    assert_eq!(
        got,
        [
            "2026-10-25T00:00:00.000Z", // 02:00 CEST
            "2026-10-25T00:30:00.000Z", // 02:30 CEST
            "2026-10-25T01:00:00.000Z", // 02:00 CET (the repeat)
            "2026-10-25T01:30:00.000Z", // 02:30 CET
            "2026-10-25T02:00:00.000Z", // 03:00 CET
        ]
    );
}

#[test]
fn a_fixed_time_job_sends_once_in_the_fall_back() {
    let cron = parse_cron("30 2 * * *").unwrap();
    let got = walk(
        &cron,
        amsterdam(),
        "2026-10-24T12:00:00Z",
        "2026-10-26T12:00:00Z",
    );
    assert_eq!(
        got,
        ["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"]
    );
}

#[test]
fn a_southern_hemisphere_spring_forward_gap_fires_once_after_the_gap() {
    // Sydney, 4 October 2026: 02:00 AEST jumps to 03:00 AEDT. 02:30 does not exist.
    let cron = parse_cron("30 2 * * *").unwrap();
    let tz: Tz = "Australia/Sydney".parse().unwrap();
    let got = walk(&cron, tz, "2026-10-03T00:00:00Z", "2026-10-05T00:00:00Z");
    // 03:00 AEDT = 16:00 UTC on 3 October; next day 02:30 AEDT = 15:30 UTC.
    assert_eq!(
        got,
        ["2026-10-03T16:00:00.000Z", "2026-10-04T15:30:00.000Z"]
    );
}

#[test]
fn a_restart_during_the_repeated_hour_finds_only_occurrences_after_the_last_one() {
    // The daemon stopped after sending 02:30 CEST and restarts at 02:10 CET: the next
    // occurrence after the one sent is 02:30 CET; 02:00 and 02:30 CEST are not repeated.
    let cron = parse_cron("*/30 * * * *").unwrap();
    let last_sent = utc("2026-10-25T00:30:00Z");
    let next = next_occurrence(&cron, amsterdam(), last_sent, None).unwrap();
    assert_eq!(next, utc("2026-10-25T01:00:00Z"));
    assert!(next > last_sent);
}

#[test]
fn after_downtime_only_the_latest_missed_occurrence_within_validity_is_sent() {
    let cron = parse_cron("0 * * * *").unwrap();
    let last = utc("2026-11-23T08:00:00Z");
    // Down from 08:00 to 12:20: 09, 10, 11 and 12 were missed; 12:00 is 20 min old.
    let cu = catch_up(
        &cron,
        Tz::UTC,
        None,
        last,
        utc("2026-11-23T12:20:00Z"),
        Duration::from_secs(3600),
    );
    assert_eq!(cu.next, Some(utc("2026-11-23T12:00:00Z")));
    assert_eq!(
        cu.skipped,
        Some((3, utc("2026-11-23T09:00:00Z"), utc("2026-11-23T11:00:00Z")))
    );
}

#[test]
fn after_downtime_longer_than_validity_every_missed_occurrence_is_skipped() {
    let cron = parse_cron("0 * * * *").unwrap();
    let cu = catch_up(
        &cron,
        Tz::UTC,
        None,
        utc("2026-11-23T08:00:00Z"),
        utc("2026-11-23T12:20:00Z"),
        Duration::from_secs(600),
    );
    assert_eq!(cu.next, Some(utc("2026-11-23T13:00:00Z")));
    assert_eq!(
        cu.skipped,
        Some((4, utc("2026-11-23T09:00:00Z"), utc("2026-11-23T12:00:00Z")))
    );
}

#[test]
fn without_downtime_the_next_occurrence_follows_and_nothing_is_skipped() {
    let cron = parse_cron("0 * * * *").unwrap();
    let cu = catch_up(
        &cron,
        Tz::UTC,
        None,
        utc("2026-11-23T08:00:00Z"),
        utc("2026-11-23T08:00:01Z"),
        Duration::from_secs(600),
    );
    assert_eq!(
        cu,
        CatchUp {
            next: Some(utc("2026-11-23T09:00:00Z")),
            skipped: None
        }
    );
}

#[test]
fn a_schedule_past_until_has_no_next_occurrence() {
    let cron = parse_cron("0 * * * *").unwrap();
    let until = Some(utc("2026-11-23T08:30:00Z"));
    let cu = catch_up(
        &cron,
        Tz::UTC,
        until,
        utc("2026-11-23T08:00:00Z"),
        utc("2026-11-23T08:01:00Z"),
        Duration::from_secs(60),
    );
    assert_eq!(cu.next, None);
}
