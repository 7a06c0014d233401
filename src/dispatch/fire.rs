//! A claimed group on its way out: a token each, one re-read of the group just before its
//! instant, then every request of the group started together at that instant.
//!
//! Trusts: the loop to have claimed the group and put it in the in-flight set; the group's
//! instant to be at or after every member's due instant (the claim bound).
//! Guarantees: no request starts before the instant ([`timer::wait_until`]); a send whose
//! state changed before the re-read is never posted; a stop while the group waits (for
//! its instant or a token) starts none of the waiting requests, and leaves their sends in
//! the in-flight set, so the drain puts them back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{Dispatcher, MAX_SLEEP, RECHECK_AHEAD, Shared, lock, task, timer};
use crate::store::{ClaimedSend, SendState};

/// Sends claimed together, to start at one instant (at or after each one's due instant).
pub(super) struct Group {
    pub(super) fire_at: DateTime<Utc>,
    pub(super) sends: Vec<ClaimedSend>,
}

impl Group {
    pub(super) fn len(&self) -> usize {
        self.sends.len()
    }

    /// How long until the group is re-read and its requests prepared (zero: now).
    pub(super) fn recheck_in(&self, now: DateTime<Utc>) -> Duration {
        (self.fire_at - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
            .saturating_sub(RECHECK_AHEAD)
    }
}

impl Dispatcher {
    /// Takes a token for each send of the group and starts its request at the group's
    /// instant (at once when that has passed); false when told to stop first.
    pub(super) async fn fire(
        &mut self,
        group: Group,
        shared: &Arc<Shared>,
        tasks: &mut JoinSet<()>,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        // The loop hands the group over just before its instant, not at the claim: a
        // cancel committed while it waited for its instant is honoured.
        let Group { fire_at, sends } = group;
        // Sends whose token is taken go out in groups: one read re-checks a whole group
        // just before its requests start, and a group is launched before any wait for the
        // next token, so no send waits between its check and its POST.
        let mut ready = Vec::new();
        for send in sends {
            let immediate = lock(&shared.bucket).take(Instant::now()).is_none();
            if !immediate {
                if !self.launch(&mut ready, fire_at, shared, tasks, stop).await {
                    return false;
                }
                if !self.take_token(shared, stop).await {
                    return false;
                }
            }
            ready.push(send);
        }
        self.launch(&mut ready, fire_at, shared, tasks, stop).await
    }

    /// Re-reads the state of every send in `ready` (one read), starts a task for each
    /// still `sending`, and lets their requests go at `fire_at`: a cancel committed while it
    /// waited means it is never posted. When the read fails, each send checks itself
    /// before its request. False when told to stop before the instant.
    async fn launch(
        &self,
        ready: &mut Vec<ClaimedSend>,
        fire_at: DateTime<Utc>,
        shared: &Arc<Shared>,
        tasks: &mut JoinSet<()>,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        if ready.is_empty() {
            return true;
        }
        let ids = ready.iter().map(|s| s.send_id).collect();
        let states = self.alive(self.store.send_states_of(ids)).await;
        let (open, gate) = watch::channel(false);
        for send in ready.drain(..) {
            let checked = match &states {
                Ok(states) => match states.get(&send.send_id) {
                    Some(SendState::Sending) => true,
                    other => {
                        tracing::info!(job = %send.job_id, send = send.send_id, state = other.map_or("deleted", |s| s.as_str()), "not sent: the send changed while it waited (canceled?)");
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
                gate: gate.clone(),
                gets: self.gets.clone(),
                fire_at,
            };
            tasks.spawn(job.run(send));
        }
        // The tasks prepare their requests meanwhile and wait at the gate.
        let on_time = tokio::select! {
            () = timer::wait_until(fire_at) => true,
            _ = stop.changed() => false,
        };
        if on_time {
            // No receiver left only when every task already ended; nothing to open then.
            let _ = open.send(true);
        }
        on_time
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
}
