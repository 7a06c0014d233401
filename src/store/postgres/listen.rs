//! `LISTEN msgspool_due`: another daemon's intake (or an operator's retry) stored sends;
//! dispatch is poked so it looks at the next due time now rather than within a second.
//!
//! SKELETON: not built yet.

use std::sync::Arc;

use tokio::sync::Notify;

use super::PgStore;

/// Starts listening on a connection of its own (not pooled), reconnecting when it drops.
pub(super) fn spawn(store: &PgStore, waker: Arc<Notify>) {
    let _ = (store, waker);
}
