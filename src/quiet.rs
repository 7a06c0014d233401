//! Quiet hours: a daily local-time window in which nothing is sent.
//!
//! Pure: instants come in, instants go out. The window is wall-clock time in an IANA zone,
//! may cross midnight (`21:00`–`08:00`), and is half-open: the start is quiet, the end is
//! not. When the end falls into a spring-forward gap, quiet hours end at the first instant
//! after the gap; when it falls into a fall-back overlap, at its first occurrence, or, for
//! an instant in the repeated hour after that, at its second. Guarantee: the end given
//! for an instant inside the window is later than it and outside the window itself, so
//! dispatch never defers a send to an instant that is still quiet.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::config::{Config, QuietHours};

/// The quiet hours that apply to sends through `channel` (by config name), if any.
pub fn window_for(config: &Config, channel: &str) -> Option<QuietWindow> {
    let channel = config.channels.get(channel)?;
    config
        .quiet_hours_for(channel)
        .map(|h| QuietWindow::new(h, config.timezone))
}

/// Quiet hours with the zone they are read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietWindow {
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub tz: Tz,
}

impl QuietWindow {
    pub fn new(hours: QuietHours, tz: Tz) -> Self {
        Self {
            start: hours.start,
            end: hours.end,
            tz,
        }
    }

