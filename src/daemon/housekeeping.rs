//! Housekeeping: periodic WAL checkpoints, and on a shared database the leader's review
//! of recurring jobs.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::Config;
use crate::dispatch::recurring;
use crate::store::Store;

/// How often housekeeping looks around: the leader's cron review runs this often.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(30);

/// Periodic WAL checkpoints, so a reader left open cannot grow the WAL without bound; on a
/// shared database, the leader's review of recurring jobs (a next occurrence lost with a
/// daemon that died is added again), since no other node's start-up does it.
pub(super) async fn housekeeping(
    store: Store,
    config: watch::Receiver<Arc<Config>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut turn: u64 = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(HOUSEKEEPING_EVERY) => {}
            _ = stop.changed() => return,
        }
        turn = turn.wrapping_add(1);
        if store.cluster_leader() {
            let cfg = config.borrow().clone();
            recurring::review(&store, &cfg, chrono::Utc::now()).await;
        }
        if turn.is_multiple_of(2)
            && let Err(e) = store.checkpoint().await
        {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}
