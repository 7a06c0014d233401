//! One claimed send on its way to Bird: the last checks (overtaken, expired, channel,
//! quiet hours, still `sending`), the request, and the outcome recorded.
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
use tokio::sync::Notify;

use super::outcome::{self, WorkspaceEffect};
use super::recurring::{self, Loaded};
use super::transport::Transport;
use super::{Fatal, Shared, backoff, lock};
use crate::config::Config;
use crate::job::payload;
use crate::quiet::QuietWindow;
use crate::store::{AttemptOutcome, AttemptRecord, ClaimedSend, FollowUp, SendUpdate, Store};

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
}

impl SendTask {
    pub(super) async fn run(self, send: ClaimedSend) {
        let started = Utc::now();
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
        let (attempt, update) = match self.prepare(&send, started, recurrence.as_deref()) {
            Err(done) => done,
            Ok((channel_id, body, quiet)) => {
                if !self.checked && !self.still_sending(&send, started).await {
                    self.done(&send);
                    return;
                }
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
    /// for a token (a 429 pause, say) means it is never posted. False: do not post.
    async fn still_sending(&self, send: &ClaimedSend, started: DateTime<Utc>) -> bool {
        match self.store.send_state(send.send_id).await {
            Ok(Some(state)) if state == "sending" => true,
            Ok(state) => {
                tracing::info!(job = %send.job_id, send = send.send_id, state = state.as_deref().unwrap_or("deleted"), "not sent: the send changed while it waited (canceled?)");
                false
            }
            Err(e) => {
                // Unknown: not posting is the safe side; it goes back for a retry.
                tracing::warn!(send = send.send_id, error = %e, "cannot re-check a send before its request; trying it again shortly");
                let error = format!("state not readable before the request: {e}");
                let update = SendUpdate::Retry {
                    next_attempt: started + chrono::Duration::seconds(1),
                    count_attempt: false,
                    error: error.clone(),
                };
                let attempt = AttemptRecord {
                    started,
                    finished: Utc::now(),
                    http_status: None,
                    outcome: AttemptOutcome::Retry,
                    error: Some(error),
                };
                self.record(send, attempt, update, None).await;
                false
            }
        }
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
        if recurrence.is_some_and(|r| r.schedule().overtaken(send.occurrence, now)) {
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
