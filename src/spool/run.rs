//! The intake loop: when passes run, and how long to wait while the database refuses.
//!
//! Passes run at start, on folder events (debounced), on `rescan` pokes (SIGHUP) and every
//! `rescan_interval`; sooner while files wait to settle. While the database refuses every
//! batch, the wait doubles up to [`MAX_BACKOFF`] and the state change is logged once each
//! way, not on every try.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};

use super::settle::Readiness;
use super::{Intake, MAX_BACKOFF};

/// The first wait after the database refused a batch.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

impl Intake {
    /// Runs passes until `stop` turns true.
    pub async fn run(self, rescan: Arc<Notify>, mut stop: watch::Receiver<bool>) {
        let (tx, mut events) = mpsc::channel::<()>(1);
        let ready = Arc::new(Readiness::default());
        let _watcher = watch_folder(&self.spool, tx, ready.clone());
        let mut backoff: Option<Duration> = None;
        loop {
            let report = self.pass(&ready, &stop).await;
            backoff = match (&report.store_error, backoff) {
                (Some(e), None) => {
                    tracing::warn!(error = %e, "the database refuses jobs; the files stay in the spool and are retried with backoff");
                    Some(FIRST_BACKOFF)
                }
                (Some(_), Some(b)) => Some(b.saturating_mul(2).min(MAX_BACKOFF)),
                (None, Some(_)) => {
                    tracing::info!("the database takes jobs again");
                    None
                }
                (None, None) => None,
            };
            let (interval, settle) = {
                let c = self.config.borrow();
                (c.rescan_interval, c.settle)
            };
            let wait = match backoff {
                Some(b) => b,
                None if report.waiting > 0 => interval.min(settle.max(Duration::from_millis(100))),
                None => interval,
            };
            tokio::select! {
                _ = stop.changed() => {}
                _ = rescan.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                Some(()) = events.recv(), if backoff.is_none() => {
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

/// Starts an inotify watch whose events feed `ready` and poke the intake loop.
fn watch_folder(
    dir: &std::path::Path,
    tx: mpsc::Sender<()>,
    ready: Arc<Readiness>,
) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let handler = move |event: notify::Result<notify::Event>| {
        if let Ok(e) = &event {
            ready.on_event(e);
            // Reading files makes open and close-nowrite events; they change nothing.
            if matches!(
                e.kind,
                notify::EventKind::Access(
                    notify::event::AccessKind::Open(_)
                        | notify::event::AccessKind::Close(notify::event::AccessMode::Read)
                        | notify::event::AccessKind::Read
                )
            ) {
                return;
            }
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
