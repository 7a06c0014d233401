//! The claim in flight: at most one claim commits beside the loop while the loop goes on
//! firing the groups it claimed before.
//!
//! Why: a claim is a durable commit, and a disk now and then holds one fsync for hundreds
//! of milliseconds. Awaited inline, that commit held up every group already claimed and
//! waiting for its instant, so they all went out late together.
//! Trusts: the store to answer every claim (committed, or an error and nothing kept).
//! Guarantees: a claim's sends enter the in-flight set before anything can wait on them,
//! and a claim still in flight at stop is awaited, so the drain puts its sends back.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{CLAIM_FAILING_LIMIT, Dispatcher, MAX_SLEEP, Shared, fire, lock};
use crate::store::{ClaimedSend, ErrorClass, StoreError};

type Claimed = Result<Vec<ClaimedSend>, StoreError>;

/// A claim started and not yet answered. It runs as a task of its own: on PostgreSQL the
/// claim is async work that must go on while the loop waits for a group's instant.
pub(super) struct Claiming {
    answer: JoinHandle<Claimed>,
    /// The instant its sends go out at.
    fire_at: DateTime<Utc>,
    /// How many it asked for (the window's free slots).
    asked: usize,
    /// Whether the next due time was read (an empty answer is then a race, not trouble).
    earliest_known: bool,
}

/// What the loop does after a claim's answer.
pub(super) enum Then {
    Go,
    Stop,
}

impl Dispatcher {
    /// Starts a claim of up to `asked` sends due at `fire_at`; it commits while the loop goes on.
    pub(super) fn start_claim(
        &self,
        fire_at: DateTime<Utc>,
        asked: usize,
        earliest_known: bool,
    ) -> Claiming {
        let store = self.store.clone();
        Claiming {
            answer: tokio::spawn(async move { store.claim_due(fire_at, asked).await }),
            fire_at,
            asked,
            earliest_known,
        }
    }

    /// Waits for the claim's answer, but no longer than until the earliest waiting group's
    /// re-read (or [`MAX_SLEEP`], for the watchdog), or a stop. `None`: not answered yet.
    pub(super) async fn answer_of(
        claiming: &mut Claiming,
        head_in: Option<Duration>,
        stop: &mut watch::Receiver<bool>,
    ) -> Option<Claimed> {
        let wait = head_in.map_or(MAX_SLEEP, |left| left.min(MAX_SLEEP));
        tokio::select! {
            joined = &mut claiming.answer => Some(joined.unwrap_or_else(|e| Err(StoreError::Internal(e.to_string())))),
            _ = tokio::time::sleep(wait) => None,
            _ = stop.changed() => None,
        }
    }

    /// Puts a claim's sends in the in-flight set and in `waiting`, in order of instant; on
    /// an error, waits (never past the earliest waiting group) and tells whether to go on.
    pub(super) async fn took(
        &mut self,
        claiming: Claiming,
        answer: Claimed,
        shared: &Arc<Shared>,
        waiting: &mut VecDeque<fire::Group>,
        failing_since: &mut Option<Instant>,
        stop: &mut watch::Receiver<bool>,
    ) -> Then {
        let head_in = waiting.front().map(|g| g.recheck_in(Utc::now()));
        let nap = |wait: Duration| head_in.map_or(wait, |left| wait.min(left));
        let Claiming {
            fire_at,
            asked,
            earliest_known,
            ..
        } = claiming;
        let claimed = match answer {
            Ok(c) => {
                *failing_since = None;
                c
            }
            Err(e) => {
                match e.class() {
                    ErrorClass::Transient => {
                        tracing::warn!(error = %e, "cannot claim due sends yet; retrying");
                    }
                    ErrorClass::Permanent => {
                        tracing::error!(error = %e, "cannot claim due sends; retrying (the watchdog is not fed meanwhile)");
                        let since = *failing_since.get_or_insert_with(Instant::now);
                        if since.elapsed() >= CLAIM_FAILING_LIMIT {
                            self.fatal.raise(format!(
                                "claims kept failing for {}: {e}",
                                crate::duration::format_duration(CLAIM_FAILING_LIMIT)
                            ));
                            return Then::Stop;
                        }
                    }
                    ErrorClass::Fatal => {
                        self.fatal.raise(format!("cannot claim due sends: {e}"));
                        return Then::Stop;
                    }
                }
                self.sleep(nap(MAX_SLEEP), stop).await;
                return Then::Go;
            }
        };
        if claimed.is_empty() {
            // Raced with a cancel, or a row the claim skips: look again shortly (an
            // unreadable next due time: after the longest sleep, not in a spin).
            let wait = if earliest_known {
                Duration::from_millis(5)
            } else {
                MAX_SLEEP
            };
            self.sleep(nap(wait), stop).await;
            return Then::Go;
        }
        if claimed.len() < asked {
            lock(&shared.window).note_full(false);
        }
        // All of them, before any wait: a stop while they wait for their instant or a
        // token puts back every claimed send, not only those already on their way.
        lock(&shared.claimed).extend(claimed.iter().map(|s| s.send_id));
        // In order of instant: an earlier send taken in meanwhile goes before.
        let at = waiting.partition_point(|g| g.fire_at <= fire_at);
        waiting.insert(
            at,
            fire::Group {
                fire_at,
                sends: claimed,
            },
        );
        Then::Go
    }

    /// At stop: the claim still committing is awaited, and whatever it took joins the
    /// in-flight set, so the drain puts it back.
    pub(super) async fn settle_claim(claiming: Option<Claiming>, shared: &Shared) {
        if let Some(claiming) = claiming
            && let Ok(Ok(claimed)) = claiming.answer.await
        {
            lock(&shared.claimed).extend(claimed.iter().map(|s| s.send_id));
        }
    }
}
