//! From a validated job to the rows intake commits: the job and its first send(s).
//!
//! Owns: the shape of the rows only; every time in them comes from [`crate::plan`]
//! (intake time and config passed in). A one-shot job gets one send; a cron job gets only
//! its next occurrence, and the following one is materialised when that one ends.

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::job::{Job, Schedule, payload};
use crate::store::{JobKind, NewJob, NewSend};

/// The rows to commit for `job`, taken in from `source_name` at `now`.
pub fn plan_job(job: &Job, source_name: &str, now: DateTime<Utc>, config: &Config) -> NewJob {
    let sends: Vec<NewSend> = job
        .timing(config)
        .first(now, config.schedule.immediate_window)
        .map(|planned| payload::new_send(job, planned))
        .into_iter()
        .collect();
    let (kind, cron, timezone, until) = match &job.schedule {
        Schedule::Once { .. } => (JobKind::Once, None, None, None),
        Schedule::Cron(c) => (
            JobKind::Cron,
            Some(c.pattern().to_owned()),
            Some(c.timezone.name().to_owned()),
            c.until,
        ),
    };
    NewJob {
        id: job.id.clone(),
        channel: job.channel.clone(),
        kind,
        cron,
        timezone,
        until,
        source_name: source_name.to_owned(),
        source_text: job.source_text.clone(),
        sha256: job.sha256.clone(),
        sends,
    }
}
