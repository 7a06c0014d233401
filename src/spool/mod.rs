//! Intake: from files in the spool folder to committed jobs.
//!
//! Filesystem events tell which files are complete ([`settle`]) and poke a pass; a timer
//! rescans too, so a missed event costs at most one `rescan_interval`. A pass reads the
//! folder as a stream ([`scan::Listing`]) and takes files in bounded batches
//! ([`BATCH_FILES`] files or [`BATCH_BYTES`] of text), holding no more than a window of
//! names read ahead and one batch, so memory stays flat at any spool size ([`batch`]): each file is judged on its
//! own ([`examine`], panics caught), the batch's accepted jobs go into one group commit, and only then are their files removed, if the name still
//! points at the file that was read. A crash between commit and removal leaves a file
//! whose content is already stored, which the next pass sees as unchanged and removes.
//! Refused files move to `rejected/` ([`reject`]). A database that refuses everything
//! (locked, disk full) leaves files in place; the caller retries with backoff.

mod batch;
mod examine;
pub mod fsops;
pub mod plan;
pub mod read;
mod refusal;
pub mod reject;
mod run;
pub mod scan;
pub mod settle;

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};

use crate::config::Config;
use crate::job::JobErrors;
use crate::store::{AcceptOutcome, NewJob, Store};
use batch::Batch;
use examine::{Parsed, Verdict};
use settle::Readiness;

pub use plan::plan_job;

/// The most files one batch (one group commit) takes.
pub const BATCH_FILES: usize = 500;
/// The most bytes of job text one batch reads before it is committed.
pub const BATCH_BYTES: u64 = 4 * 1024 * 1024;
/// The longest wait between retries while the database refuses everything.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub accepted: usize,
    pub unchanged: usize,
    pub rejected: usize,
    /// Files not complete yet, looked at again soon.
    pub waiting: usize,
    /// Set when the database refused a whole batch; the rest waits for the next try.
    pub store_error: Option<String>,
    /// The most file names held at once: at most [`scan::READ_AHEAD`] + [`BATCH_FILES`],
    /// however many files wait.
    pub most_names_held: usize,
}

/// The spool folder and what intake needs to take files in.
pub struct Intake {
    pub spool: PathBuf,
    pub store: Store,
    pub config: watch::Receiver<Arc<Config>>,
    /// Poked after jobs were committed, so dispatch re-reads the next due time.
    pub dispatch_waker: Arc<Notify>,
}

/// Names and job ids as they go into log lines: control characters escaped, so a file
/// named `a\nFAKE LOG LINE` cannot forge a line.
pub fn escaped(name: &str) -> String {
    name.escape_debug().to_string()
}

impl Intake {
    /// Reads the folder once, as a stream, and takes in everything complete, batch by
    /// batch; stops early (the rest waits for the next pass) when `stop` turns true.
    pub async fn pass(&self, ready: &Arc<Readiness>, stop: &watch::Receiver<bool>) -> PassReport {
        let mut report = PassReport::default();
        let spool = self.spool.clone();
        let mut listing =
            match tokio::task::spawn_blocking(move || scan::Listing::open(&spool)).await {
                Ok(Ok(listing)) => Some(listing),
                Ok(Err(e)) => {
                    let spool = self.spool.display();
                    tracing::error!(%spool, error = %e, "cannot list the spool folder");
                    return report;
                }
                Err(e) => {
                    tracing::error!(error = %e, "listing the spool folder failed");
                    return report;
                }
            };
        let mut names = VecDeque::new();
        while (listing.is_some() || !names.is_empty())
            && report.store_error.is_none()
            && !*stop.borrow()
        {
            let config = self.config.borrow().clone();
            let batch = self.judge_batch(listing, names, config, ready).await;
            (listing, names) = (batch.listing, batch.names);
            report.most_names_held = report.most_names_held.max(batch.names_held);
            let now = Utc::now();
            let mut accepted = Vec::new();
            for v in batch.verdicts {
                match v {
                    Verdict::Accept(p) => accepted.push(*p),
                    Verdict::Reject {
                        name,
                        label,
                        errors,
                    } => {
                        self.reject(name, &label, &errors, now, ready).await;
                        report.rejected += 1;
                    }
                    Verdict::Wait => report.waiting += 1,
                    Verdict::Gone => {}
                }
            }
            let before = report.accepted;
            self.commit_batch(accepted, now, &mut report, ready).await;
            if report.accepted > before {
                // Per batch, not per pass: a pass through a million files takes minutes,
                // and a job due now must not wait for its end.
                self.dispatch_waker.notify_one();
            }
        }
        if report.accepted + report.rejected > 0 {
            tracing::info!(
                accepted = report.accepted,
                unchanged = report.unchanged,
                rejected = report.rejected,
                waiting = report.waiting,
                "intake pass"
            );
        }
        report
    }

