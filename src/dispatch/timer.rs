//! When to claim a send and how to wait for its instant to the tenth of a millisecond.
//!
//! Owns: the claim bound (sends are claimed up to `[bird] claim_ahead` before they are
//! due, never earlier) and the wait for a due instant. Tokio's timer wheel ticks once a
//! millisecond and wakes after the tick that follows its deadline, so it alone is up to
//! ~1–2 ms late: it carries the wait to [`COARSE_MARGIN`] before the instant, a thread
//! sleep on a blocking thread (the kernel's high-resolution timer, its slack cut to 1 µs)
//! to [`SPIN_AT_MOST`] before it, and a spin on the waiting task's own worker the rest (a
//! yield could give the core away for a whole time slice on a busy machine).
//! Trusts: the wall clock (due instants are wall-clock instants, as Bird and the operator
//! see them); every step re-reads it, so a clock step never makes a wait end early.
//! Guarantees: [`wait_until`] returns only once the wall clock reads the due instant or
//! later; it spins at most [`SPIN_AT_MOST`] per wait; [`claim_bound`] never claims a send
//! whose due instant is further away than the lead.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::MAX_SLEEP;

/// How far before the instant tokio's sleep hands over to the thread sleep: one tick of
/// its wheel plus the tick it may wait past its deadline.
pub const COARSE_MARGIN: Duration = Duration::from_millis(2);

/// The longest a wait spins; a thread sleep wakes some 10–100 µs late.
pub const SPIN_AT_MOST: Duration = Duration::from_micros(200);

/// The next step of a wait for a due instant, from the time left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Far off: a tokio sleep this long.
    Coarse(Duration),
    /// Near: a thread sleep this long on a blocking thread.
    Fine(Duration),
    /// Within [`SPIN_AT_MOST`]: spin and look again.
    Spin,
    /// The instant has come.
    Due,
}

/// What to do at `now` to wait for `due`.
pub fn step(now: DateTime<Utc>, due: DateTime<Utc>) -> Step {
    // A negative distance does not convert: the instant has passed.
    let Ok(left) = (due - now).to_std() else {
        return Step::Due;
    };
    if left.is_zero() {
        Step::Due
    } else if left > COARSE_MARGIN {
        Step::Coarse(left.saturating_sub(COARSE_MARGIN))
    } else if left > SPIN_AT_MOST {
        Step::Fine(left.saturating_sub(SPIN_AT_MOST))
    } else {
        Step::Spin
    }
}

/// Waits until the wall clock reads `due` or later.
pub async fn wait_until(due: DateTime<Utc>) {
    loop {
        match step(Utc::now(), due) {
            Step::Due => return,
            Step::Coarse(wait) => tokio::time::sleep(wait).await,
            Step::Fine(_) => {
                // Off the async workers: the thread sleep blocks.
                if tokio::task::spawn_blocking(move || sleep_finely(due))
                    .await
                    .is_err()
                {
                    // No blocking thread (the runtime is stopping): tokio's sleep is late,
                    // never early.
                    tokio::time::sleep(COARSE_MARGIN).await;
                }
            }
            // On the async worker itself, and so at most SPIN_AT_MOST of it: waking this
            // task from the blocking thread takes tens of microseconds, which the spin
            // absorbs before the instant instead of adding them after it.
            Step::Spin => std::hint::spin_loop(),
        }
    }
}

/// The thread sleep of a wait, on a blocking thread, until [`SPIN_AT_MOST`] is left; hands
/// back to the async loop then, or when a clock step moved the instant further away.
fn sleep_finely(due: DateTime<Utc>) {
    // The default 50 µs of slack lets the kernel wake a sleep that much late; asking for
    // 1 µs only changes how precisely this (pool) thread's sleeps end, so the result is
    // not checked.
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and touches no memory.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
    while let Step::Fine(wait) = step(Utc::now(), due) {
        std::thread::sleep(wait);
    }
}

/// What the dispatch loop does about the earliest scheduled send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Claim every send due at or before this instant; they go out at it.
    UpTo(DateTime<Utc>),
    /// Nothing to claim yet: look again after this long (or when poked).
    Sleep(Duration),
}

