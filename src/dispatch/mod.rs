//! Dispatch: sends each due send at its time, with rate limits, retries and a clean stop.
//!
//! The loop sleeps until the earliest due send is `[bird] claim_ahead` away, or until
//! poked (intake committed an earlier one, a request finished), and never longer than
//! [`MAX_SLEEP`] without re-reading the wall clock, so a clock step is noticed within a
//! second. It claims sends due at that instant (`scheduled → sending`, committed; overdue
//! sends all at once) only as many as the in-flight window ([`window`]) has free slots, so
//! the commit is done before the instant comes; the claim commits beside the loop
//! ([`claiming`]), which fires groups claimed before it meanwhile. Then each send takes a
//! token from the workspace's bucket, the group is re-read, and its requests start together at the instant
//! ([`timer`]: never before it). No database transaction is held across an HTTP request.
//! The task records the attempt and the send's next state as [`outcome::decide`] says.
//! On stop, nothing new is claimed, requests in flight get `shutdown_grace` to finish, and
//! any claimed send that did not finish (waiting for its instant included) is put back to
//! `scheduled`.

pub mod backoff;
mod claiming;
mod crash;
pub mod decide;
mod drain;
mod fatal;
mod fire;
mod gets;
pub mod lateness;
pub mod outcome;
pub mod rate;
mod reconcile;
mod record;
pub mod recurring;
mod task;
pub mod timer;
pub mod transport;
pub mod window;

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::config::Config;
use crate::store::Store;
pub use fatal::Fatal;
pub use gets::GetBudget;
use rate::TokenBucket;
use timer::Claim;
use transport::Transport;
use window::Window;

/// The longest the loop sleeps without looking at the wall clock again.
pub const MAX_SLEEP: Duration = Duration::from_secs(1);

/// How long before a claimed group's instant it is re-read (a cancel committed before
/// then is honoured) and its requests are prepared.
const RECHECK_AHEAD: Duration = Duration::from_millis(3);

/// Shared state of one dispatcher.
pub struct Dispatcher {
    pub store: Store,
    pub config: watch::Receiver<Arc<Config>>,
    pub transport: watch::Receiver<Arc<Transport>>,
    /// Poke to make the loop re-read the next due time now.
    pub waker: Arc<Notify>,
    /// Called once per loop turn that makes progress: proof of life for the watchdog.
    pub heartbeat: Arc<dyn Fn() + Send + Sync>,
    /// Raised when dispatch cannot go on; the daemon then exits non-zero.
    pub fatal: Arc<Fatal>,
    /// The workspace's GET budget, shared with delivery polling.
    pub gets: GetBudget,
}

/// How long claims may keep failing for a reason waiting cannot fix before the daemon
/// gives up and exits (so that systemd restarts it).
const CLAIM_FAILING_LIMIT: Duration = Duration::from_secs(60);

pub(crate) struct Shared {
    pub(crate) bucket: Mutex<TokenBucket>,
    /// How many requests may be in flight; answers make it grow or shrink.
    pub(crate) window: Mutex<Window>,
    /// Sends claimed and not yet recorded: put back on stop if their request never ended.
    pub(crate) claimed: Mutex<HashSet<i64>>,
    /// Cron jobs parsed once per config, not per attempt.
    pub(crate) recurrences: recurring::Recurrences,
}

