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
    /// A pause for a refused key or a redirect, which a reload lifts at once.
    refused_until: Option<Instant>,
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
            refused_until: None,
        }
    }

    /// A new rate (SIGHUP): tokens already earned stay, up to the new burst.
    pub fn set_rate(&mut self, rate: u32) {
        let rate = f64::from(rate);
        if rate == self.rate {
            return;
        }
        self.rate = rate;
        self.burst = (rate / 10.0).max(1.0);
        self.tokens = self.tokens.min(self.burst);
    }

    /// Holds every request back for `wait` because the key was refused or Bird's address
    /// redirected; [`TokenBucket::lift_refusal`] ends it early.
    pub fn refuse_for(&mut self, now: Instant, wait: Duration) {
        let until = now.checked_add(wait).unwrap_or(now);
        if self.refused_until.is_none_or(|p| p < until) {
            self.refused_until = Some(until);
        }
    }

    /// Lifts a refused-key or redirect pause (a reload brought a new key or address).
    pub fn lift_refusal(&mut self) {
        self.refused_until = None;
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

    /// How long a pause still holds requests back, without taking a token.
    pub fn paused_for(&mut self, now: Instant) -> Option<Duration> {
        let left = |until: &mut Option<Instant>| match *until {
            Some(at) if now < at => Some(at - now),
            Some(_) => {
                *until = None;
                None
            }
            None => None,
        };
        let throttled = left(&mut self.paused_until);
        let refused = left(&mut self.refused_until);
        throttled.max(refused)
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
    fn lifting_a_refusal_ends_its_pause_but_not_a_throttle() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(0, t0);
        b.refuse_for(t0, Duration::from_secs(30));
        b.lift_refusal();
        assert_eq!(b.take(t0), None);
        b.pause_for(t0, Duration::from_secs(2));
        b.refuse_for(t0, Duration::from_secs(30));
        b.lift_refusal();
        assert_eq!(b.take(t0), Some(Duration::from_secs(2)));
    }

    #[test]
    fn a_new_rate_spaces_requests_by_it() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1, t0);
        assert_eq!(b.take(t0), None);
        assert!(b.take(t0).is_some_and(|w| w > Duration::from_millis(900)));
        b.set_rate(100);
        let later = t0 + Duration::from_millis(20);
        assert_eq!(b.take(later), None);
    }

    #[test]
    fn a_pause_too_long_for_the_clock_does_not_panic() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(0, t0);
        b.pause_for(t0, Duration::MAX);
        assert!(b.take(t0).is_some());
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
