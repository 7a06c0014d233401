//! The one text form of an instant that msgspool writes: UTC, millisecond precision,
//! `YYYY-MM-DDTHH:MM:SS.sssZ`. It sorts as text and SQLite's date functions read it.

use chrono::{DateTime, SecondsFormat, Utc};

/// Formats an instant the way the database and the CLI show it.
pub fn utc_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses a timestamp written by [`utc_text`] (or any RFC 3339 text) back to UTC.
pub fn parse_utc_text(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn utc_text_has_milliseconds_and_a_z_suffix() {
        let t = Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap();
        assert_eq!(utc_text(t), "2026-03-29T01:00:00.000Z");
        assert_eq!(parse_utc_text(&utc_text(t)), Some(t));
    }
}