impl Dispatcher {
    /// Runs until `stop` turns true, then drains within `shutdown_grace`.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let (rate, cap) = {
            let c = self.config.borrow();
            (c.bird.rate_limit, c.bird.max_in_flight)
        };
        // A bucket shared with other daemons (PostgreSQL) takes the same rate.
        self.store.set_rate_limit(rate);
        let shared = Arc::new(Shared {
            bucket: Mutex::new(TokenBucket::new(rate, Instant::now())),
            window: Mutex::new(Window::new(cap)),
            claimed: Mutex::new(HashSet::new()),
            recurrences: recurring::Recurrences::default(),
        });
        let mut tasks = JoinSet::new();
        // Claimed ahead and waiting for their instant, earliest first: the loop claims the
        // next instant's sends while these wait, so each has its whole lead.
        let mut waiting: VecDeque<fire::Group> = VecDeque::new();
        let mut failing_since: Option<Instant> = None;
        let mut claiming: Option<claiming::Claiming> = None;
        while !*stop.borrow() {
            // A loop that cannot claim for a reason waiting cannot fix is not alive.
            if failing_since.is_none() {
                (self.heartbeat)();
            }
            while tasks.try_join_next().is_some() {}
            self.follow_reload(&shared);
            if let Some(wait) = self.paused_for(&shared) {
                self.sleep(wait, &mut stop).await;
                continue;
            }
            let now = Utc::now();
            let head_in = waiting.front().map(|g| g.recheck_in(now));
            if head_in.is_some_and(|left| left.is_zero()) {
                if let Some(group) = waiting.pop_front()
                    && !self.fire(group, &shared, &mut tasks, &mut stop).await
                {
                    break;
                }
                continue;
            }
            // A claim still committing: fire what is due meanwhile, take its answer when it comes.
            if let Some(pending) = claiming.as_mut() {
                let Some(answer) = Self::answer_of(pending, head_in, &mut stop).await else {
                    continue;
                };
                if let Some(pending) = claiming.take() {
                    let then = self
                        .took(
                            pending,
                            answer,
                            &shared,
                            &mut waiting,
                            &mut failing_since,
                            &mut stop,
                        )
                        .await;
                    if matches!(then, claiming::Then::Stop) {
                        break;
                    }
                }
                continue;
            }
            // No sleep outlasts the wait of the earliest claimed group.
            let nap = |wait: Duration| head_in.map_or(wait, |left| wait.min(left));
            // Read each turn, so a reload changes it at once.
            let lead = self.config.borrow().bird.claim_ahead;
            let earliest = self.alive(self.store.next_due()).await;
            let bound = match &earliest {
                Ok(earliest) => timer::claim_bound(now, *earliest, lead),
                // The claim below meets the same trouble and handles it.
                Err(_) => Claim::UpTo(now),
            };
            let queued: usize = waiting.iter().map(fire::Group::len).sum();
            let free = lock(&shared.window)
                .size()
                .saturating_sub(tasks.len())
                .saturating_sub(queued);
            if free == 0 {
                lock(&shared.window).note_full(matches!(bound, Claim::UpTo(_)));
                self.sleep(nap(MAX_SLEEP), &mut stop).await;
                continue;
            }
            let fire_at = match bound {
                Claim::UpTo(at) => at,
                Claim::Sleep(wait) => {
                    lock(&shared.window).note_full(false);
                    self.sleep(nap(wait), &mut stop).await;
                    continue;
                }
            };
            claiming = Some(self.start_claim(fire_at, free, earliest.is_ok()));
        }
        Self::settle_claim(claiming, &shared).await;
        self.drain(tasks, &shared).await;
    }

    /// Applies what a reload changed: the rate and the window's cap at once; a new transport (key, base URL)
    /// lifts a pause that a refused key or a redirect imposed.
    fn follow_reload(&mut self, shared: &Shared) {
        if self.config.has_changed().unwrap_or(false) {
            let (rate, cap) = {
                let c = self.config.borrow_and_update();
                (c.bird.rate_limit, c.bird.max_in_flight)
            };
            lock(&shared.bucket).set_rate(rate);
            self.store.set_rate_limit(rate);
            lock(&shared.window).set_cap(cap);
        }
        if self.transport.has_changed().unwrap_or(false) {
            self.transport.borrow_and_update();
            lock(&shared.bucket).lift_refusal();
        }
    }

    /// How long the workspace must still wait (429 or refused key), if at all.
    fn paused_for(&self, shared: &Shared) -> Option<Duration> {
        let mut bucket = lock(&shared.bucket);
        // Peek: a pause answers with a wait without using a token.
        let wait = bucket.paused_for(Instant::now());
        wait.map(|w| w.min(MAX_SLEEP))
    }

    /// Awaits a store call while still proving life to the watchdog: an operator holding
    /// the write lock makes the loop wait, but the loop is not stuck.
    async fn alive<T>(&self, call: impl std::future::Future<Output = T>) -> T {
        tokio::pin!(call);
        loop {
            tokio::select! {
                out = &mut call => return out,
                _ = tokio::time::sleep(MAX_SLEEP) => (self.heartbeat)(),
            }
        }
    }

    async fn sleep(&self, wait: Duration, stop: &mut watch::Receiver<bool>) {
        if wait.is_zero() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = self.waker.notified() => {}
            _ = stop.changed() => {}
        }
    }
}

/// Locks a mutex, taking the data even if a panicking task poisoned it (the data is a
/// bucket and a set of ids; both stay meaningful).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
