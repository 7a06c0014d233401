//! When a job's sends are due: Bird's immediate window for one-shot jobs and cron
//! occurrences in the job's time zone.
//!
//! Pure functions over instants passed in; nothing here reads the clock, so DST changes and
//! clock steps are unit tested with fixed times. Cron patterns are evaluated by `croner`,
//! which fires a fixed-time job once at the first instant after a spring-forward gap and
//! once in a fall-back overlap.

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// Parses a 5-field (minute resolution) or 6-field (with seconds) cron pattern.
pub fn parse_cron(expr: &str) -> Result<Cron, String> {
    let fields = expr.split_whitespace().count();
    if !(expr.trim_start().starts_with('@') || fields == 5 || fields == 6) {
        return Err(format!(
            "cron {expr:?} has {fields} fields: write 5 (minute hour day month weekday) or 6 (second first)"
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build()
        .parse(expr)
        .map_err(|e| format!("cron {expr:?} is not a valid pattern: {e}"))
}

/// The due time of a one-shot send asked for at `requested` and taken in at `intake`.
///
/// Bird's rule: a time in the past or within `immediate_window` of intake is sent at once;
/// a later one is held until that instant.
pub fn first_due(
    requested: Option<DateTime<Utc>>,
    intake: DateTime<Utc>,
    immediate_window: Duration,
) -> DateTime<Utc> {
    let window = chrono::Duration::from_std(immediate_window).unwrap_or(chrono::Duration::MAX);
    match requested {
        Some(t) if t > intake + window => t,
        _ => intake,
    }
}

/// When a send stops being worth sending: validity counted from the later of the time
/// asked for and the intake time.
pub fn expiry(
    requested: Option<DateTime<Utc>>,
    intake: DateTime<Utc>,
    validity: Duration,
) -> DateTime<Utc> {
    let start = requested.map_or(intake, |t| t.max(intake));
    start + chrono::Duration::from_std(validity).unwrap_or(chrono::Duration::MAX)
}

/// The first occurrence of `cron` in `tz` strictly after `after`, unless past `until`.
pub fn next_occurrence(
    cron: &Cron,
    tz: Tz,
    after: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let local = after.with_timezone(&tz);
    let next = cron.find_next_occurrence(&local, false).ok()?;
    let next = next.with_timezone(&Utc);
    match until {
        Some(end) if next > end => None,
        _ => Some(next),
    }
}

/// The next `n` instants a job's sends fall due, counting from `now` as intake time.
pub fn upcoming(
    schedule: &crate::job::Schedule,
    now: DateTime<Utc>,
    immediate_window: Duration,
    n: usize,
) -> Vec<DateTime<Utc>> {
    match schedule {
        crate::job::Schedule::Once { requested } => {
            vec![first_due(*requested, now, immediate_window)]
                .into_iter()
                .take(n)
                .collect()
        }
        crate::job::Schedule::Cron {
            pattern,
            timezone,
            until,
        } => {
            let Ok(cron) = parse_cron(pattern) else {
                return Vec::new();
            };
            let mut out = Vec::with_capacity(n);
            let mut after = now;
            while out.len() < n {
                match next_occurrence(&cron, *timezone, after, *until) {
                    Some(t) => {
                        out.push(t);
                        after = t;
                    }
                    None => break,
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

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
}
