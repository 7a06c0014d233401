//! Dispatch: sends each due send at its time, with rate limits, retries and a clean stop.
//!
//! The loop sleeps until the earliest due send, or until poked (intake committed an
//! earlier one, a request finished), and never longer than [`MAX_SLEEP`] without re-reading
//! the wall clock, so a clock step is noticed within a second. It claims due sends
//! (`scheduled → sending`, committed) only as many as there are free in-flight slots, then
//! each one takes a token from the workspace's bucket and goes out on its own task; no
//! database transaction is held across an HTTP request. The task records the attempt and
//! the send's next state as [`outcome::decide`] says. On stop, nothing new is claimed,
//! requests in flight get `shutdown_grace` to finish, and any claimed send that did not
//! finish is put back to `scheduled`.

pub mod backoff;
mod crash;
pub mod decide;
pub mod outcome;
pub mod rate;
mod reconcile;
mod record;
pub mod recurring;
mod task;
pub mod transport;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::config::Config;
use crate::store::{ClaimedSend, ErrorClass, Store};
use rate::TokenBucket;
use transport::Transport;

/// The longest the loop sleeps without looking at the wall clock again.
pub const MAX_SLEEP: Duration = Duration::from_secs(1);

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
    pub gets: crate::delivery::GetBudget,
}

/// How long claims may keep failing for a reason waiting cannot fix before the daemon
/// gives up and exits (so that systemd restarts it).
const CLAIM_FAILING_LIMIT: Duration = Duration::from_secs(60);

/// Raised when msgspool cannot go on (the writer thread died, claims keep failing): the
/// daemon stops and exits non-zero, so systemd restarts it.
#[derive(Default)]
pub struct Fatal {
    reason: Mutex<Option<String>>,
    raised: Notify,
}

impl Fatal {
    /// Says why msgspool must stop; the first reason wins.
    pub fn raise(&self, reason: String) {
        tracing::error!(%reason, "msgspool cannot go on and stops (exit 1)");
        lock(&self.reason).get_or_insert(reason);
        self.raised.notify_one();
    }

    /// Waits until raised; returns the reason.
    pub async fn raised(&self) -> String {
        loop {
            if let Some(reason) = lock(&self.reason).clone() {
                return reason;
            }
            self.raised.notified().await;
        }
    }
}

pub(crate) struct Shared {
    pub(crate) bucket: Mutex<TokenBucket>,
    /// Sends claimed and not yet recorded: put back on stop if their request never ended.
    pub(crate) claimed: Mutex<HashSet<i64>>,
    /// Cron jobs parsed once per config, not per attempt.
    pub(crate) recurrences: recurring::Recurrences,
}

