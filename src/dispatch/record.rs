//! Recording a send's outcome, and what to do when the store refuses: one exhaustive
//! match over [`ErrorClass`] decides retry (transient), give up with the reason
//! (permanent) or stop the daemon (fatal).

use std::time::Duration;

use chrono::Utc;

use super::recurring;
use super::task::SendTask;
use crate::store::{AttemptOutcome, AttemptRecord, ClaimedSend, ErrorClass, FollowUp, SendUpdate};

impl SendTask {
    /// Records the outcome (and a cron job's follow-up with it). A transient store error
    /// is retried with backoff, the send staying in flight (an outcome lost would mean
    /// posting it again after a restart); a permanent one ends the send `failed` with the
    /// reason (and a follow-up that cannot be written makes the job `broken`); a fatal one
    /// (the writer died) stops the daemon.
    pub(super) async fn record(
        &self,
        send: &ClaimedSend,
        attempt: AttemptRecord,
        update: SendUpdate,
        follow: Option<FollowUp>,
    ) {
        let mut delay = Duration::from_millis(50);
        let mut follow = follow;
        let mut update = update;
        let mut attempt = attempt;
        let mut gave_up = false;
        loop {
            let result = self
                .store
                .record_outcome_then(
                    send.send_id,
                    attempt.clone(),
                    update.clone(),
                    follow.clone(),
                )
                .await;
            let Err(error) = result else { return };
            match error.class() {
                ErrorClass::Transient => {
                    tracing::warn!(send = send.send_id, %error, "cannot record a send's outcome yet; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                ErrorClass::Permanent
                    if follow
                        .as_ref()
                        .is_some_and(|f| !matches!(f, FollowUp::Broken { .. })) =>
                {
                    let reason = format!("cannot schedule the next occurrence: {error}");
                    recurring::log_broken(&send.job_id, &reason);
                    follow = Some(FollowUp::Broken { reason });
                }
                ErrorClass::Permanent if !gave_up => {
                    tracing::error!(send = send.send_id, %error, "a send's outcome cannot be recorded: the send is failed with the reason");
                    let message = format!(
                        "the outcome ({}) could not be recorded: {error}",
                        describe(&update)
                    );
                    attempt.outcome = AttemptOutcome::Failed;
                    attempt.error = Some(message.clone());
                    update = SendUpdate::Failed {
                        code: None,
                        message,
                        details: None,
                        at: Utc::now(),
                    };
                    follow = None;
                    gave_up = true;
                }
                ErrorClass::Permanent => {
                    tracing::error!(send = send.send_id, %error, "cannot even fail a send; it is recovered as interrupted at the next start");
                    return;
                }
                ErrorClass::Fatal => {
                    self.fatal
                        .raise(format!("the database cannot be written: {error}"));
                    return;
                }
            }
        }
    }
}

/// A short word for what an outcome was, for a failure that replaces it.
fn describe(update: &SendUpdate) -> String {
    match update {
        SendUpdate::Sent {
            bird_message_id,
            bird_status,
            ..
        } => {
            format!("Bird accepted it: id {bird_message_id:?}, status {bird_status}")
        }
        SendUpdate::Retry { error, .. } => format!("to be retried after: {error}"),
        SendUpdate::Failed { message, .. } => format!("failed: {message}"),
        SendUpdate::Expired { reason, .. } => format!("expired: {reason}"),
    }
}
