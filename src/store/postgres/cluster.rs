//! What a daemon does besides dispatch when several share one database: its node's
//! heartbeat, renewing the leases of its requests in flight, and, as leader, the
//! singleton work (taking back expired leases, pruning, removing stale nodes).
//!
//! SKELETON: not built yet.

use tokio::sync::watch;

use super::PgStore;

/// Runs the node's work until `stop`.
pub(super) fn spawn(store: &PgStore, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    let _ = store;
    tokio::spawn(async move {
        let mut stop = stop;
        let _ = stop.changed().await;
    })
}

/// Whether this node holds the leader's term now.
pub(super) fn leads(store: &PgStore) -> bool {
    let _ = store;
    false
}