    /// True when `t` falls inside quiet hours.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        let local = t.with_timezone(&self.tz).time();
        if self.start < self.end {
            self.start <= local && local < self.end
        } else {
            local >= self.start || local < self.end
        }
    }

    /// `t` itself when it is outside quiet hours, else the instant they end.
    pub fn defer(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        if !self.contains(t) {
            return t;
        }
        let local = t.with_timezone(&self.tz);
        let mut date = local.date_naive();
        // In a window that crosses midnight, the evening part ends tomorrow morning.
        if self.start > self.end && local.time() >= self.start {
            date = date.succ_opt().unwrap_or(date);
        }
        // The end's instants on that day and the next (two of one in a repeated hour):
        // the first one after `t` that is outside the window.
        let next = date.succ_opt().unwrap_or(date);
        let found = [date, next]
            .into_iter()
            .flat_map(|d| self.instants_at(d, self.end))
            .filter(|&end| end > t && !self.contains(end))
            .min();
        found.unwrap_or_else(|| self.first_outside_after(t))
    }

    /// The instants at which the wall clock of `date` in the zone shows `time` (both, in a
    /// fall-back overlap) or, inside a spring-forward gap, the first instant after the gap.
    fn instants_at(&self, date: NaiveDate, time: NaiveTime) -> Vec<DateTime<Utc>> {
        let naive = date.and_time(time);
        for minutes in 0..=24 * 60 {
            let Some(shifted) = naive.checked_add_signed(Duration::minutes(minutes)) else {
                break;
            };
            match self.tz.from_local_datetime(&shifted) {
                LocalResult::Single(t) => return vec![t.with_timezone(&Utc)],
                LocalResult::Ambiguous(first, second) => {
                    return vec![first.with_timezone(&Utc), second.with_timezone(&Utc)];
                }
                LocalResult::None => continue,
            }
        }
        // No zone has a day-long gap; treat the naive time as UTC rather than fail.
        vec![Utc.from_utc_datetime(&naive)]
    }

    /// A last resort that cannot be wrong: the first whole minute after `t` outside the
    /// window, looking two days ahead (a window is at most a day long).
    fn first_outside_after(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        (1..=2 * 24 * 60)
            .filter_map(|m| t.checked_add_signed(Duration::minutes(m)))
            .find(|&at| !self.contains(at))
            .unwrap_or(t)
    }

    /// Describes the window for messages: `21:00–08:00 Europe/Amsterdam`.
    pub fn describe(&self) -> String {
        format!(
            "{}–{} {}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M"),
            self.tz.name()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_the_repeated_fall_back_hour_the_end_is_outside_the_window_and_deferring_again_stays() {
        // 25 October 2026 in Amsterdam: 03:00 CEST falls back to 02:00 CET.
        let w = window("22:00", "02:30", "Europe/Amsterdam");
        // 02:10 CET, the second pass through 02:10 (the first 02:30 already went by).
        let t = utc("2026-10-25T01:10:00Z");
        assert!(w.contains(t));
        let end = w.defer(t);
        assert_eq!(end, utc("2026-10-25T01:30:00Z"), "the second 02:30");
        assert!(!w.contains(end));
        assert_eq!(w.defer(end), end, "one deferral, no loop");
        // The first pass still ends at the first 02:30.
        assert_eq!(
            w.defer(utc("2026-10-25T00:10:00Z")),
            utc("2026-10-25T00:30:00Z")
        );
    }

    /// Every day of 2026, every 10 minutes, four zones on both hemispheres and a
    /// half-hour offset, windows ending in and around the DST hours: the end given for an
    /// instant inside the window is later and never inside the window.
    #[test]
    fn over_every_day_of_2026_the_end_of_quiet_hours_is_never_inside_them() {
        let zones = [
            "Europe/Amsterdam",
            "Australia/Sydney",
            "America/New_York",
            "Asia/Kolkata",
        ];
        let windows = [
            ("22:00", "02:30"),
            ("21:00", "08:00"),
            ("01:00", "03:00"),
            ("02:15", "02:45"),
            ("00:00", "02:00"),
            ("02:00", "03:00"),
            ("13:00", "14:00"),
        ];
        let start = utc("2026-01-01T00:00:00Z");
        let steps = 365 * 24 * 6;
        for zone in zones {
            for (from, to) in windows {
                let w = window(from, to, zone);
                for step in 0..steps {
                    let t = start + Duration::minutes(10 * step);
                    let end = w.defer(t);
                    if w.contains(t) {
                        assert!(end > t, "{zone} {from}–{to} at {t}: end {end} not later");
                        assert!(
                            !w.contains(end),
                            "{zone} {from}–{to} at {t}: end {end} is inside the window"
                        );
                        assert!(
                            end - t <= Duration::hours(26),
                            "{zone} {from}–{to} at {t}: end {end}"
                        );
                    } else {
                        assert_eq!(end, t);
                    }
                }
            }
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn window(start: &str, end: &str, tz: &str) -> QuietWindow {
        QuietWindow {
            start: NaiveTime::parse_from_str(start, "%H:%M").unwrap(),
            end: NaiveTime::parse_from_str(end, "%H:%M").unwrap(),
            tz: tz.parse().unwrap(),
        }
    }

    #[test]
    fn a_send_at_23_local_moves_to_08_local_the_next_morning() {
        let w = window("21:00", "08:00", "Europe/Amsterdam");
        // 23:00 in Amsterdam on 1 December is 22:00 UTC; 08:00 the next day is 07:00 UTC.
        assert_eq!(
            w.defer(utc("2026-12-01T22:00:00Z")),
            utc("2026-12-02T07:00:00Z")
        );
        // Just after midnight: the same morning.
        assert_eq!(
            w.defer(utc("2026-12-01T23:30:00Z")),
            utc("2026-12-02T07:00:00Z")
        );
    }

    #[test]
    fn the_window_is_half_open() {
        let w = window("21:00", "08:00", "UTC");
        assert!(w.contains(utc("2026-12-01T21:00:00Z")));
        assert!(!w.contains(utc("2026-12-01T08:00:00Z")));
        assert!(!w.contains(utc("2026-12-01T20:59:59Z")));
        assert_eq!(
            w.defer(utc("2026-12-01T12:00:00Z")),
            utc("2026-12-01T12:00:00Z")
        );
    }

    #[test]
    fn a_window_within_one_day_works_too() {
        let w = window("12:00", "13:30", "UTC");
        assert_eq!(
            w.defer(utc("2026-12-01T12:15:00Z")),
            utc("2026-12-01T13:30:00Z")
        );
        assert!(!w.contains(utc("2026-12-01T11:59:00Z")));
    }

    #[test]
    fn quiet_hours_ending_inside_a_spring_forward_gap_end_after_the_gap() {
        // 29 March 2026, Amsterdam: 02:00 jumps to 03:00. Quiet hours end at 02:30.
        let w = window("22:00", "02:30", "Europe/Amsterdam");
        // 01:30 local (CET) = 00:30 UTC; the gap ends at 03:00 CEST = 01:00 UTC.
        assert_eq!(
            w.defer(utc("2026-03-29T00:30:00Z")),
            utc("2026-03-29T01:00:00Z")
        );
    }

    #[test]
    fn quiet_hours_ending_in_a_fall_back_overlap_end_at_its_first_occurrence() {
        // 25 October 2026, Amsterdam: 03:00 CEST falls back to 02:00 CET. End at 02:30.
        let w = window("22:00", "02:30", "Europe/Amsterdam");
        // 02:30 CEST = 00:30 UTC.
        assert_eq!(
            w.defer(utc("2026-10-24T23:00:00Z")),
            utc("2026-10-25T00:30:00Z")
        );
    }

    #[test]
    fn southern_hemisphere_zones_use_their_own_offsets() {
        // Sydney in December is UTC+11: 23:00 local = 12:00 UTC; 07:00 local = 20:00 UTC.
        let w = window("22:00", "07:00", "Australia/Sydney");
        assert_eq!(
            w.defer(utc("2026-12-01T12:00:00Z")),
            utc("2026-12-01T20:00:00Z")
        );
    }
}
