//! One claimed send on its way to Bird: the state re-check, the decision before the
//! request ([`super::decide`]) carried out, the request, and the outcome recorded.
//!
//! Trusts: the dispatch loop to have claimed the send and taken a token for it. A cron
//! job's next occurrence is decided here, before the outcome is recorded, and goes into
//! the same transaction.
//! Guarantees: a send whose state changed before its request started (an operator's
//! cancel) is never posted; the outcome is recorded before the send leaves the in-flight
//! set, so a stop puts back exactly the sends whose outcome is not on disk.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};

use super::decide::{self, Before, Recheck};
use super::outcome::{self, WorkspaceEffect};
use super::recurring::{self, Loaded};
use super::transport::Transport;
use super::{Fatal, Shared, backoff, lock, window};
use crate::config::Config;
use crate::store::{ClaimedSend, FollowUp, SendState, SendUpdate, Store};

/// One claimed send on its way to Bird.
pub(super) struct SendTask {
    pub(super) store: Store,
    pub(super) config: Arc<Config>,
    pub(super) transport: Arc<Transport>,
    pub(super) shared: Arc<Shared>,
    pub(super) waker: Arc<Notify>,
    pub(super) fatal: Arc<Fatal>,
    /// True when the loop re-read the send's state just before launching this task.
    pub(super) checked: bool,
    /// Opens at the send's instant; closed unopened when dispatch stops first.
    pub(super) gate: watch::Receiver<bool>,
    /// The workspace's GET budget (reconciliation).
    pub(super) gets: super::GetBudget,
    /// The instant the request starts at (at or after the send's due instant).
    pub(super) fire_at: DateTime<Utc>,
}

impl SendTask {
    pub(super) async fn run(mut self, send: ClaimedSend) {
        // Claimed ahead, the task starts before its instant: expiry and the attempt are
        // judged at the instant the request starts.
        let started = Utc::now().max(self.fire_at);
        let loaded = match send.recurring {
            true => Some(
                self.shared
                    .recurrences
                    .get(&self.store, &self.config, &send, started)
                    .await,
            ),
            false => None,
        };
        let recurrence = match &loaded {
            Some(Loaded::Ready(rec)) => Some(rec.clone()),
            Some(Loaded::Gone | Loaded::Broken(_)) | None => None,
        };
        let recheck = match self.checked {
            true => Recheck::Sending,
            false => self.recheck(&send).await,
        };
        let cron = recurrence.as_deref().map(recurring::Recurrence::schedule);
        let (attempt, update) = match decide::before_request(
            &send,
            &recheck,
            cron,
            &self.config,
            started,
        ) {
            Before::Send {
                channel_id,
                body,
                quiet,
            } => {
                if self.gate.wait_for(|open| *open).await.is_err() {
                    // Stopping before the instant: the send stays claimed and is put back.
                    return;
                }
                // An earlier unknown outcome: Bird is asked first (dispatch/reconcile.rs).
                let settled = self
                    .reconcile_first(&send, &channel_id, quiet.as_ref())
                    .await;
                let decision = match settled {
                    Some(settled) => settled,
                    None => {
                        if send.attempts == 0 {
                            super::lateness::LATENESS.observe(send.due, Utc::now());
                        }
                        let sent_at = Instant::now();
                        let result = self.transport.send(&channel_id, body).await;
                        let congested = window::congested(&result);
                        lock(&self.shared.window).on_answer(
                            Instant::now(),
                            sent_at.elapsed(),
                            congested,
                        );
                        outcome::decide(
                            &send,
                            result,
                            started,
                            Utc::now(),
                            &self.config.retry,
                            backoff::jitter(),
                            quiet.as_ref(),
                        )
                    }
                };
                self.apply(decision.workspace);
                (decision.attempt, decision.update)
            }
            Before::Canceled { state } => {
                tracing::info!(job = %send.job_id, send = send.send_id, state = state.map_or("deleted", |s| s.as_str()), "not sent: the send changed while it waited (canceled?)");
                self.done(&send);
                return;
            }
            not_sent => {
                if let Before::ChannelGone { error, .. } = &not_sent {
                    tracing::error!(send = send.send_id, %error);
                }
                match not_sent.record(started) {
                    Some(recorded) => recorded,
                    None => {
                        self.done(&send);
                        return;
                    }
                }
            }
        };
        log_update(&send, &update);
        let finished = !matches!(update, SendUpdate::Retry { .. });
        // Decided before the outcome is recorded, and written in the same transaction.
        let follow = match (finished, &loaded) {
            (true, Some(Loaded::Ready(rec))) => {
                Some(rec.follow_up(&self.config, send.occurrence, Utc::now()))
            }
            (true, Some(Loaded::Broken(reason))) => {
                recurring::log_broken(&send.job_id, reason);
                Some(FollowUp::Broken {
                    reason: reason.clone(),
                })
            }
            (true, Some(Loaded::Gone) | None) | (false, _) => None,
        };
        self.record(&send, attempt, update, follow).await;
        super::crash::point("after_outcome");
        self.done(&send);
    }

