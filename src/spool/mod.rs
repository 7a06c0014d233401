//! Intake: from files in the spool folder to committed jobs.
//!
//! Filesystem events are only a hint that something changed: each one (debounced) and a
//! timer trigger a full rescan, so a missed or overflowed event costs at most one
//! `rescan_interval`. A pass reads and validates every job file, commits the accepted
//! ones in group commits, and only then removes their files: a crash between commit and
//! removal leaves a file whose content is already stored, which the next pass sees as
//! unchanged and removes. Rejected files move to `rejected/NAME.toml` beside
//! `rejected/NAME.toml.err`. A file that does not parse while it was modified in the last
//! [`SETTLE`] is left for a later pass instead of being rejected half-written. When the
//! store cannot commit (disk full, locked), files stay in the spool and are retried.

pub mod plan;
pub mod scan;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, mpsc, watch};

use crate::config::Config;
use crate::job::{self, JobContext};
use crate::store::{AcceptOutcome, NewJob, Store};
use scan::Entry;

pub use plan::plan_job;

/// How recently a file must have changed to be treated as still being written.
pub const SETTLE: Duration = Duration::from_secs(2);
/// How many jobs go into one group commit.
const BATCH: usize = 1000;

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub accepted: usize,
    pub unchanged: usize,
    pub rejected: usize,
    /// Files left for a later pass (still being written, or the store could not commit).
    pub deferred: usize,
}

/// The spool folder and what intake needs to take files in.
pub struct Intake {
    pub spool: PathBuf,
    pub store: Store,
    pub config: watch::Receiver<Arc<Config>>,
    /// Poked after jobs were committed, so dispatch re-reads the next due time.
    pub dispatch_waker: Arc<Notify>,
}

struct Parsed {
    name: String,
    path: PathBuf,
    len: u64,
    modified: SystemTime,
    job: NewJob,
}

impl Intake {
    fn rejected_dir(&self) -> PathBuf {
        self.spool.join("rejected")
    }

    /// Scans the folder once and takes in everything ready.
    pub async fn pass(&self) -> PassReport {
        let config = self.config.borrow().clone();
        let spool = self.spool.clone();
        let now = Utc::now();
        let read = tokio::task::spawn_blocking(move || read_all(&spool, &config, now)).await;
        let (parsed, refused, deferred) = match read {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                tracing::error!(spool = %self.spool.display(), error = %e, "cannot list the spool folder");
                return PassReport::default();
            }
            Err(e) => {
                tracing::error!(error = %e, "intake pass failed");
                return PassReport::default();
            }
        };
        let mut report = PassReport {
            deferred,
            ..PassReport::default()
        };
        for (path, name, reason) in refused {
            self.reject(&path, &name, &reason, now).await;
            report.rejected += 1;
        }
        let mut parsed = parsed;
        while !parsed.is_empty() {
            let rest = parsed.split_off(parsed.len().min(BATCH));
            let batch = std::mem::replace(&mut parsed, rest);
            self.commit_batch(batch, now, &mut report).await;
        }
        if report.accepted > 0 {
            self.dispatch_waker.notify_one();
        }
        if report.accepted + report.rejected > 0 {
            tracing::info!(
                accepted = report.accepted,
                unchanged = report.unchanged,
                rejected = report.rejected,
                deferred = report.deferred,
                "intake pass"
            );
        }
        report
    }

    async fn commit_batch(&self, batch: Vec<Parsed>, now: DateTime<Utc>, report: &mut PassReport) {
        let jobs: Vec<NewJob> = batch.iter().map(|p| p.job.clone()).collect();
        let results = self.store.accept_jobs(jobs, now).await;
        for (p, result) in batch.into_iter().zip(results) {
            match result {
                Ok(AcceptOutcome::Conflict { reason }) => {
                    let label = format!("{}: error: id: {reason}", p.name);
                    self.reject(&p.path, &p.name, &label, now).await;
                    report.rejected += 1;
                }
                Ok(outcome) => {
                    if matches!(outcome, AcceptOutcome::Unchanged) {
                        report.unchanged += 1;
                    } else {
                        report.accepted += 1;
                        tracing::info!(job = %p.job.id, file = %p.name, ?outcome, "job accepted");
                    }
                    remove_if_unchanged(&p.path, p.len, p.modified);
                }
                Err(e) => {
                    report.deferred += 1;
                    tracing::warn!(file = %p.name, error = %e, "cannot commit the job; the file stays in the spool and is retried");
                }
            }
        }
    }

    /// Moves a file to `rejected/` beside an `.err` file, and records the rejection.
    async fn reject(&self, path: &Path, name: &str, error_text: &str, now: DateTime<Utc>) {
        let dir = self.rejected_dir();
        let moved = std::fs::create_dir_all(&dir)
            .and_then(|()| {
                std::fs::write(dir.join(format!("{name}.err")), format!("{error_text}\n"))
            })
            .and_then(|()| std::fs::rename(path, dir.join(name)));
        if let Err(e) = moved {
            tracing::error!(file = %name, error = %e, "cannot move a rejected file to rejected/");
            return;
        }
        tracing::warn!(file = %name, reason = %error_text, "job file rejected");
        if let Err(e) = self.store.record_rejection(name, error_text, now).await {
            tracing::warn!(file = %name, error = %e, "cannot record the rejection in the database");
        }
    }

    /// Runs passes at start, on folder events (debounced), on `rescan` pokes (SIGHUP), and
    /// every `rescan_interval`, until `stop` turns true.
    pub async fn run(self, rescan: Arc<Notify>, mut stop: watch::Receiver<bool>) {
        let (tx, mut events) = mpsc::channel::<()>(1);
        let _watcher = watch_folder(&self.spool, tx);
        loop {
            let report = self.pass().await;
            let interval = self.config.borrow().rescan_interval;
            let wait = if report.deferred > 0 {
                interval.min(Duration::from_millis(500))
            } else {
                interval
            };
            tokio::select! {
                _ = stop.changed() => {}
                _ = rescan.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                Some(()) = events.recv() => {
                    // Debounce: let a burst of events settle into one pass.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    while events.try_recv().is_ok() {}
                }
            }
            if *stop.borrow() {
                return;
            }
        }
    }
}

