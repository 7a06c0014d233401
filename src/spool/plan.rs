//! From a validated job to the rows intake commits: the job and its first send(s).
//!
//! Pure: intake time and config come in. A one-shot job gets one send, due at once when
//! its time is past or within the immediate window (Bird's rule), else at its time. A cron
//! job gets only its next occurrence; the following one is materialised when that one
//! ends. Expiry is the later of the time asked for and intake, plus validity.

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::job::{Job, Schedule, payload};
use crate::schedule;
use crate::store::{JobKind, NewJob, NewSend};

/// The rows to commit for `job`, taken in from `source_name` at `now`.
pub fn plan_job(job: &Job, source_name: &str, now: DateTime<Utc>, config: &Config) -> NewJob {
    let (kind, cron, timezone, until, sends) = match &job.schedule {
        Schedule::Once { requested } => {
            let occurrence = requested.unwrap_or(now);
            let due = schedule::first_due(*requested, now, config.schedule.immediate_window);
            let expires = schedule::expiry(*requested, now, job.validity);
            let due = after_quiet_hours(job, due, expires, config);
            (
                JobKind::Once,
                None,
                None,
                None,
                vec![new_send(job, occurrence, due, expires)],
            )
        }
        Schedule::Cron {
            pattern,
            timezone,
            until,
        } => {
            let next = schedule::parse_cron(pattern)
                .ok()
                .and_then(|c| schedule::next_occurrence(&c, *timezone, now, *until));
            let sends = next
                .map(|t| {
                    let expires = schedule::expiry(Some(t), now, job.validity);
                    new_send(job, t, after_quiet_hours(job, t, expires, config), expires)
                })
                .into_iter()
                .collect();
            (
                JobKind::Cron,
                Some(pattern.clone()),
                Some(timezone.name().to_owned()),
                *until,
                sends,
            )
        }
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

/// `due` moved to the end of quiet hours when it falls inside them, unless the job ignores
/// them or the end is past `expires` (then dispatch ends the send `expired`, naming quiet
/// hours, when it comes due).
pub fn after_quiet_hours(
    job: &Job,
    due: DateTime<Utc>,
    expires: DateTime<Utc>,
    config: &Config,
) -> DateTime<Utc> {
    if job.ignore_quiet_hours {
        return due;
    }
    match crate::quiet::window_for(config, &job.channel) {
        Some(w) if w.defer(due) < expires => w.defer(due),
        _ => due,
    }
}

/// One send of `job` for the occurrence asked for at `occurrence`.
pub fn new_send(
    job: &Job,
    occurrence: DateTime<Utc>,
    due: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> NewSend {
    NewSend {
        occurrence,
        due,
        expires,
        payload: payload::body_without_validity(job, occurrence).to_string(),
        reference: payload::reference_for(job, occurrence),
    }
}