    /// The send leaves the in-flight set; the loop may claim again.
    fn done(&self, send: &ClaimedSend) {
        lock(&self.shared.claimed).remove(&send.send_id);
        self.waker.notify_one();
    }

    /// The last look before the request starts: a cancel committed while this send waited
    /// for a token (a 429 pause, say) means it is never posted.
    async fn recheck(&self, send: &ClaimedSend) -> Recheck {
        match self.store.send_state(send.send_id).await {
            Ok(Some(SendState::Sending)) => Recheck::Sending,
            Ok(state) => Recheck::Changed(state),
            Err(e) => {
                tracing::warn!(send = send.send_id, error = %e, "cannot re-check a send before its request; trying it again shortly");
                Recheck::Unreadable(e.to_string())
            }
        }
    }

    /// A 429 holds back every daemon sharing the workspace's bucket (PostgreSQL), not only
    /// this one; written beside the request's task so that recording its outcome does not
    /// wait for it. A pause that cannot be stored leaves the others at their own pace.
    fn pause_workspace(&self, wait: std::time::Duration) {
        let Some(until) = chrono::TimeDelta::from_std(wait)
            .ok()
            .and_then(|w| chrono::Utc::now().checked_add_signed(w))
        else {
            return;
        };
        let store = self.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.pause_workspace(until).await {
                tracing::warn!(error = %e, "cannot pause the shared workspace bucket; other daemons keep their pace");
            }
        });
    }

    fn apply(&self, effect: WorkspaceEffect) {
        let mut bucket = lock(&self.shared.bucket);
        match effect {
            WorkspaceEffect::None => {}
            WorkspaceEffect::SlowDown(wait) => {
                tracing::warn!(wait = %crate::duration::format_duration(wait), "Bird throttled the workspace (429): slowing down");
                bucket.pause_for(Instant::now(), wait);
                self.pause_workspace(wait);
            }
            WorkspaceEffect::KeyRefused => {
                tracing::error!(
                    pause = %crate::duration::format_duration(outcome::KEY_REFUSED_PAUSE),
                    "Bird refused the access key (401/403): dispatch paused; sends stay scheduled. Fix the key and reload (SIGHUP)"
                );
                bucket.refuse_for(Instant::now(), outcome::KEY_REFUSED_PAUSE);
            }
            WorkspaceEffect::Misdirected { location } => {
                tracing::error!(
                    location = location.as_deref().unwrap_or("none"),
                    pause = %crate::duration::format_duration(outcome::KEY_REFUSED_PAUSE),
                    "Bird's address answered a redirect, which msgspool never follows: [bird] base_url is most likely wrong. Dispatch paused; sends stay scheduled. Fix the config and reload (SIGHUP)"
                );
                bucket.refuse_for(Instant::now(), outcome::KEY_REFUSED_PAUSE);
            }
        }
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
