//! Durations as people write them in msgspool's config: one whole number and one unit,
//! `500ms`, `90s`, `10m`, `36h`, `35d` (and `0s`).
//!
//! Owns the text form of a [`Duration`]: [`parse_duration`], [`format_duration`] and
//! [`ConfigDuration`], a newtype that deserializes from such a string. Trusts nothing about
//! its input; guarantees that every duration it accepts fits a [`Duration`] (no overflow)
//! and that any whole number of milliseconds survives `format` then `parse` unchanged.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// The units accepted, largest first, with their length in milliseconds.
const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Why a duration text was refused; the message says which forms are accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error(
        "invalid duration `{0}`: write one whole number followed by a unit, \
         ms, s, m, h or d (e.g. 500ms, 90s, 10m, 36h, 35d)"
    )]
    Malformed(String),
    #[error("duration `{0}` is too large")]
    TooLarge(String),
}

/// Parses `500ms`, `90s`, `10m`, `36h`, `35d` or `0s`: digits, then one unit, nothing else.
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let malformed = || DurationError::Malformed(s.to_owned());
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(digits_end);
    if number.is_empty() {
        return Err(malformed());
    }
    let unit_ms = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|&(_, ms)| ms)
        .ok_or_else(malformed)?;
    let too_large = || DurationError::TooLarge(s.to_owned());
    // Only digits are left, so the only way `parse` fails is a number past u64::MAX.
    let n: u64 = number.parse().map_err(|_| too_large())?;
    let ms = n.checked_mul(unit_ms).ok_or_else(too_large)?;
    Ok(Duration::from_millis(ms))
}

/// Writes a duration in the largest unit that divides it exactly (`90s`, `36h`, `0s`).
///
/// A duration that is not a whole number of milliseconds cannot be written in the config
/// form; it is shown in Rust's debug form (`1.5µs`) instead.
pub fn format_duration(d: Duration) -> String {
    if !d.subsec_nanos().is_multiple_of(1_000_000) {
        return format!("{d:?}");
    }
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    for (name, unit_ms) in UNITS {
        let unit_ms = u128::from(unit_ms);
        if ms.is_multiple_of(unit_ms) {
            return format!("{}{name}", ms / unit_ms);
        }
    }
    // Unreachable: every whole number of milliseconds is divisible by 1 ms.
    format!("{ms}ms")
}

/// A [`Duration`] that deserializes from the config form (`"90s"`), so config fields can be
/// typed rather than parsed by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ConfigDuration(pub Duration);

impl From<ConfigDuration> for Duration {
    fn from(d: ConfigDuration) -> Duration {
        d.0
    }
}

impl fmt::Display for ConfigDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;

        impl Visitor<'_> for DurationVisitor {
            type Value = ConfigDuration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a duration string such as \"500ms\", \"90s\", \"10m\", \"36h\" or \"35d\"",
                )
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<ConfigDuration, E> {
                parse_duration(s).map(ConfigDuration).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(DurationVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_parses_to_its_length() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("36h"), Ok(Duration::from_secs(129_600)));
        assert_eq!(parse_duration("35d"), Ok(Duration::from_secs(35 * 86_400)));
    }

    #[test]
    fn zero_is_a_valid_duration_in_any_unit() {
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0ms"), Ok(Duration::ZERO));
    }

    #[test]
    fn text_that_is_not_one_number_and_one_unit_is_refused() {
        for bad in [
            "", "s", "10", "10x", "1.5h", "-5s", "+5s", "10 s", " 10s", "10s ", "1h30m", "10S",
            "10sec", "١٠s",
        ] {
            assert_eq!(
                parse_duration(bad),
                Err(DurationError::Malformed(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_error_message_names_the_text_and_the_accepted_forms() {
        let msg = parse_duration("10x").unwrap_err().to_string();
        assert!(msg.contains("`10x`"), "{msg}");
        assert!(msg.contains("ms, s, m, h or d"), "{msg}");
        assert!(msg.contains("90s"), "{msg}");
    }

    #[test]
    fn a_duration_that_overflows_is_too_large() {
        let huge = format!("{}d", u64::MAX / 1000);
        assert_eq!(
            parse_duration(&huge),
            Err(DurationError::TooLarge(huge.clone()))
        );
        let past_u64 = "99999999999999999999999s";
        assert!(matches!(
            parse_duration(past_u64),
            Err(DurationError::TooLarge(_))
        ));
    }

    #[test]
    fn formatting_uses_the_largest_exact_unit() {
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_secs(600)), "10m");
        assert_eq!(format_duration(Duration::from_secs(129_600)), "36h");
        assert_eq!(format_duration(Duration::from_secs(35 * 86_400)), "35d");
    }

    #[test]
    fn a_sub_millisecond_duration_is_formatted_in_debug_form() {
        assert_eq!(format_duration(Duration::from_nanos(1500)), "1.5µs");
    }

    #[test]
    fn formatted_durations_parse_back_to_the_same_value() {
        for ms in [
            0,
            1,
            999,
            1000,
            60_000,
            90_000,
            3_600_000,
            86_400_000,
            123_456_789,
        ] {
            let d = Duration::from_millis(ms);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }

    #[derive(Debug, serde::Deserialize)]
    struct Holder {
        wait: ConfigDuration,
    }

    #[test]
    fn a_config_duration_deserializes_from_a_toml_string() {
        let h: Holder = toml::from_str(r#"wait = "10m""#).unwrap();
        assert_eq!(h.wait, ConfigDuration(Duration::from_secs(600)));
        assert_eq!(h.wait.to_string(), "10m");
    }

    #[test]
    fn a_bad_config_duration_fails_with_the_accepted_forms() {
        let err = toml::from_str::<Holder>(r#"wait = "10 minutes""#).unwrap_err();
        assert!(err.message().contains("ms, s, m, h or d"), "{err}");
        assert!(err.span().is_some());
    }

    #[test]
    fn a_config_duration_refuses_a_number() {
        let err = toml::from_str::<Holder>("wait = 10").unwrap_err();
        assert!(err.message().contains("a duration string"), "{err}");
    }
}
