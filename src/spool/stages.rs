//! Where one turn of an intake pass spends its time: waiting for the batch being judged,
//! committing it, and waiting for the previous batch's removal. Logged at debug level per
//! batch, so an operator (or a benchmark) sees which of the three stages holds intake back.

use std::time::{Duration, Instant};

/// The laps of one turn.
pub(super) struct Stages {
    at: Instant,
    judge_wait: Duration,
    commit: Duration,
}

impl Stages {
    pub(super) fn start() -> Stages {
        Stages {
            at: Instant::now(),
            judge_wait: Duration::ZERO,
            commit: Duration::ZERO,
        }
    }

    fn lap(&mut self) -> Duration {
        let lap = self.at.elapsed();
        self.at = Instant::now();
        lap
    }

    pub(super) fn judged(&mut self) {
        self.judge_wait = self.lap();
    }

    pub(super) fn committed(&mut self) {
        self.commit = self.lap();
    }

    pub(super) fn removed(mut self, files: usize) {
        let remove_wait = self.lap();
        tracing::debug!(
            files,
            judge_wait_ms = self.judge_wait.as_secs_f64() * 1e3,
            commit_ms = self.commit.as_secs_f64() * 1e3,
            remove_wait_ms = remove_wait.as_secs_f64() * 1e3,
            "intake batch"
        );
    }
}
