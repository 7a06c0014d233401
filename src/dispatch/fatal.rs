//! The way out when dispatch cannot go on.
//!
//! Owns: the first reason given. Guarantees: the daemon, waiting in [`Fatal::raised`],
//! learns of it once; later reasons are logged but do not replace the first.

use std::sync::Mutex;

use tokio::sync::Notify;

use super::lock;

/// Raised when msgspool cannot go on (the writer thread died, claims keep failing): the
/// daemon stops and exits non-zero, so systemd restarts it.
#[derive(Default)]
pub struct Fatal {
    reason: Mutex<Option<String>>,
    raised: Notify,
}

impl Fatal {
    /// Says why msgspool must stop; the first reason wins.
    pub fn raise(&self, reason: String) {
        tracing::error!(%reason, "msgspool cannot go on and stops (exit 1)");
        lock(&self.reason).get_or_insert(reason);
        self.raised.notify_one();
    }

    /// Waits until raised; returns the reason.
    pub async fn raised(&self) -> String {
        loop {
            if let Some(reason) = lock(&self.reason).clone() {
                return reason;
            }
            self.raised.notified().await;
        }
    }
}
