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
pub mod outcome;
pub mod rate;
pub mod recurring;
pub mod transport;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;

use crate::config::Config;
use crate::job::payload;
use crate::quiet::QuietWindow;
use crate::store::{AttemptOutcome, AttemptRecord, ClaimedSend, SendUpdate, Store};
use outcome::WorkspaceEffect;
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
    /// Called once per loop turn: proof of life for the systemd watchdog.
    pub heartbeat: Arc<dyn Fn() + Send + Sync>,
}

struct Shared {
    bucket: Mutex<TokenBucket>,
    /// Sends claimed and not yet recorded: put back on stop if their request never ended.
    claimed: Mutex<HashSet<i64>>,
}

impl Dispatcher {
    /// Runs until `stop` turns true, then drains within `shutdown_grace`.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let max_in_flight = self.config.borrow().bird.max_in_flight.max(1);
        let slots = Arc::new(Semaphore::new(max_in_flight));
        let shared = Arc::new(Shared {
            bucket: Mutex::new(TokenBucket::new(
                self.config.borrow().bird.rate_limit,
                Instant::now(),
            )),
            claimed: Mutex::new(HashSet::new()),
        });
        let mut tasks = JoinSet::new();
        while !*stop.borrow() {
            (self.heartbeat)();
            while tasks.try_join_next().is_some() {}
            if let Some(wait) = self.paused_for(&shared) {
                self.sleep(wait, &mut stop).await;
                continue;
            }
            let free = slots.available_permits();
            if free == 0 {
                self.sleep(MAX_SLEEP, &mut stop).await;
                continue;
            }
            let claimed = match self.alive(self.store.claim_due(Utc::now(), free)).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "cannot claim due sends; retrying");
                    self.sleep(MAX_SLEEP, &mut stop).await;
                    continue;
                }
            };
            if claimed.is_empty() {
                let wait = self.until_next_due().await;
                self.sleep(wait, &mut stop).await;
                continue;
            }
            for send in claimed {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    break;
                };
                lock(&shared.claimed).insert(send.send_id);
                self.take_token(&shared).await;
                let job = SendTask {
                    store: self.store.clone(),
                    config: self.config.borrow().clone(),
                    transport: self.transport.borrow().clone(),
                    shared: shared.clone(),
                    waker: self.waker.clone(),
                };
                tasks.spawn(async move {
                    job.run(send).await;
                    drop(permit);
                });
            }
        }
        self.drain(tasks, &shared).await;
    }

    /// How long the workspace must still wait (429 or refused key), if at all.
    fn paused_for(&self, shared: &Shared) -> Option<Duration> {
        let mut bucket = lock(&shared.bucket);
        // Peek: a pause answers with a wait without using a token.
        let wait = bucket.paused_for(Instant::now());
        wait.map(|w| w.min(MAX_SLEEP))
    }

    async fn take_token(&self, shared: &Shared) {
        loop {
            // A long wait here (429, refused key, low rate) must not starve the watchdog.
            (self.heartbeat)();
            let wait = lock(&shared.bucket).take(Instant::now());
            match wait {
                None => return,
                Some(d) => tokio::time::sleep(d.min(MAX_SLEEP)).await,
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

/// One claimed send on its way to Bird.
struct SendTask {
    store: Store,
    config: Arc<Config>,
    transport: Arc<Transport>,
    shared: Arc<Shared>,
    waker: Arc<Notify>,
}

impl SendTask {
    async fn run(self, send: ClaimedSend) {
        let started = Utc::now();
        let recurrence =
            recurring::Recurrence::load(&self.store, &self.config, &send, started).await;
        let (attempt, update) = match self.prepare(&send, started, recurrence.as_ref()) {
            Err(done) => done,
            Ok((channel_id, body, quiet)) => {
                let result = self.transport.send(&channel_id, &body).await;
                let decision = outcome::decide(
                    &send,
                    result,
                    started,
                    Utc::now(),
                    &self.config.retry,
                    backoff::jitter(),
                    quiet.as_ref(),
                );
                self.apply(decision.workspace);
                (decision.attempt, decision.update)
            }
        };
        log_update(&send, &update);
        let finished = !matches!(update, SendUpdate::Retry { .. });
        self.record(send.send_id, attempt, update).await;
        if let (true, Some(rec)) = (finished, &recurrence) {
            rec.follow_up(&self.store, &self.config, &send, Utc::now())
                .await;
        }
        lock(&self.shared.claimed).remove(&send.send_id);
        self.waker.notify_one();
    }

    /// The channel id and body to POST, or the outcome when there is nothing to POST.
    #[allow(clippy::result_large_err)]
    fn prepare(
        &self,
        send: &ClaimedSend,
        now: chrono::DateTime<Utc>,
        recurrence: Option<&recurring::Recurrence>,
    ) -> Result<(String, serde_json::Value, Option<QuietWindow>), (AttemptRecord, SendUpdate)> {
        let attempt = |outcome, error: &str| AttemptRecord {
            started: now,
            finished: now,
            http_status: None,
            outcome,
            error: Some(error.to_owned()),
        };
        if recurrence.is_some_and(|r| r.overtaken(send, now)) {
            let reason = "skipped: a later occurrence of this recurring job is already due (msgspool was not running)".to_owned();
            return Err((
                attempt(AttemptOutcome::Expired, &reason),
                SendUpdate::Expired { reason, at: now },
            ));
        }
        if now >= send.expires {
            let reason = format!(
                "validity ended at {} before it could be sent",
                crate::timefmt::utc_text(send.expires)
            );
            return Err((
                attempt(AttemptOutcome::Expired, &reason),
                SendUpdate::Expired { reason, at: now },
            ));
        }
        let Some(channel) = self.config.channels.get(&send.channel) else {
            let error = format!(
                "channel {:?} is not in the config any more; add it back or cancel the send",
                send.channel
            );
            tracing::error!(send = send.send_id, %error);
            let next = now + chrono::Duration::seconds(60);
            return Err((
                attempt(AttemptOutcome::Retry, &error),
                SendUpdate::Retry {
                    next_attempt: next,
                    count_attempt: false,
                    error,
                },
            ));
        };
        let body: serde_json::Value = match serde_json::from_str(&send.payload) {
            Ok(b) => b,
            Err(e) => {
                let message = format!("stored payload is not JSON: {e}");
                return Err((
                    attempt(AttemptOutcome::Failed, &message),
                    SendUpdate::Failed {
                        code: None,
                        message,
                        details: None,
                        at: now,
                    },
                ));
            }
        };
        let ignores_quiet = body
            .get("ignoreQuietHours")
            .and_then(serde_json::Value::as_bool)
            == Some(true);
        let quiet =
            crate::quiet::window_for(&self.config, &send.channel).filter(|_| !ignores_quiet);
        if let Some(q) = quiet.filter(|q| q.contains(now)) {
            // Quiet hours began after the send was planned (or the config changed).
            let error = format!("deferred by quiet hours ({})", q.describe());
            let update =
                outcome::retry_or_expire(send, q.defer(now), false, error.clone(), now, Some(&q));
            return Err((attempt(AttemptOutcome::Retry, &error), update));
        }
        let left = (send.expires - now).num_seconds().max(0) as u64;
        Ok((
            channel.id.clone(),
            payload::with_validity(body, left),
            quiet,
        ))
    }

    fn apply(&self, effect: WorkspaceEffect) {
        let mut bucket = lock(&self.shared.bucket);
        match effect {
            WorkspaceEffect::None => {}
            WorkspaceEffect::SlowDown(wait) => {
                tracing::warn!(wait = %crate::duration::format_duration(wait), "Bird throttled the workspace (429): slowing down");
                bucket.pause_for(Instant::now(), wait);
            }
            WorkspaceEffect::KeyRefused => {
                tracing::error!(
                    pause = %crate::duration::format_duration(outcome::KEY_REFUSED_PAUSE),
                    "Bird refused the access key (401/403): dispatch paused; sends stay scheduled. Fix the key and reload (SIGHUP)"
                );
                bucket.pause_for(Instant::now(), outcome::KEY_REFUSED_PAUSE);
            }
            WorkspaceEffect::Misdirected { location } => {
                tracing::error!(
                    location = location.as_deref().unwrap_or("none"),
                    pause = %crate::duration::format_duration(outcome::KEY_REFUSED_PAUSE),
                    "Bird's address answered a redirect, which msgspool never follows: [bird] base_url is most likely wrong. Dispatch paused; sends stay scheduled. Fix the config and reload (SIGHUP)"
                );
                bucket.pause_for(Instant::now(), outcome::KEY_REFUSED_PAUSE);
            }
        }
    }

    /// Records the outcome; keeps trying while the database refuses (locked, full), since
    /// a send whose outcome is lost would be sent again after a restart.
    async fn record(&self, send_id: i64, attempt: AttemptRecord, update: SendUpdate) {
        let mut delay = Duration::from_millis(50);
        for _ in 0..600 {
            match self
                .store
                .record_outcome(send_id, attempt.clone(), update.clone())
                .await
            {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(send = send_id, error = %e, "cannot record a send's outcome; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
        tracing::error!(
            send = send_id,
            "gave up recording a send's outcome; it is recovered as interrupted at the next start"
        );
    }
}

fn log_update(send: &ClaimedSend, update: &SendUpdate) {
    match update {
        SendUpdate::Sent { bird_status, .. } if bird_status == outcome::UNCONFIRMED => {
            tracing::warn!(job = %send.job_id, send = send.send_id, "Bird answered 2xx without a message id: recorded as sent, status unconfirmed (not posted again; it may have been accepted)");
        }
        SendUpdate::Sent {
            bird_message_id,
            bird_status,
            ..
        } => {
            tracing::info!(job = %send.job_id, send = send.send_id, bird_id = %bird_message_id, status = %bird_status, "sent");
        }
        SendUpdate::Retry {
            next_attempt,
            error,
            ..
        } => {
            tracing::warn!(job = %send.job_id, send = send.send_id, next = %crate::timefmt::utc_text(*next_attempt), %error, "send will be retried");
        }
        SendUpdate::Failed { message, .. } => {
            tracing::error!(job = %send.job_id, send = send.send_id, %message, "send failed");
        }
        SendUpdate::Expired { reason, .. } => {
            tracing::warn!(job = %send.job_id, send = send.send_id, %reason, "send expired");
        }
    }
}

/// Locks a mutex, taking the data even if a panicking task poisoned it (the data is a
/// bucket and a set of ids; both stay meaningful).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