/// Starts an inotify watch whose events only poke the intake loop.
fn watch_folder(dir: &Path, tx: mpsc::Sender<()>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let handler = move |event: notify::Result<notify::Event>| {
        // Reading files makes access events; only changes call for a pass.
        if let Ok(e) = &event
            && matches!(e.kind, notify::EventKind::Access(_))
        {
            return;
        }
        // Full channel: a pass is already pending, which will see this change too.
        let _ = tx.try_send(());
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch the spool folder; relying on periodic rescans");
            return None;
        }
    };
    if let Err(e) = watcher.watch(dir, notify::RecursiveMode::NonRecursive) {
        tracing::warn!(error = %e, "cannot watch the spool folder; relying on periodic rescans");
        return None;
    }
    Some(watcher)
}

type ReadAll = (Vec<Parsed>, Vec<(PathBuf, String, String)>, usize);

/// Lists and parses every job file (blocking; runs off the async threads).
fn read_all(spool: &Path, config: &Config, now: DateTime<Utc>) -> std::io::Result<ReadAll> {
    let mut parsed = Vec::new();
    let mut refused = Vec::new();
    let mut deferred = 0;
    let ctx = JobContext { config, now };
    for entry in scan::list(spool)? {
        let (path, name, len, modified) = match entry {
            Entry::Refuse { path, name, reason } => {
                let text = format!("{name}: error: {reason}");
                refused.push((path, name, text));
                continue;
            }
            Entry::Job {
                path,
                name,
                len,
                modified,
            } => (path, name, len, modified),
        };
        let still_changing = SystemTime::now()
            .duration_since(modified)
            .is_ok_and(|age| age < SETTLE)
            || SystemTime::now() < modified;
        let text = match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(_) if still_changing => {
                    deferred += 1;
                    continue;
                }
                Err(_) => {
                    let text =
                        format!("{name}: error: the file is not UTF-8 text; save it as UTF-8");
                    refused.push((path, name, text));
                    continue;
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                tracing::warn!(file = %name, error = %e, "cannot read a job file; retrying later");
                deferred += 1;
                continue;
            }
        };
        if !scan::unchanged_since(&path, len, modified) {
            deferred += 1;
            continue;
        }
        let default_id = name.trim_end_matches(".toml");
        match job::parse(&name, default_id, &text, &ctx) {
            Ok(job) => parsed.push(Parsed {
                job: plan_job(&job, &name, now, config),
                name,
                path,
                len,
                modified,
            }),
            Err(_) if still_changing => deferred += 1,
            Err(errors) => refused.push((path, name, errors.to_string())),
        }
    }
    Ok((parsed, refused, deferred))
}

fn remove_if_unchanged(path: &Path, len: u64, modified: SystemTime) {
    if !scan::unchanged_since(path, len, modified) {
        // Rewritten after it was read: the new version is taken in by the next pass.
        return;
    }
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(file = %path.display(), error = %e, "cannot remove an accepted job file; it will be seen as unchanged next time");
    }
}
