//! The per-workspace token bucket: at most `rate` POSTs per second, in bursts of at most
//! `rate / 10` (at least one), plus a pause that a 429 or a 401 imposes on the whole
//! workspace. Pure: the caller passes the monotonic instant.

use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct TokenBucket {
    /// Tokens per second; 0 means unlimited.
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
    paused_until: Option<Instant>,
}

impl TokenBucket {
    pub fn new(rate: u32, now: Instant) -> Self {
        let rate = f64::from(rate);
        let burst = (rate / 10.0).max(1.0);
        Self {
            rate,
            burst,
            tokens: burst,
            last: now,
            paused_until: None,
        }
    }

    /// Takes a token now (`None`), or says how long to wait before asking again.
    pub fn take(&mut self, now: Instant) -> Option<Duration> {
        if let Some(wait) = self.paused_for(now) {
            return Some(wait);
        }
        if self.rate == 0.0 {
            return None;
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }

    /// Holds every request back until `until` (a later pause wins).
    pub fn pause_until(&mut self, until: Instant) {
        if self.paused_until.is_none_or(|p| p < until) {
            self.paused_until = Some(until);
        }
    }

    /// Holds every request back for `wait` from `now`; a wait too long for the monotonic
    /// clock holds back as long as it can (a later pause wins).
    pub fn pause_for(&mut self, now: Instant, wait: Duration) {
        let until = now
            .checked_add(wait)
            .or_else(|| now.checked_add(Duration::from_secs(365 * 86_400)))
            .unwrap_or(now);
        self.pause_until(until);
    }

    /// Lifts any pause at once (a reload brought a new key or address).
    pub fn resume(&mut self) {
        self.paused_until = None;
    }

    /// How long a pause still holds requests back, without taking a token.
    pub fn paused_for(&mut self, now: Instant) -> Option<Duration> {
        match self.paused_until {
            Some(until) if now < until => Some(until - now),
            Some(_) => {
                self.paused_until = None;
                None
            }
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_requests_are_spaced_by_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(100, t0);
        for _ in 0..10 {
            assert_eq!(b.take(t0), None);
        }
        let wait = b.take(t0).expect("bucket empty");
        assert!(wait <= Duration::from_millis(10) && wait > Duration::ZERO);
        assert_eq!(b.take(t0 + Duration::from_millis(10)), None);
    }

    #[test]
    fn over_one_second_no_more_than_rate_plus_burst_tokens_are_given() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(500, t0);
        let mut granted = 0;
        for ms in 0..1000u64 {
            let now = t0 + Duration::from_millis(ms);
            while b.take(now).is_none() {
                granted += 1;
            }
        }
        assert!((500..=550).contains(&granted), "granted {granted}");
    }

    #[test]
    fn a_pause_holds_everything_back_until_it_ends() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(0, t0);
        b.pause_until(t0 + Duration::from_secs(1));
        assert_eq!(b.take(t0), Some(Duration::from_secs(1)));
        assert_eq!(b.take(t0 + Duration::from_secs(1)), None);
    }
}
