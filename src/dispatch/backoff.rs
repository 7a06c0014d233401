//! Retry delays: exponential backoff with full jitter, and the randomness it needs.
//!
//! Pure: the random fraction comes in as a parameter so tests pin it; [`jitter`] draws one
//! from the operating system's generator (through `uuid`, already a dependency).

use std::time::Duration;

/// The delay before retry number `attempt` (1 = the first retry): a uniformly random point
/// in `[0, min(max, initial * 2^(attempt-1))]`, picked by `fraction` in `[0, 1)`.
pub fn full_jitter(attempt: u32, initial: Duration, max: Duration, fraction: f64) -> Duration {
    let exp = attempt.saturating_sub(1).min(32);
    let ceiling = initial.saturating_mul(1u32 << exp.min(31)).min(max);
    ceiling.mul_f64(fraction.clamp(0.0, 1.0))
}

/// A random fraction in `[0, 1)`.
pub fn jitter() -> f64 {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let mut n = [0u8; 8];
    n.copy_from_slice(&bytes[..8]);
    // 53 random bits make an evenly spread f64 in [0, 1).
    (u64::from_le_bytes(n) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const S10: Duration = Duration::from_secs(10);
    const M30: Duration = Duration::from_secs(1800);

    #[test]
    fn the_ceiling_doubles_per_attempt_up_to_the_maximum() {
        let almost_one = 0.999_999;
        let d = |a| full_jitter(a, S10, M30, almost_one).as_secs_f64().round() as u64;
        assert_eq!([d(1), d(2), d(3), d(4)], [10, 20, 40, 80]);
        assert_eq!(d(20), 1800);
        assert_eq!(d(u32::MAX), 1800);
    }

    #[test]
    fn the_delay_is_the_fraction_of_the_ceiling() {
        assert_eq!(full_jitter(1, S10, M30, 0.0), Duration::ZERO);
        assert_eq!(full_jitter(2, S10, M30, 0.5), Duration::from_secs(10));
    }

    #[test]
    fn jitter_stays_in_the_unit_interval_and_varies() {
        let draws: Vec<f64> = (0..1000).map(|_| jitter()).collect();
        assert!(draws.iter().all(|f| (0.0..1.0).contains(f)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((0.4..0.6).contains(&mean), "mean {mean}");
    }
}
