//! Quiet hours: a daily local-time window in which nothing is sent.
//!
//! Pure: instants come in, instants go out. The window is wall-clock time in an IANA zone,
//! may cross midnight (`21:00`–`08:00`), and is half-open: the start is quiet, the end is
//! not. When the end falls into a spring-forward gap, quiet hours end at the first instant
//! after the gap; when it falls into a fall-back overlap, at its first occurrence.

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
        let end = self.instant_at(date, self.end);
        // A gap can make the computed end fall before `t`; the window then ended already.
        if end > t { end } else { t }
    }

    /// The first instant at which the wall clock of `date` in the zone shows `time` or,
    /// inside a spring-forward gap, the first instant after the gap.
    fn instant_at(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let naive = date.and_time(time);
        for minutes in 0..=24 * 60 {
            match self
                .tz
                .from_local_datetime(&(naive + Duration::minutes(minutes)))
            {
                LocalResult::Single(t) => return t.with_timezone(&Utc),
                LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
                LocalResult::None => continue,
            }
        }
        // No zone has a day-long gap; treat the naive time as UTC rather than fail.
        Utc.from_utc_datetime(&naive)
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
