//! The instants and spans msgspool can store, and checked arithmetic that stays inside them.
//!
//! The database keeps instants as `YYYY-MM-DDTHH:MM:SS.mmmZ` (CHECK constraints), so only
//! years 0000 to 9999 UTC fit. Every instant computed from a job, the config, the CLI or the
//! clock goes through these functions: they never panic, and they answer `None` (or clamp,
//! where a clamp is the documented meaning) instead of producing an instant the store
//! would refuse at commit.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// The earliest storable instant: 0000-01-01T00:00:00.000Z.
pub fn min_storable() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(0, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(DateTime::<Utc>::MIN_UTC, |t| t.and_utc())
}

/// The latest storable instant: 9999-12-31T23:59:59.999Z.
pub fn max_storable() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_milli_opt(23, 59, 59, 999))
        .map_or(DateTime::<Utc>::MAX_UTC, |t| t.and_utc())
}

/// True when the database can hold `t`.
pub fn is_storable(t: DateTime<Utc>) -> bool {
    (min_storable()..=max_storable()).contains(&t)
}

/// `t + d`, or `None` when it overflows or lands outside the storable years.
pub fn add(t: DateTime<Utc>, d: Duration) -> Option<DateTime<Utc>> {
    let delta = TimeDelta::from_std(d).ok()?;
    t.checked_add_signed(delta).filter(|t| is_storable(*t))
}

/// `t + d`, clamped to the latest storable instant (for "valid until" bounds, where later
/// than year 9999 means the same as 9999).
pub fn add_clamped(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    add(t, d).unwrap_or_else(max_storable)
}

/// `t - d`, or `None` when it overflows or lands outside the storable years.
pub fn sub(t: DateTime<Utc>, d: Duration) -> Option<DateTime<Utc>> {
    let delta = TimeDelta::from_std(d).ok()?;
    t.checked_sub_signed(delta).filter(|t| is_storable(*t))
}

/// The message for an instant outside the storable years, naming what to write instead.
pub fn unstorable_message(text: &str) -> String {
    format!(
        "{text} is outside the years 0000 to 9999 (UTC) that msgspool can store; pick a time within them"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_storable_range_is_year_0000_to_9999() {
        assert_eq!(
            crate::timefmt::utc_text(min_storable()),
            "0000-01-01T00:00:00.000Z"
        );
        assert_eq!(
            crate::timefmt::utc_text(max_storable()),
            "9999-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn adding_past_year_9999_is_none_and_never_panics() {
        let t = max_storable();
        assert_eq!(add(t, Duration::from_millis(1)), None);
        assert_eq!(add(t, Duration::MAX), None);
        assert_eq!(add_clamped(t, Duration::MAX), max_storable());
        assert_eq!(sub(min_storable(), Duration::from_secs(1)), None);
        assert_eq!(add(t, Duration::ZERO), Some(t));
    }
}
