//! Recurring (`cron`) jobs in dispatch: only one occurrence is materialised at a time, and
//! the next one is added when it ends (sent, failed or expired).
//!
//! The job's stored source text is parsed again with the current config, so the next
//! occurrence's payload is built exactly as intake builds it. After downtime, only the
//! latest missed occurrence still within validity is sent (late); the others are recorded
//! as one `skipped` event. A claimed send that a later occurrence has overtaken is not
//! sent: it ends `expired` as skipped. Uniqueness of (job, occurrence) in the store means
//! a restart, even inside a repeated DST hour, cannot add an occurrence twice.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;

use crate::config::Config;
use crate::job::{self, Job, JobContext, Schedule};
use crate::schedule::{self, CatchUp};
use crate::spool::plan;
use crate::store::{ClaimedSend, Store};

/// A recurring job as dispatch needs it.
pub struct Recurrence {
    job: Job,
    cron: Cron,
    tz: Tz,
    until: Option<DateTime<Utc>>,
}

impl Recurrence {
    /// Loads and parses the job of `send`; `None` for one-shot, canceled or unknown jobs.
    pub async fn load(
        store: &Store,
        config: &Config,
        send: &ClaimedSend,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        if !send.recurring {
            return None;
        }
        let (state, name, text) = match store.job_source(&send.job_id).await {
            Ok(Some(found)) => found,
            Ok(None) => return None,
            Err(e) => {
                tracing::error!(job = %send.job_id, error = %e, "cannot read a recurring job");
                return None;
            }
        };
        if state == "canceled" {
            return None;
        }
        let ctx = JobContext { config, now };
        let job = match job::parse(&name, &send.job_id, &text, &ctx) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(job = %send.job_id, error = %e, "a recurring job no longer passes the rules with the current config; no further occurrences");
                return None;
            }
        };
        let Schedule::Cron {
            pattern,
            timezone,
            until,
        } = &job.schedule
        else {
            return None;
        };
        let cron = schedule::parse_cron(pattern).ok()?;
        Some(Self {
            tz: *timezone,
            until: *until,
            cron,
            job,
        })
    }

    fn catch_up(&self, after: DateTime<Utc>, now: DateTime<Utc>) -> CatchUp {
        schedule::catch_up(
            &self.cron,
            self.tz,
            self.until,
            after,
            now,
            self.job.validity,
        )
    }

    /// True when an occurrence after `send`'s is already due: `send` was overtaken
    /// (the daemon was down) and must not go out.
    pub fn overtaken(&self, send: &ClaimedSend, now: DateTime<Utc>) -> bool {
        schedule::next_occurrence(&self.cron, self.tz, send.occurrence, self.until)
            .is_some_and(|next| next <= now)
    }

    /// Adds the occurrence that follows `send`'s, after catching up on missed ones.
    pub async fn follow_up(
        &self,
        store: &Store,
        config: &Config,
        send: &ClaimedSend,
        now: DateTime<Utc>,
    ) {
        let cu = self.catch_up(send.occurrence, now);
        let skipped = cu.skipped.map(|(n, first, last)| {
            format!(
                "skipped {n} occurrence(s) from {} to {} (missed while msgspool was not running or busy)",
                crate::timefmt::utc_text(first),
                crate::timefmt::utc_text(last)
            )
        });
        let Some(next) = cu.next else {
            if let Some(detail) = &skipped {
                let _ = store
                    .record_event("skipped", Some(&send.job_id), detail, now)
                    .await;
            }
            tracing::info!(job = %send.job_id, "recurring job has no further occurrences");
            return;
        };
        let expires = crate::bounds::add_clamped(next, self.job.validity);
        let due = plan::after_quiet_hours(&self.job, next.max(now), expires, config);
        let new = plan::new_send(&self.job, next, due, expires);
        match store.add_occurrence(&send.job_id, new, skipped, now).await {
            Ok(true) => {
                tracing::info!(job = %send.job_id, next = %crate::timefmt::utc_text(next), "next occurrence scheduled")
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!(job = %send.job_id, error = %e, "cannot schedule the next occurrence")
            }
        }
    }
}
