//! Job files: from TOML text to a validated [`Job`], or to diagnostics people can act on.
//!
//! Parsing happens in two stages (STYLE.md): serde turns the text into the raw
//! [`model::JobFile`] (types and unknown keys), then [`rules`] checks every local rule and
//! this module resolves the channel, the schedule and the validity into a [`Job`] that
//! nothing downstream re-checks. Errors come out compiler-style, `FILE:LINE:COL: error:
//! FIELD: MESSAGE`, with the line found by [`locate`]. [`payload`] turns a `Job` into the
//! JSON body Bird receives.

pub mod diagnostic;
pub mod locate;
pub mod model;
pub mod payload;
pub mod rules;

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};

use crate::config::{ChannelKind, Config};
pub use crate::plan::{CronSchedule, Schedule};
use diagnostic::LineIndex;
pub use diagnostic::{Diagnostic, JobErrors, Severity};
use locate::{FieldPath, SourceMap};
use model::JobFile;
use rules::RuleContext;

/// A job file that passed every rule.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    /// The config's name of the channel the job sends through.
    pub channel: String,
    pub channel_kind: ChannelKind,
    pub schedule: Schedule,
    /// How long each send stays worth sending (the job's `validity`, else the channel
    /// kind's default).
    pub validity: Duration,
    pub ignore_quiet_hours: bool,
    /// The parsed file; serialising it gives Bird's fields (see [`payload`]).
    pub file: JobFile,
    pub source_text: String,
    pub sha256: String,
    /// Problems that do not refuse the file (duplicate tags, dropped from the payload).
    pub warnings: Vec<Diagnostic>,
}

/// What parsing needs besides the text.
pub struct JobContext<'a> {
    pub config: &'a Config,
    pub now: DateTime<Utc>,
}

/// Parses and validates a job file. `label` names the file in messages; `default_id` is
/// the file name without `.toml`, used when the file sets no `id`.
pub fn parse(
    label: &str,
    default_id: &str,
    text: &str,
    ctx: &JobContext,
) -> Result<Job, JobErrors> {
    // The span-keeping second parse is only needed to place problems: valid files skip it.
    let map_cell = std::cell::OnceCell::new();
    let map = || map_cell.get_or_init(|| SourceMap::new(text));
    let index = LineIndex::new(text);
    // Offsets first, lines later: only the problems shown are located (see `located`).
    let place = |path: &FieldPath, offset: Option<usize>| {
        offset.or_else(|| map().span_of(path).map(|s| s.start))
    };
    let located = |found: Vec<(Option<usize>, String, String)>, severity: Severity| {
        let mut found = found;
        found.sort_by_key(|(o, _, _)| o.unwrap_or(0));
        let total = found.len();
        let out: Vec<Diagnostic> = found
            .into_iter()
            .take(diagnostic::MAX_SHOWN + 1)
            .map(|(offset, field, message)| {
                let (line, col) = offset.map_or((1, 1), |o| index.line_col(o));
                Diagnostic {
                    file: label.to_owned(),
                    line,
                    col,
                    field,
                    message,
                    severity,
                }
            })
            .collect();
        (out, total)
    };
    let file: JobFile = match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            let offset = e.span().map(|s| s.start);
            let path = offset.map(|o| map().path_at(o)).unwrap_or_default();
            let message = e.message().trim().replace('\n', " ");
            let found = vec![(place(&path, offset), path.to_string(), message)];
            let (shown, total) = located(found, Severity::Error);
            return Err(JobErrors::capped(shown, total, label));
        }
    };
    let rule_ctx = RuleContext {
        now: ctx.now,
        max_ahead: ctx.config.schedule.max_ahead,
        timezone: ctx.config.timezone,
    };
    let mut problems = rules::check(&file, &rule_ctx);
    let id = file.id.clone().unwrap_or_else(|| default_id.to_owned());
    if file.id.is_none() && !rules::is_valid_job_id(&id) {
        problems.push(rules::Problem {
            path: FieldPath::root(),
            message: format!(
                "the file name gives job id {id:?}, which is not valid: set `id` (1 to 128 of letters, digits, '.', '_', '-') or rename the file"
            ),
        });
    }
    let channel = match ctx.config.channel(file.channel.as_deref()) {
        Ok(c) => Some(c),
        Err(e) => {
            let path = if file.channel.is_some() {
                FieldPath::root().key("channel")
            } else {
                FieldPath::root()
            };
            problems.push(rules::Problem {
                path,
                message: e.to_string(),
            });
            None
        }
    };
    let to_found = |problems: Vec<rules::Problem>| -> Vec<(Option<usize>, String, String)> {
        problems
            .into_iter()
            .map(|p| (place(&p.path, None), p.path.to_string(), p.message))
            .collect()
    };
    let (Some(channel), true) = (channel, problems.is_empty()) else {
        let (shown, total) = located(to_found(problems), Severity::Error);
        return Err(JobErrors::capped(shown, total, label));
    };
    let (warnings, _) = located(to_found(rules::warnings(&file)), Severity::Warning);
    let schedule = match schedule_of(&file, ctx.config.timezone) {
        Ok(s) => s,
        // The rules parsed the pattern already; this only keeps a bug from panicking.
        Err(message) => {
            let problem = vec![(None, "cron".to_owned(), message)];
            let (shown, total) = located(problem, Severity::Error);
            return Err(JobErrors::capped(shown, total, label));
        }
    };
    let validity = file
        .validity
        .and_then(|v| u64::try_from(v).ok())
        .map_or(channel.kind.default_validity(), Duration::from_secs);
    Ok(Job {
        id,
        channel: channel.name.clone(),
        channel_kind: channel.kind,
        schedule,
        validity,
        ignore_quiet_hours: file.ignore_quiet_hours == Some(true),
        sha256: sha256_hex(text),
        source_text: text.to_owned(),
        file,
        warnings,
    })
}

/// The schedule of a file that passed the rules (so its times parse); a cron pattern is
/// parsed here, once, and kept parsed.
fn schedule_of(file: &JobFile, default_tz: Tz) -> Result<Schedule, String> {
    let utc = |t: &model::TimeText| rules::parse_rfc3339(t).ok().map(|t| t.with_timezone(&Utc));
    Ok(match &file.cron {
        Some(pattern) => Schedule::Cron(Box::new(CronSchedule {
            cron: crate::plan::parse_cron(pattern)?,
            timezone: file
                .timezone
                .as_deref()
                .and_then(|z| z.parse().ok())
                .unwrap_or(default_tz),
            until: file.until.as_ref().and_then(utc),
        })),
        None => Schedule::Once {
            requested: file.scheduled_for.as_ref().and_then(utc),
        },
    })
}

impl Job {
    /// The job's timing under `config`: its schedule, validity and the quiet hours that
    /// apply to it (decided by [`crate::plan::quiet_window`]).
    pub fn timing(&self, config: &Config) -> crate::plan::Timing<'_> {
        crate::plan::Timing {
            schedule: &self.schedule,
            validity: self.validity,
            quiet: crate::plan::quiet_window(config, &self.channel, self.ignore_quiet_hours),
        }
    }
}

/// Lower-case hex SHA-256 of the file's text: re-dropping identical content is a no-op.
pub fn sha256_hex(text: &str) -> String {
    // Two table look-ups per byte: `write!("{byte:02x}")` cost more than the hash itself.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(64);
    for byte in Sha256::digest(text.as_bytes()) {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_hash_is_sha256_in_lower_case_hex() {
        // FIPS 180-2's example: `printf abc | sha256sum`.
        assert_eq!(
            super::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