    /// One batch from where the pass stands, judged on a blocking thread.
    async fn judge_batch(
        &self,
        listing: Option<scan::Listing>,
        names: VecDeque<OsString>,
        config: Arc<Config>,
        ready: &Arc<Readiness>,
    ) -> Batch {
        let spool = self.spool.clone();
        let ready = ready.clone();
        let work = move || batch::judge(&spool, listing, names, &config, &ready);
        match tokio::task::spawn_blocking(work).await {
            Ok(done) => done,
            Err(e) => {
                tracing::error!(error = %e, "an intake batch failed");
                Batch::default()
            }
        }
    }

    async fn commit_batch(
        &self,
        batch: Vec<Parsed>,
        now: DateTime<Utc>,
        report: &mut PassReport,
        ready: &Arc<Readiness>,
    ) {
        if batch.is_empty() {
            return;
        }
        let jobs: Vec<NewJob> = batch.iter().map(|p| p.job.clone()).collect();
        let results = self.store.accept_jobs(jobs, now).await;
        let mut to_remove = Vec::new();
        for (p, result) in batch.into_iter().zip(results) {
            let file = escaped(&p.label);
            match result {
                Ok(AcceptOutcome::Conflict { reason }) => {
                    let errors = examine::whole_file(&p.label, format!("id: {reason}"));
                    self.reject(p.name, &p.label, &errors, now, ready).await;
                    report.rejected += 1;
                }
                Ok(outcome) => {
                    if matches!(outcome, AcceptOutcome::Unchanged) {
                        report.unchanged += 1;
                    } else {
                        report.accepted += 1;
                        let job = escaped(&p.job.id);
                        tracing::info!(%job, %file, ?outcome, "job accepted");
                    }
                    to_remove.push(p);
                }
                Err(e) if refusal::tied_to_the_file(&e) => {
                    let message = format!(
                        "the database refused this job ({e}); fix the file and drop it again"
                    );
                    let errors = examine::whole_file(&p.label, message);
                    self.reject(p.name, &p.label, &errors, now, ready).await;
                    report.rejected += 1;
                }
                Err(e) => {
                    report.store_error.get_or_insert_with(|| e.to_string());
                }
            }
        }
        let spool = self.spool.clone();
        let ready = ready.clone();
        let removed =
            tokio::task::spawn_blocking(move || batch::remove_all(&spool, &to_remove, &ready));
        if let Err(e) = removed.await {
            tracing::error!(error = %e, "removing accepted files failed");
        }
    }

    /// Moves a file to `rejected/` beside its `.err` and `.err.json`, and records it.
    async fn reject(
        &self,
        name: OsString,
        label: &str,
        errors: &JobErrors,
        now: DateTime<Utc>,
        ready: &Arc<Readiness>,
    ) {
        let human = format!("{errors}\n");
        let json = errors.to_json_lines();
        let spool = self.spool.clone();
        let (n, h) = (name.clone(), human.clone());
        let moved = tokio::task::spawn_blocking(move || reject::reject(&spool, &n, &h, &json));
        let file = escaped(label);
        let stored = match moved.await {
            Ok(Ok(reject::Moved::To(stored))) => stored,
            Ok(Ok(reject::Moved::Gone)) => return,
            Ok(Err(e)) => {
                tracing::error!(%file, error = %e, "cannot move a rejected file to rejected/");
                return;
            }
            Err(e) => {
                tracing::error!(%file, error = %e, "moving a rejected file failed");
                return;
            }
        };
        ready.forget(&name);
        let stored = stored.to_string_lossy().into_owned();
        let reason = escaped(&human);
        tracing::warn!(%file, stored = %escaped(&stored), %reason, "job file rejected");
        if let Err(e) = self
            .store
            .record_rejection(&stored, human.trim_end(), now)
            .await
        {
            tracing::warn!(%file, error = %e, "cannot record the rejection in the database");
        }
    }
}

#[cfg(test)]
mod tests;
