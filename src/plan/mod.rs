//! When a job's sends are due, until when they are worth sending, and whether quiet hours
//! move them: the one place that computes a due time.
//!
//! Owns: first due (Bird's immediate window), expiry, quiet-hours deferral (and the one
//! decision whether quiet hours apply to a job, [`quiet_window`]), the next occurrence of a
//! cron job and downtime catch-up ([`follow_up`]), and `check --next` ([`Timing::upcoming`]).
//! Trusts: its callers for the clock (`now` is always passed in) and for a schedule that
//! passed the job rules. Guarantees: pure (no I/O, no clock), so DST changes and clock
//! steps are unit tested with fixed times; intake, dispatch and `check` get the same
//! answer for the same job, config and instant. Imports only `quiet`, `config`, `bounds`.

pub mod cron;

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::config::Config;
use crate::quiet::QuietWindow;
pub use cron::{CatchUp, catch_up, next_occurrence, parse_cron};

/// When a job sends.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// One send, at `scheduledFor` when given (subject to the immediate window).
    Once { requested: Option<DateTime<Utc>> },
    /// One send per occurrence of a cron pattern (boxed: a parsed pattern is large).
    Cron(Box<CronSchedule>),
}

/// A parsed cron pattern in its time zone, parsed once when the job is parsed.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    pub cron: ::croner::Cron,
    pub timezone: Tz,
    pub until: Option<DateTime<Utc>>,
}

impl CronSchedule {
    /// The pattern as written in the job file (what the database keeps).
    pub fn pattern(&self) -> &str {
        self.cron.as_str()
    }

    /// The first occurrence strictly after `after`, unless past `until`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        next_occurrence(&self.cron, self.timezone, after, self.until)
    }

    /// True when an occurrence after `occurrence` is already due at `now`: a send for
    /// `occurrence` was overtaken (msgspool was down) and must not go out.
    pub fn overtaken(&self, occurrence: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        self.next_after(occurrence).is_some_and(|next| next <= now)
    }
}

/// One send's times: the occurrence asked for, when it is due, when it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    pub occurrence: DateTime<Utc>,
    pub due: DateTime<Utc>,
    pub expires: DateTime<Utc>,
}

/// The quiet hours that apply to a job on `channel`: none when the job ignores them
/// (`ignoreQuietHours = true`) or the channel has none. The one place deciding this.
pub fn quiet_window(
    config: &Config,
    channel: &str,
    ignore_quiet_hours: bool,
) -> Option<QuietWindow> {
    if ignore_quiet_hours {
        return None;
    }
    crate::quiet::window_for(config, channel)
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
    match requested {
        Some(t) if t > crate::bounds::add_clamped(intake, immediate_window) => t,
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
    // The rules keep validity storable; clamping is the backstop for a stale config.
    crate::bounds::add_clamped(start, validity)
}

/// `due` moved to the end of `quiet` hours when it falls inside them, unless that end is
/// past `expires` (then dispatch ends the send `expired`, naming quiet hours, when it
/// comes due).
pub fn after_quiet_hours(
    due: DateTime<Utc>,
    expires: DateTime<Utc>,
    quiet: Option<&QuietWindow>,
) -> DateTime<Utc> {
    match quiet {
        Some(w) if w.defer(due) < expires => w.defer(due),
        _ => due,
    }
}

/// When a try planned for `next` may go: `next`, or the end of `quiet` hours when `next`
/// falls inside them (whether that is before expiry is the caller's outcome to record).
pub fn retry_time(next: DateTime<Utc>, quiet: Option<&QuietWindow>) -> DateTime<Utc> {
    quiet.map_or(next, |q| q.defer(next))
}

/// A job's timing as planning needs it.
#[derive(Debug, Clone, Copy)]
pub struct Timing<'a> {
    pub schedule: &'a Schedule,
    pub validity: Duration,
    /// From [`quiet_window`].
    pub quiet: Option<QuietWindow>,
}

impl Timing<'_> {
    /// The send intake creates at `now`: a one-shot job's only send, or a cron job's next
    /// occurrence (`None` when the schedule has none).
    pub fn first(&self, now: DateTime<Utc>, immediate_window: Duration) -> Option<Planned> {
        let (occurrence, due, requested) = match self.schedule {
            Schedule::Once { requested } => (
                requested.unwrap_or(now),
                first_due(*requested, now, immediate_window),
                *requested,
            ),
            Schedule::Cron(c) => {
                let t = c.next_after(now)?;
                (t, t, Some(t))
            }
        };
        let expires = expiry(requested, now, self.validity);
        Some(Planned {
            occurrence,
            due: after_quiet_hours(due, expires, self.quiet.as_ref()),
            expires,
        })
    }

    /// The next `n` instants the job's sends fall due, counting from `now` as intake time,
    /// deferred by quiet hours under the same "only if before expiry" rule as intake.
    pub fn upcoming(
        &self,
        now: DateTime<Utc>,
        immediate_window: Duration,
        n: usize,
    ) -> Vec<DateTime<Utc>> {
        let Schedule::Cron(c) = self.schedule else {
            return self
                .first(now, immediate_window)
                .map(|p| p.due)
                .into_iter()
                .take(n)
                .collect();
        };
        let mut out = Vec::with_capacity(n.min(1024));
        let mut after = now;
        while out.len() < n {
            let Some(t) = c.next_after(after) else { break };
            let expires = expiry(Some(t), now, self.validity);
            out.push(after_quiet_hours(t, expires, self.quiet.as_ref()));
            after = t;
        }
        out
    }
}

/// What follows a finished occurrence of a cron job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    /// The next send; `None` when the schedule has ended.
    pub next: Option<Planned>,
    /// Occurrences passed over: how many, the first and the last.
    pub skipped: Option<(u64, DateTime<Utc>, DateTime<Utc>)>,
}

/// After the occurrence `after` of `cron` is done, at `now`: the next send (the latest
/// missed occurrence still within `validity`, sent late, else the first one after `now`),
/// deferred by `quiet` hours when they end before it expires.
pub fn follow_up(
    cron: &CronSchedule,
    validity: Duration,
    quiet: Option<&QuietWindow>,
    after: DateTime<Utc>,
    now: DateTime<Utc>,
) -> FollowUp {
    let cu = catch_up(&cron.cron, cron.timezone, cron.until, after, now, validity);
    let next = cu.next.map(|occurrence| {
        let expires = crate::bounds::add_clamped(occurrence, validity);
        Planned {
            occurrence,
            due: after_quiet_hours(occurrence.max(now), expires, quiet),
            expires,
        }
    });
    FollowUp {
        next,
        skipped: cu.skipped,
    }
}

#[cfg(test)]
mod tests;
