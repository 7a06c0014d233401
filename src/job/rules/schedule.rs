//! The rule that a `cron` job can fire at all: an `until` in the past, or a pattern with no
//! occurrence before `until` (or within a year), would be stored as finished with no sends,
//! so it is an error the producer sees instead.

use std::time::Duration;

use chrono::Utc;
use croner::Cron;

use super::{Problems, RuleContext, parse_rfc3339};
use crate::job::locate::FieldPath;
use crate::job::model::JobFile;

/// How far ahead a cron without `until` must have an occurrence.
const HORIZON: Duration = Duration::from_secs(366 * 86_400);

pub(super) fn check_fires(file: &JobFile, cron: &Cron, ctx: &RuleContext, p: &mut Problems) {
    let tz = file
        .timezone
        .as_deref()
        .and_then(|z| z.parse().ok())
        .unwrap_or(ctx.timezone);
    let until = match file.until.as_ref().map(parse_rfc3339) {
        // A bad `until` is reported by its own rule.
        Some(Err(_)) => return,
        Some(Ok(t)) => Some(t.with_timezone(&Utc)),
        None => None,
    };
    if let (Some(end), Some(text)) = (until, &file.until)
        && end <= ctx.now
    {
        p.add(
            FieldPath::root().key("until"),
            format!(
                "until {} is in the past (now is {}): the job would never send; give a later `until` or remove it",
                text.0,
                crate::timefmt::utc_text(ctx.now)
            ),
        );
        return;
    }
    let horizon = until.unwrap_or_else(|| crate::bounds::add_clamped(ctx.now, HORIZON));
    let next = crate::plan::next_occurrence(cron, tz, ctx.now, Some(horizon));
    if next.is_none() {
        let pattern = file.cron.as_deref().unwrap_or_default();
        let within = match &file.until {
            Some(t) => format!("before until {}", t.0),
            None => "within a year".to_owned(),
        };
        p.add(
            FieldPath::root().key("cron"),
            format!(
                "cron {pattern:?} never fires {within} (in {tz}): the job would never send; fix the pattern (day and month must exist together, e.g. not 30 February)"
            ),
        );
    }
}
