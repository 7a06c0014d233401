//! How many requests may be in flight at once: a window that adapts (AIMD), capped by
//! `[bird] max_in_flight`.
//!
//! Owns: the window size and what it learned (the fastest round trip seen, the threshold
//! between doubling and additive growth, the last cut). Pure: the caller passes the
//! monotonic instant and each answer's round trip.
//! Trusts: the dispatch loop to say when the window, not the token bucket or a lack of
//! due sends, is what holds sends back ([`Window::note_full`]).
//! Guarantees: the size is between 1 and the cap; it grows only while it is full and
//! round trips stay flat (at most twice the fastest seen plus [`FLAT_SLACK`]); it is cut
//! in half on a timeout, a lost connection, a 5xx or a 429, at most once per round trip,
//! so one burst of failures counts as one signal.

use std::time::{Duration, Instant};

use crate::bird::SendResult;

/// The window a dispatcher starts with (or the cap, when lower).
pub const INITIAL: usize = 32;

/// Round trips this much above twice the fastest seen count as grown: queueing, not
/// distance. Loopback and LAN jitter stay under it.
pub const FLAT_SLACK: Duration = Duration::from_millis(10);

/// The shortest spacing of two cuts when the round trip is not known yet (or tiny).
pub const MIN_CUT_SPACING: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct Window {
    size: f64,
    cap: usize,
    /// Below it the window doubles every round trip; above it, grows by one.
    threshold: f64,
    fastest: Option<Duration>,
    last_cut: Option<Instant>,
    full: bool,
}

impl Window {
    pub fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        Self {
            size: INITIAL.min(cap) as f64,
            cap,
            threshold: cap as f64,
            fastest: None,
            last_cut: None,
            full: false,
        }
    }

    /// The requests that may be in flight now.
    pub fn size(&self) -> usize {
        // `size` stays within 1..=cap, so the conversion neither truncates nor saturates.
        (self.size.floor() as usize).clamp(1, self.cap)
    }

    /// A new cap (SIGHUP): the window shrinks to it at once, or may grow to it.
    pub fn set_cap(&mut self, cap: usize) {
        let cap = cap.max(1);
        if cap == self.cap {
            return;
        }
        // A threshold at the old cap was never lowered by a cut: it follows the cap.
        let uncut = self.threshold >= self.cap as f64;
        self.cap = cap;
        let cap = cap as f64;
        self.size = self.size.min(cap);
        self.threshold = if uncut { cap } else { self.threshold.min(cap) };
    }

    /// Whether every slot is taken while due sends wait for one.
    pub fn note_full(&mut self, full: bool) {
        self.full = full;
    }

    /// One answer (or failure) `round_trip` after its request started.
    pub fn on_answer(&mut self, now: Instant, round_trip: Duration, congested: bool) {
        if congested {
            self.cut(now);
            return;
        }
        let fastest = *self.fastest.get_or_insert(round_trip);
        if round_trip < fastest {
            self.fastest = Some(round_trip);
        }
        let flat = round_trip <= fastest.saturating_mul(2).saturating_add(FLAT_SLACK);
        if !self.full || !flat {
            return;
        }
        let step = if self.size < self.threshold {
            1.0
        } else {
            1.0 / self.size
        };
        self.size = (self.size + step).min(self.cap as f64);
    }

    fn cut(&mut self, now: Instant) {
        let spacing = self.fastest.unwrap_or(MIN_CUT_SPACING).max(MIN_CUT_SPACING);
        if self
            .last_cut
            .is_some_and(|at| now.saturating_duration_since(at) < spacing)
        {
            return;
        }
        self.last_cut = Some(now);
        self.size = (self.size / 2.0).max(1.0);
        // Back to doubling up to the initial window, so one outage does not leave a
        // window that needs minutes of additive growth.
        self.threshold = self.size.max(INITIAL.min(self.cap) as f64);
    }
}

/// Whether an answer says Bird (or the way to it) is overloaded.
pub fn congested(result: &SendResult) -> bool {
    match result {
        SendResult::Throttled { .. }
        | SendResult::ServerError { .. }
        | SendResult::Transport { .. } => true,
        SendResult::Accepted { .. }
        | SendResult::Unconfirmed { .. }
        | SendResult::Redirected { .. }
        | SendResult::Unauthorized { .. }
        | SendResult::Rejected { .. } => false,
    }
}

#[cfg(test)]
mod tests;
