//! The end of a dispatcher: requests in flight get `shutdown_grace`, then every claimed
//! send whose outcome is not on disk goes back to `scheduled`.
//!
//! Trusts: the in-flight set to hold exactly the sends claimed and not yet recorded
//! (waiting for their instant, a token, or an answer).
//! Guarantees: nothing is claimed or started here; a send put back gets an `interrupted`
//! attempt and goes out after the restart.

use chrono::Utc;
use tokio::task::JoinSet;

use super::{Dispatcher, Shared, lock};

impl Dispatcher {
    /// Lets requests in flight finish within `shutdown_grace`, then puts back whatever
    /// claimed send did not finish.
    pub(super) async fn drain(&self, mut tasks: JoinSet<()>, shared: &Shared) {
        let grace = self.config.borrow().shutdown_grace;
        let in_flight = tasks.len();
        if in_flight > 0 {
            tracing::info!(in_flight, grace = %crate::duration::format_duration(grace), "stopping: waiting for requests in flight");
        }
        let deadline = tokio::time::Instant::now() + grace;
        while !tasks.is_empty() {
            match tokio::time::timeout_at(deadline, tasks.join_next()).await {
                Ok(_) => {}
                Err(_) => {
                    tracing::warn!(
                        left = tasks.len(),
                        "shutdown grace over: abandoning requests in flight"
                    );
                    tasks.abort_all();
                    while tasks.join_next().await.is_some() {}
                }
            }
        }
        let left: Vec<i64> = lock(&shared.claimed).drain().collect();
        if !left.is_empty() {
            let n = left.len();
            match self.store.requeue(left, Utc::now()).await {
                Ok(()) => tracing::info!(sends = n, "unsent claimed sends put back to scheduled"),
                Err(e) => {
                    tracing::error!(error = %e, "cannot put claimed sends back; they are recovered at the next start")
                }
            }
        }
    }
}
