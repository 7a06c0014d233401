//! Cron occurrences in a job's time zone: parsing a pattern, the next occurrence, and
//! which occurrence follows a finished one after downtime.
//!
//! Owns: the only calls into `croner`. Trusts: callers to pass the clock in.
//! Guarantees: pure; an occurrence past `until` or not storable never comes. `croner`
//! fires a fixed-time job once at the first instant after a spring-forward gap and once
//! in a fall-back overlap.

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
        // An occurrence the database cannot hold never comes.
        _ if !crate::bounds::is_storable(next) => None,
        _ => Some(next),
    }
}

/// What follows a finished occurrence of a recurring job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatchUp {
    /// The occurrence to materialise next: the latest missed one still within validity
    /// (sent late), else the first one after `now`; `None` when the schedule has ended.
    pub next: Option<DateTime<Utc>>,
    /// Occurrences passed over: how many, the first and the last.
    pub skipped: Option<(u64, DateTime<Utc>, DateTime<Utc>)>,
}

/// The most occurrences [`catch_up`] walks through (a per-second job down for 11 days).
const MAX_WALK: u64 = 1_000_000;

/// After the occurrence `after` of `cron` is done: which one comes next at `now`. Of the
/// occurrences missed (due at or before `now`), only the latest one still within
/// `validity` is kept; the others are skipped.
pub fn catch_up(
    cron: &Cron,
    tz: Tz,
    until: Option<DateTime<Utc>>,
    after: DateTime<Utc>,
    now: DateTime<Utc>,
    validity: Duration,
) -> CatchUp {
    let mut missed: u64 = 0;
    let mut first_missed = None;
    let mut latest_missed = None;
    let mut cursor = after;
    let future = loop {
        match next_occurrence(cron, tz, cursor, until) {
            Some(t) if t <= now && missed < MAX_WALK => {
                missed += 1;
                first_missed.get_or_insert(t);
                latest_missed = Some(t);
                cursor = t;
            }
            Some(t) if t <= now => break next_occurrence(cron, tz, now, until),
            other => break other,
        }
    };
    let Some(latest) = latest_missed else {
        return CatchUp {
            next: future,
            skipped: None,
        };
    };
    let first = first_missed.unwrap_or(latest);
    if crate::bounds::add_clamped(latest, validity) > now {
        let skipped = (missed > 1).then(|| {
            let before_latest = previous_of(cron, tz, latest).unwrap_or(first);
            (missed - 1, first, before_latest)
        });
        CatchUp {
            next: Some(latest),
            skipped,
        }
    } else {
        CatchUp {
            next: future,
            skipped: Some((missed, first, latest)),
        }
    }
}

fn previous_of(cron: &Cron, tz: Tz, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.find_previous_occurrence(&t.with_timezone(&tz), false)
        .ok()
        .map(|p| p.with_timezone(&Utc))
}

#[cfg(test)]
mod tests;
