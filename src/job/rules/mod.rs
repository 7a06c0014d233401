//! Every local rule a job file must pass before msgspool accepts it.
//!
//! Bird's JSON Schema cannot express all of Bird's and WhatsApp's rules (empty arrays where
//! one item is needed, WhatsApp's button and list limits, the 35-day limit, ...); Bird
//! enforces them when the message is sent, which for a scheduled job may be weeks after the
//! file was dropped. So msgspool checks them at intake. Each rule reports a [`Problem`]
//! naming the field path and saying what to do; the caller maps paths to lines. Rules are
//! pure: the current time comes in through [`RuleContext`]. All problems are collected,
//! not just the first, so one `check` run shows everything to fix.

mod body;
mod options;
mod receiver;
mod schedule;
mod tags;
mod template;
#[cfg(test)]
mod tests;

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};

use super::locate::FieldPath;
use super::model::{JobFile, TimeText};

/// One broken rule: where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: FieldPath,
    pub message: String,
}

/// What the rules need to know besides the file.
#[derive(Debug, Clone, Copy)]
pub struct RuleContext {
    pub now: DateTime<Utc>,
    /// A one-shot `scheduledFor` later than `now + max_ahead` is refused (Bird: 35 days).
    pub max_ahead: Duration,
    /// The zone of cron jobs that name none (the config's `timezone`).
    pub timezone: chrono_tz::Tz,
}

/// Collects problems with a shared path prefix.
pub(crate) struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn add(&mut self, path: FieldPath, message: impl Into<String>) {
        self.0.push(Problem {
            path,
            message: message.into(),
        });
    }
}

pub use receiver::is_e164;
pub use tags::{MAX_TAGS, warnings};

/// Checks every rule and returns all problems found (empty when the file is valid).
pub fn check(file: &JobFile, ctx: &RuleContext) -> Vec<Problem> {
    let mut p = Problems(Vec::new());
    let root = FieldPath::root();
    check_id(file, &mut p);
    check_content_choice(file, &mut p);
    receiver::check(file, &mut p);
    check_schedule_keys(file, ctx, &mut p);
    tags::check(file, &mut p);
    options::check_cap_frequency(file, &mut p);
    options::check_short_links(file, &mut p);
    options::check_reply_to(file, &mut p);
    check_validity(file, ctx, &mut p);
    if let Some(b) = &file.body {
        body::check(b, &root.key("body"), &mut p);
    }
    if let Some(t) = &file.template {
        template::check(t, &root.key("template"), &mut p);
    }
    p.0
}

/// The job id rule: `[A-Za-z0-9._-]{1,128}`.
pub fn is_valid_job_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn check_id(file: &JobFile, p: &mut Problems) {
    if let Some(id) = &file.id
        && !is_valid_job_id(id)
    {
        p.add(
                FieldPath::root().key("id"),
                format!(
                    "job id {id:?} is not valid: use 1 to 128 characters of letters, digits, '.', '_' and '-'"
                ),
            );
    }
}

fn check_content_choice(file: &JobFile, p: &mut Problems) {
    match (&file.body, &file.template) {
        (Some(_), Some(_)) => p.add(
            FieldPath::root().key("template"),
            "`body` and `template` cannot both be set: a template send carries no body; remove one of them",
        ),
        (None, None) => p.add(
            FieldPath::root(),
            "one of `body` or `template` is required: add a [body] table (type = \"text\", ...) or a [template] table",
        ),
        _ => {}
    }
}

/// `validity`: whole seconds >= 0, and small enough that every send's expiry is storable.
fn check_validity(file: &JobFile, ctx: &RuleContext, p: &mut Problems) {
    let Some(v) = file.validity else { return };
    let path = FieldPath::root().key("validity");
    let Ok(secs) = u64::try_from(v) else {
        p.add(
            path,
            format!("validity must be whole seconds >= 0, found {v}"),
        );
        return;
    };
    // Expiry counts from the later of the time asked for and intake.
    let start = file
        .scheduled_for
        .as_ref()
        .and_then(|t| parse_rfc3339(t).ok())
        .map_or(ctx.now, |t| t.with_timezone(&Utc).max(ctx.now));
    if crate::bounds::add(start, Duration::from_secs(secs)).is_none() {
        p.add(
            path,
            format!(
                "validity {v} s runs past the year 9999, which msgspool cannot store; give a validity in seconds that ends before then (36 h is 129600)"
            ),
        );
    }
}

/// Parses an RFC 3339 timestamp that carries its own offset.
pub fn parse_rfc3339(t: &TimeText) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(&t.0).map_err(|e| {
        format!(
            "{:?} is not an RFC 3339 timestamp with an offset ({e}); write it like \"2026-12-01T09:00:00+01:00\" or \"2026-12-01T08:00:00Z\"",
            t.0
        )
    })
}

fn check_schedule_keys(file: &JobFile, ctx: &RuleContext, p: &mut Problems) {
    let root = FieldPath::root();
    if let Some(at) = &file.scheduled_for {
        match parse_rfc3339(at) {
            Err(e) => p.add(root.key("scheduledFor"), e),
            Ok(t) if !crate::bounds::is_storable(t.with_timezone(&Utc)) => {
                p.add(
                    root.key("scheduledFor"),
                    crate::bounds::unstorable_message(&at.0),
                );
            }
            Ok(t) if file.cron.is_none() => {
                let limit = crate::bounds::add_clamped(ctx.now, ctx.max_ahead);
                if t.with_timezone(&Utc) > limit {
                    p.add(
                        root.key("scheduledFor"),
                        format!(
                            "{} is more than {} after now ({}): Bird refuses messages scheduled that far ahead; pick an earlier time or use `cron`",
                            at.0,
                            crate::duration::format_duration(ctx.max_ahead),
                            crate::timefmt::utc_text(ctx.now)
                        ),
                    );
                }
            }
            Ok(_) => {}
        }
    }
    if let Some(expr) = &file.cron {
        if file.scheduled_for.is_some() {
            p.add(
                root.key("cron"),
                "`cron` and `scheduledFor` exclude each other: a recurring job has no single time; remove one",
            );
        }
        match crate::plan::parse_cron(expr) {
            Err(e) => p.add(root.key("cron"), e),
            Ok(cron) => schedule::check_fires(file, &cron, ctx, p),
        }
    } else {
        for key in ["timezone", "until"] {
            let given = if key == "timezone" {
                file.timezone.is_some()
            } else {
                file.until.is_some()
            };
            if given {
                p.add(
                    root.key(key),
                    format!("`{key}` applies only to `cron` jobs: add `cron` or remove `{key}`"),
                );
            }
        }
    }
    if let Some(tz) = &file.timezone
        && tz.parse::<chrono_tz::Tz>().is_err()
    {
        p.add(
            root.key("timezone"),
            format!("{tz:?} is not an IANA time zone name; write it like \"Europe/Amsterdam\""),
        );
    }
    if let Some(until) = &file.until {
        match parse_rfc3339(until) {
            Err(e) => p.add(root.key("until"), e),
            Ok(t) if !crate::bounds::is_storable(t.with_timezone(&Utc)) => {
                p.add(
                    root.key("until"),
                    crate::bounds::unstorable_message(&until.0),
                );
            }
            Ok(_) => {}
        }
    }
}
