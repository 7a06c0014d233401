//! How late first attempts start: the request's start minus the send's due instant, as a
//! Prometheus histogram that `/metrics` shows (`msgspool_lateness_seconds`).
//!
//! Owns the buckets and the counts, kept in atomics for the life of the process (a
//! Prometheus counter restarts at zero with the process, which scrapers expect).
//! Guarantees: observing never blocks or fails; a send started early (never expected)
//! counts in the lowest bucket.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// The upper bounds of the buckets, in seconds.
pub const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 60.0,
];

/// The histogram of this process.
pub static LATENESS: Lateness = Lateness::new();

pub struct Lateness {
    /// Observations at or below each bound (not cumulative; summed when read).
    below: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// What [`Lateness::snapshot`] read: cumulative bucket counts, the count and the sum.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub cumulative: Vec<(f64, u64)>,
    pub count: u64,
    pub sum_seconds: f64,
}

impl Lateness {
    const fn new() -> Lateness {
        Lateness {
            below: [const { AtomicU64::new(0) }; BUCKETS.len()],
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// Counts a first attempt that started at `started` for a send due at `due`.
    pub fn observe(&self, due: DateTime<Utc>, started: DateTime<Utc>) {
        let late = (started - due).to_std().unwrap_or(Duration::ZERO);
        let seconds = late.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&bound| seconds <= bound) {
            self.below[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut running = 0u64;
        let cumulative = BUCKETS
            .iter()
            .zip(&self.below)
            .map(|(&bound, n)| {
                running = running.saturating_add(n.load(Ordering::Relaxed));
                (bound, running)
            })
            .collect();
        Snapshot {
            cumulative,
            count: self.count.load(Ordering::Relaxed),
            sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_cumulative_buckets_and_early_counts_as_on_time() {
        let h = Lateness::new();
        let due = DateTime::parse_from_rfc3339("2026-12-02T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        h.observe(due, due + chrono::Duration::microseconds(300));
        h.observe(due, due + chrono::Duration::milliseconds(3));
        h.observe(due, due - chrono::Duration::milliseconds(1));
        h.observe(due, due + chrono::Duration::minutes(5));
        let s = h.snapshot();
        assert_eq!(s.count, 4);
        assert_eq!(s.cumulative[0], (0.0005, 2));
        assert_eq!(s.cumulative[3], (0.005, 3));
        assert_eq!(s.cumulative[BUCKETS.len() - 1], (60.0, 3));
        assert!((s.sum_seconds - 300.0033).abs() < 1e-6, "{}", s.sum_seconds);
    }
}