/// Given the earliest scheduled send's due instant (`None`: nothing scheduled), what to
/// claim at `now` with `lead` of claim-ahead. Overdue sends are all claimed at once (they go
/// out now); a send still ahead is claimed with the others due at the same instant, and
/// only once it is at most `lead` away.
pub fn claim_bound(now: DateTime<Utc>, earliest: Option<DateTime<Utc>>, lead: Duration) -> Claim {
    let Some(due) = earliest else {
        return Claim::Sleep(MAX_SLEEP);
    };
    if due <= now {
        return Claim::UpTo(now);
    }
    let left = (due - now).to_std().unwrap_or(Duration::ZERO);
    match left.checked_sub(lead) {
        Some(early) if !early.is_zero() => Claim::Sleep(early.min(MAX_SLEEP)),
        Some(_) | None => Claim::UpTo(due),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(micros: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(1_800_000_000_000_000 + micros).unwrap()
    }

    #[test]
    fn far_off_sleeps_on_tokio_to_the_margin_then_on_a_thread_then_spins() {
        assert_eq!(
            step(at(0), at(50_000)),
            Step::Coarse(Duration::from_millis(48))
        );
        assert_eq!(
            step(at(0), at(2_000)),
            Step::Fine(Duration::from_micros(1_800))
        );
        assert_eq!(
            step(at(0), at(1_000)),
            Step::Fine(Duration::from_micros(800))
        );
        assert_eq!(step(at(0), at(200)), Step::Spin);
        assert_eq!(step(at(0), at(1)), Step::Spin);
    }

    #[test]
    fn the_instant_itself_and_any_later_time_are_due() {
        assert_eq!(step(at(0), at(0)), Step::Due);
        assert_eq!(step(at(5), at(0)), Step::Due);
        assert_eq!(step(at(i64::from(u32::MAX)), at(0)), Step::Due);
    }

    #[test]
    fn no_step_before_the_instant_says_due_and_none_sleeps_past_it() {
        for left in [
            1, 150, 199, 200, 201, 999, 1_999, 2_000, 2_001, 10_000, 3_000_000,
        ] {
            let now = at(0);
            let due = at(left);
            match step(now, due) {
                Step::Due => panic!("due with {left} µs left"),
                Step::Coarse(d) | Step::Fine(d) => {
                    assert!(d < Duration::from_micros(left as u64), "{left} µs: {d:?}")
                }
                Step::Spin => assert!(left <= 200, "spins with {left} µs left"),
            }
        }
    }

    #[tokio::test]
    async fn waiting_never_ends_before_the_instant() {
        for ahead_us in [0, 300, 1_500, 2_500, 12_000] {
            let due = Utc::now() + chrono::Duration::microseconds(ahead_us);
            wait_until(due).await;
            assert!(
                Utc::now() >= due,
                "woke before the instant ({ahead_us} µs ahead)"
            );
        }
    }

    #[test]
    fn nothing_scheduled_looks_again_within_the_longest_sleep() {
        assert_eq!(
            claim_bound(at(0), None, Duration::from_millis(50)),
            Claim::Sleep(MAX_SLEEP)
        );
    }

    #[test]
    fn overdue_sends_are_all_claimed_now() {
        let lead = Duration::from_millis(50);
        assert_eq!(claim_bound(at(10), Some(at(0)), lead), Claim::UpTo(at(10)));
        assert_eq!(claim_bound(at(10), Some(at(10)), lead), Claim::UpTo(at(10)));
    }

    #[test]
    fn a_send_is_claimed_no_earlier_than_its_lead_and_goes_out_at_its_instant() {
        let lead = Duration::from_millis(50);
        assert_eq!(
            claim_bound(at(0), Some(at(50_001)), lead),
            Claim::Sleep(Duration::from_micros(1))
        );
        assert_eq!(
            claim_bound(at(0), Some(at(50_000)), lead),
            Claim::UpTo(at(50_000))
        );
        assert_eq!(
            claim_bound(at(0), Some(at(3_000)), lead),
            Claim::UpTo(at(3_000))
        );
        assert_eq!(
            claim_bound(at(0), Some(at(60_000_000)), lead),
            Claim::Sleep(MAX_SLEEP)
        );
    }

    #[test]
    fn no_lead_claims_only_what_is_due() {
        assert_eq!(
            claim_bound(at(0), Some(at(7)), Duration::ZERO),
            Claim::Sleep(Duration::from_micros(7))
        );
    }
}
