//! Intake: from files in the spool folder to committed jobs.
//!
//! Filesystem events tell which files are complete ([`settle`]) and poke a pass; a timer
//! rescans too, so a missed event costs at most one `rescan_interval`. A pass reads the
//! folder as a stream ([`scan::Listing`]) and takes files in bounded batches
//! ([`BATCH_FILES`] files or [`BATCH_BYTES`] of text), holding no more than a window of
//! names read ahead and two batches, so memory stays flat at any spool size ([`batch`]):
//! each file is judged on its own ([`examine`], panics caught), the batch's accepted jobs
//! go into one group commit, and only then are their files removed, if the name still
//! points at the file that was read. The next batch is judged while one commits and the
//! one before it is removed, each on its own thread, so intake uses both cores. A crash between commit and removal leaves a file
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
mod stages;

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::job::JobErrors;
use crate::store::{AcceptOutcome, NewJob, Store};
use batch::Batch;
use examine::{Parsed, Verdict};
use settle::Readiness;
use stages::Stages;

/// Accepted files of a committed batch being removed.
type Removal = JoinHandle<()>;

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
        let listing = match tokio::task::spawn_blocking(move || scan::Listing::open(&spool)).await {
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
        // The next batch is judged while this one commits and its files are removed: the
        // three run on different threads, so intake uses more than one core.
        let mut judging =
            (!*stop.borrow()).then(|| self.start_judging(listing, VecDeque::new(), ready));
        let mut removing: Option<Removal> = None;
        while let Some(judged) = judging.take() {
            let mut stages = Stages::start();
            let batch = Self::judged(judged).await;
            stages.judged();
            let (listing, names) = (batch.listing, batch.names);
            report.most_names_held = report.most_names_held.max(batch.names_held);
            if (listing.is_some() || !names.is_empty())
                && report.store_error.is_none()
                && !*stop.borrow()
            {
                judging = Some(self.start_judging(listing, names, ready));
            }
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
            let files = accepted.len();
            let to_remove = self.commit_batch(accepted, now, &mut report, ready).await;
            stages.committed();
            if report.accepted > before {
                // Per batch, not per pass: a pass through a million files takes minutes,
                // and a job due now must not wait for its end.
                self.dispatch_waker.notify_one();
            }
            // One removal at a time, beside the next batch. A stop or a database error ends
            // the pass after this batch: the next one, judged meanwhile, is dropped, and its
            // files wait for the next pass (judging changes nothing on disk).
            Self::removed(removing.take()).await;
            stages.removed(files);
            removing = Some(self.start_removing(to_remove, ready));
            if (report.store_error.is_some() || *stop.borrow())
                && let Some(judged) = judging.take()
            {
                Self::judged(judged).await;
            }
        }
        Self::removed(removing).await;
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

    /// Starts judging one batch from where the pass stands, on a blocking thread.
    fn start_judging(
        &self,
        listing: Option<scan::Listing>,
        names: VecDeque<OsString>,
        ready: &Arc<Readiness>,
    ) -> JoinHandle<Batch> {
        let spool = self.spool.clone();
        let ready = ready.clone();
        let config = self.config.borrow().clone();
        tokio::task::spawn_blocking(move || batch::judge(&spool, listing, names, &config, &ready))
    }

    async fn judged(judging: JoinHandle<Batch>) -> Batch {
        match judging.await {
            Ok(done) => done,
            Err(e) => {
                tracing::error!(error = %e, "an intake batch failed");
                Batch::default()
            }
        }
    }

    /// Starts removing a committed batch's accepted files, on a blocking thread.
    fn start_removing(&self, accepted: Vec<Parsed>, ready: &Arc<Readiness>) -> Removal {
        let spool = self.spool.clone();
        let ready = ready.clone();
        tokio::task::spawn_blocking(move || batch::remove_all(&spool, &accepted, &ready))
    }

    async fn removed(removing: Option<Removal>) {
        if let Some(removing) = removing
            && let Err(e) = removing.await
        {
            tracing::error!(error = %e, "removing accepted files failed");
        }
    }

    async fn commit_batch(
        &self,
        batch: Vec<Parsed>,
        now: DateTime<Utc>,
        report: &mut PassReport,
        ready: &Arc<Readiness>,
    ) -> Vec<Parsed> {
        if batch.is_empty() {
            return Vec::new();
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
        to_remove
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