impl Dispatcher {
    /// Runs until `stop` turns true, then drains within `shutdown_grace`.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let shared = Arc::new(Shared {
            bucket: Mutex::new(TokenBucket::new(
                self.config.borrow().bird.rate_limit,
                Instant::now(),
            )),
            claimed: Mutex::new(HashSet::new()),
            recurrences: recurring::Recurrences::default(),
        });
        let mut tasks = JoinSet::new();
        let mut failing_since: Option<Instant> = None;
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
            // Read each turn, so a reload changes it at once.
            let max_in_flight = self.config.borrow().bird.max_in_flight.max(1);
            let free = max_in_flight.saturating_sub(tasks.len());
            if free == 0 {
                self.sleep(MAX_SLEEP, &mut stop).await;
                continue;
            }
            let claimed = match self.alive(self.store.claim_due(Utc::now(), free)).await {
                Ok(c) => {
                    failing_since = None;
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
                                break;
                            }
                        }
                        ErrorClass::Fatal => {
                            self.fatal.raise(format!("cannot claim due sends: {e}"));
                            break;
                        }
                    }
                    self.sleep(MAX_SLEEP, &mut stop).await;
                    continue;
                }
            };
            if claimed.is_empty() {
                let wait = self.until_next_due().await;
                self.sleep(wait, &mut stop).await;
                continue;
            }
            // All of them, before any wait: a stop during a token wait puts back every
            // claimed send, not only those already on their way.
            lock(&shared.claimed).extend(claimed.iter().map(|s| s.send_id));
            // Sends whose token is taken go out in groups: one read re-checks a whole
            // group just before its requests start, and a group is launched before any
            // wait for the next token, so no send waits between its check and its POST.
            let mut ready = Vec::new();
            let mut stopped = false;
            for send in claimed {
                let immediate = lock(&shared.bucket).take(Instant::now()).is_none();
                if !immediate {
                    self.launch(&mut ready, &shared, &mut tasks).await;
                    if !self.take_token(&shared, &mut stop).await {
                        stopped = true;
                        break;
                    }
                }
                ready.push(send);
            }
            if !stopped {
                self.launch(&mut ready, &shared, &mut tasks).await;
            }
        }
        self.drain(tasks, &shared).await;
    }

    /// Re-reads the state of every send in `ready` (one read) and starts a request for
    /// each still `sending`: a cancel committed while it waited means it is never posted.
    /// When the read fails, each send checks itself before its request.
    async fn launch(
        &self,
        ready: &mut Vec<ClaimedSend>,
        shared: &Arc<Shared>,
        tasks: &mut JoinSet<()>,
    ) {
        if ready.is_empty() {
            return;
        }
        let ids = ready.iter().map(|s| s.send_id).collect();
        let states = self.alive(self.store.send_states_of(ids)).await;
        for send in ready.drain(..) {
            let checked = match &states {
                Ok(states) => match states.get(&send.send_id).map(String::as_str) {
                    Some("sending") => true,
                    other => {
                        tracing::info!(job = %send.job_id, send = send.send_id, state = other.unwrap_or("deleted"), "not sent: the send changed while it waited (canceled?)");
                        lock(&shared.claimed).remove(&send.send_id);
                        continue;
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "cannot re-check claimed sends together; each checks itself");
                    false
                }
            };
            let job = task::SendTask {
                store: self.store.clone(),
                config: self.config.borrow().clone(),
                transport: self.transport.borrow().clone(),
                shared: shared.clone(),
                waker: self.waker.clone(),
                fatal: self.fatal.clone(),
                checked,
                gets: self.gets.clone(),
            };
            tasks.spawn(job.run(send));
        }
    }

    /// Applies what a reload changed: the rate at once; a new transport (key, base URL)
    /// lifts a pause that a refused key or a redirect imposed.
    fn follow_reload(&mut self, shared: &Shared) {
        if self.config.has_changed().unwrap_or(false) {
            let rate = self.config.borrow_and_update().bird.rate_limit;
            lock(&shared.bucket).set_rate(rate);
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

    /// Waits for a token; false when told to stop first (a long 429 pause must not hold
    /// up a SIGTERM).
    async fn take_token(&mut self, shared: &Shared, stop: &mut watch::Receiver<bool>) -> bool {
        loop {
            if *stop.borrow() {
                return false;
            }
            // A reload during a long wait (a new rate, a new key) counts at once.
            self.follow_reload(shared);
            // A long wait here (429, refused key, low rate) must not starve the watchdog.
            (self.heartbeat)();
            let wait = lock(&shared.bucket).take(Instant::now());
            match wait {
                None => return true,
                Some(d) => {
                    tokio::select! {
                        _ = tokio::time::sleep(d.min(MAX_SLEEP)) => {}
                        _ = stop.changed() => {}
                    }
                }
            }
        }
    }

    async fn until_next_due(&self) -> Duration {
        match self.alive(self.store.next_due()).await {
            Ok(Some(t)) => (t - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(MAX_SLEEP),
            Ok(None) => MAX_SLEEP,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the next due time");
                MAX_SLEEP
            }
        }
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

    /// Lets requests in flight finish within `shutdown_grace`, then puts back whatever
    /// claimed send did not finish.
    async fn drain(&self, mut tasks: JoinSet<()>, shared: &Shared) {
        let grace = self.config.borrow().shutdown_grace;
        let in_flight = tasks.len();
        if in_flight > 0 {
            tracing::info!(in_flight, grace = %crate::duration::format_duration(grace), "stopping: waiting for requests in flight");
        }
        let deadline = tokio::time::Instant::now() + grace;
        while !tasks.is_empty() {
            match tokio::time::timeout_at(deadline, tasks.join_next()).await {
                Ok(_) => {}
                Err(_) => {
                    tracing::warn!(
                        left = tasks.len(),
                        "shutdown grace over: abandoning requests in flight"
                    );
                    tasks.abort_all();
                    while tasks.join_next().await.is_some() {}
                }
            }
        }
        let left: Vec<i64> = lock(&shared.claimed).drain().collect();
        if !left.is_empty() {
            let n = left.len();
            match self.store.requeue(left, Utc::now()).await {
                Ok(()) => tracing::info!(sends = n, "unsent claimed sends put back to scheduled"),
                Err(e) => {
                    tracing::error!(error = %e, "cannot put claimed sends back; they are recovered at the next start")
                }
            }
        }
    }
}

/// Locks a mutex, taking the data even if a panicking task poisoned it (the data is a
/// bucket and a set of ids; both stay meaningful).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
