//! The workspace's GET budget: Bird allows 50 GET requests per second per workspace,
//! apart from the 500 POST/s that dispatch paces itself by.
//!
//! Owns one token bucket that reconciliation and polling share, and a second, smaller one
//! that polling must also pass, so that a backlog of look-ups can never take the whole
//! budget: a reconciliation (which holds a send back) always finds a fifth of it free. A
//! 429 on any GET pauses both. Counts every GET taken, for `/metrics` and the benchmark.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::lock;
use super::rate::TokenBucket;

/// The longest one wait for a token sleeps before looking again.
const MAX_WAIT: Duration = Duration::from_secs(1);

/// Shared by every GET msgspool makes to one workspace; cheap to clone.
#[derive(Clone)]
pub struct GetBudget {
    shared: Arc<Mutex<TokenBucket>>,
    polling: Arc<Mutex<TokenBucket>>,
    taken: Arc<AtomicU64>,
}

impl GetBudget {
    /// `rate` GETs per second (0: unlimited); polling gets four fifths of it at most.
    pub fn new(rate: u32) -> GetBudget {
        let now = Instant::now();
        let polling_rate = match rate {
            0 => 0,
            r => (r / 5).saturating_mul(4).max(1),
        };
        GetBudget {
            shared: Arc::new(Mutex::new(TokenBucket::new(rate, now))),
            polling: Arc::new(Mutex::new(TokenBucket::new(polling_rate, now))),
            taken: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Waits for a token of the shared bucket (reconciliation).
    pub async fn take(&self) {
        wait_for(&self.shared).await;
        self.taken.fetch_add(1, Ordering::Relaxed);
    }

    /// Waits for a token of polling's share, then of the shared bucket.
    pub async fn take_for_polling(&self) {
        wait_for(&self.polling).await;
        self.take().await;
    }

    /// Holds every GET back for `wait` (Bird answered 429).
    pub fn pause_for(&self, wait: Duration) {
        let now = Instant::now();
        lock(&self.shared).pause_for(now, wait);
        lock(&self.polling).pause_for(now, wait);
    }

    /// How many GETs were made since the start.
    pub fn taken(&self) -> u64 {
        self.taken.load(Ordering::Relaxed)
    }
}

async fn wait_for(bucket: &Mutex<TokenBucket>) {
    loop {
        let wait = lock(bucket).take(Instant::now());
        match wait {
            None => return,
            Some(d) => tokio::time::sleep(d.min(MAX_WAIT)).await,
        }
    }
}
