//! Recurring (`cron`) jobs in dispatch: only one occurrence is materialised at a time, and
//! the next one is decided before the outcome that ends the current one is recorded, then
//! written in the same transaction ([`FollowUp`]), so no crash can end a schedule.
//!
//! A job's source is parsed once per config (kept in [`Recurrences`]), not per attempt;
//! the next occurrence's payload is built exactly as intake builds it. After downtime,
//! only the latest missed occurrence still within validity is sent (late); the others are
//! recorded as one `skipped` event. A claimed send that a later occurrence has overtaken
//! is not sent: it ends `expired` as skipped. A job that no longer passes the rules under
//! the current config is `broken` (reason in `jobs.broken_reason`, an event, a loud log),
//! never silently finished; [`review`] at start-up and after each reload breaks and mends
//! jobs and gives every active cron job without an open send its next occurrence.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::job::{self, CronSchedule, Job, JobContext, Schedule, payload};
use crate::plan;
use crate::store::{ClaimedSend, CronJob, FollowUp, JobState, Store};

/// A recurring job as dispatch needs it: parsed once, kept while the config stands.
pub struct Recurrence {
    job: Job,
    cron: CronSchedule,
}

impl Recurrence {
    /// Parses a stored cron job under `config`; `Err` says why it no longer passes.
    pub fn parse(
        config: &Config,
        id: &str,
        source_name: &str,
        source_text: &str,
        now: DateTime<Utc>,
    ) -> Result<Recurrence, String> {
        let ctx = JobContext { config, now };
        let job = job::parse(source_name, id, source_text, &ctx).map_err(|e| e.to_string())?;
        let Schedule::Cron(cron) = &job.schedule else {
            return Err("the job is no longer a cron job".to_owned());
        };
        Ok(Recurrence {
            cron: (**cron).clone(),
            job,
        })
    }

    /// The job's parsed schedule.
    pub fn schedule(&self) -> &CronSchedule {
        &self.cron
    }

    /// What follows the occurrence `after`, at `now`: the next send (after catching up
    /// on missed ones), or the end of the schedule.
    pub fn follow_up(&self, config: &Config, after: DateTime<Utc>, now: DateTime<Utc>) -> FollowUp {
        let quiet = plan::quiet_window(config, &self.job.channel, self.job.ignore_quiet_hours);
        let planned = plan::follow_up(&self.cron, self.job.validity, quiet.as_ref(), after, now);
        let skipped = planned.skipped.map(|(n, first, last)| {
            format!(
                "skipped {n} occurrence(s) from {} to {} (missed while msgspool was not running or busy)",
                crate::timefmt::utc_text(first),
                crate::timefmt::utc_text(last)
            )
        });
        match planned.next {
            Some(next) => FollowUp::Next {
                send: payload::new_send(&self.job, next),
                skipped,
            },
            None => FollowUp::End { skipped },
        }
    }
}

/// How a recurring send's job was found.
pub enum Loaded {
    Ready(Arc<Recurrence>),
    /// Not a cron job any more, or gone (canceled jobs are skipped by the store).
    Gone,
    /// It no longer passes the rules: the job is to be `broken` with this reason.
    Broken(String),
}

/// Parsed jobs by id.
type Parsed = HashMap<String, Arc<Recurrence>>;

/// Parsed recurring jobs, kept for as long as the config they were parsed under.
#[derive(Default)]
pub struct Recurrences {
    cache: Mutex<(Option<Arc<Config>>, Parsed)>,
}

impl Recurrences {
    /// The parsed job of a recurring send, parsing it only on the first call per config.
    pub async fn get(
        &self,
        store: &Store,
        config: &Arc<Config>,
        send: &ClaimedSend,
        now: DateTime<Utc>,
    ) -> Loaded {
        {
            let mut cache = super::lock(&self.cache);
            if !cache.0.as_ref().is_some_and(|c| Arc::ptr_eq(c, config)) {
                *cache = (Some(config.clone()), HashMap::new());
            }
            if let Some(rec) = cache.1.get(&send.job_id) {
                return Loaded::Ready(rec.clone());
            }
        }
        let job = match store.job_source(&send.job_id).await {
            Ok(Some(found)) => found,
            Ok(None) => return Loaded::Gone,
            Err(e) => {
                // Unknown now; the outcome is still recorded and review repairs the job.
                tracing::error!(job = %send.job_id, error = %e, "cannot read a recurring job");
                return Loaded::Gone;
            }
        };
        if job.state == JobState::Canceled {
            return Loaded::Gone;
        }
        match Recurrence::parse(
            config,
            &send.job_id,
            &job.source_name,
            &job.source_text,
            now,
        ) {
            Ok(rec) => {
                let rec = Arc::new(rec);
                super::lock(&self.cache)
                    .1
                    .insert(send.job_id.clone(), rec.clone());
                Loaded::Ready(rec)
            }
            Err(reason) => Loaded::Broken(reason),
        }
    }
}

/// Logs a job going `broken`, loudly: its schedule stops until a reload makes it valid.
pub fn log_broken(job_id: &str, reason: &str) {
    tracing::error!(job = %job_id, %reason, "a recurring job no longer passes the rules with the current config: it is now BROKEN and sends nothing until a reload (SIGHUP) makes it valid again; `msgspool show` gives the reason");
}

/// Start-up and reload: breaks cron jobs that no longer pass, mends broken ones that do,
/// and gives every active cron job without an open send its next occurrence.
pub async fn review(store: &Store, config: &Config, now: DateTime<Utc>) {
    let jobs = match store.cron_jobs().await {
        Ok(jobs) => jobs,
        Err(e) => {
            tracing::error!(error = %e, "cannot list the recurring jobs to review them");
            return;
        }
    };
    for job in jobs {
        review_one(store, config, &job, now).await;
    }
}

async fn review_one(store: &Store, config: &Config, job: &CronJob, now: DateTime<Utc>) {
    // A schedule that ended for good stays finished.
    if job.state == JobState::Finished && job.until.is_some_and(|u| u <= now) {
        return;
    }
    let rec = match Recurrence::parse(config, &job.id, &job.source_name, &job.source_text, now) {
        Ok(rec) => rec,
        Err(reason) => {
            if job.state != JobState::Broken {
                log_broken(&job.id, &reason);
                if let Err(e) = store.mark_broken(&job.id, &reason, now).await {
                    tracing::error!(job = %job.id, error = %e, "cannot mark a recurring job broken");
                }
            }
            return;
        }
    };
    if job.state == JobState::Broken {
        match store.mend(&job.id, now).await {
            Ok(_) => {
                tracing::info!(job = %job.id, "a broken recurring job passes the rules again: its schedule resumes")
            }
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "cannot mend a recurring job");
                return;
            }
        }
    }
    if job.has_open_send {
        return;
    }
    let after = job.last_occurrence.unwrap_or(now);
    match rec.follow_up(config, after, now) {
        FollowUp::Next { send, skipped } => {
            let next = crate::timefmt::utc_text(send.occurrence);
            match store.add_occurrence(&job.id, send, skipped, now).await {
                Ok(true) => {
                    tracing::warn!(job = %job.id, %next, "a recurring job had no next occurrence: scheduled it")
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(job = %job.id, error = %e, "cannot schedule a recurring job's next occurrence")
                }
            }
        }
        FollowUp::End { .. } | FollowUp::Broken { .. } => {}
    }
}
