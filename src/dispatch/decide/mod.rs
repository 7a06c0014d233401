//! What to do with a claimed send before its request: post it, or why not.
//!
//! Owns: the last checks before a POST, as one exhaustive [`Before`] decided by the pure
//! [`before_request`] from the claimed send, what the state re-check found, the job's cron
//! schedule (recurring sends), the config and `now`; and what each decision records
//! ([`Before::record`]). Trusts: [`crate::plan`] for quiet hours and overtaking.
//! Guarantees: no I/O and no clock here, so every variant is unit tested with fixed
//! instants; the task's I/O code only executes the decision.

use chrono::{DateTime, Utc};

use super::outcome;
use crate::config::Config;
use crate::job::{CronSchedule, payload};
use crate::quiet::QuietWindow;
use crate::store::{AttemptOutcome, AttemptRecord, ClaimedSend, SendState, SendUpdate};

/// What re-reading the send's state just before the request found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recheck {
    /// Still `sending`: claimed by this daemon and not touched since.
    Sending,
    /// Changed while it waited (an operator's cancel, say): the state, or `None` if deleted.
    Changed(Option<SendState>),
    /// The read failed.
    Unreadable(String),
}

/// What to do with a claimed send before its request.
#[derive(Debug, Clone, PartialEq)]
pub enum Before {
    /// POST `body` to channel `channel_id`; `quiet` is kept for the retry of a failure.
    Send {
        channel_id: String,
        /// The JSON text to POST.
        body: String,
        quiet: Option<QuietWindow>,
    },
    /// The send changed while it waited: it is never posted and nothing is recorded.
    Canceled { state: Option<SendState> },
    /// A later occurrence of its recurring job is already due: ends `expired`, skipped.
    Overtaken { reason: String },
    /// Its validity ended before it could be sent.
    Expired { reason: String },
    /// Its channel is no longer in the config: tried again in a minute, not counted.
    ChannelGone {
        error: String,
        retry_at: DateTime<Utc>,
    },
    /// Quiet hours began after it was planned: retried at their end, or expired.
    Deferred { error: String, update: SendUpdate },
    /// The stored payload is not JSON: it fails.
    BadPayload { message: String },
    /// Its state could not be re-read: not posting is the safe side; retried in a second.
    Unchecked { error: String },
}

/// How long a send whose channel is gone waits before it is tried again.
const CHANNEL_GONE_RETRY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// How long a send whose state could not be re-read waits before it is tried again.
const UNCHECKED_RETRY: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

/// Decides what to do with `send` at `now`. The checks go in this order: a changed state
/// wins (a cancel is never overruled), then overtaken, expired, channel, payload, quiet
/// hours, and only then an unreadable state (nothing else stood in the way).
pub fn before_request(
    send: &ClaimedSend,
    recheck: &Recheck,
    cron: Option<&CronSchedule>,
    config: &Config,
    now: DateTime<Utc>,
) -> Before {
    if let Recheck::Changed(state) = recheck {
        return Before::Canceled { state: *state };
    }
    if cron.is_some_and(|c| c.overtaken(send.occurrence, now)) {
        return Before::Overtaken {
            reason: "skipped: a later occurrence of this recurring job is already due (msgspool was not running)".to_owned(),
        };
    }
    if now >= send.expires {
        return Before::Expired {
            reason: format!(
                "validity ended at {} before it could be sent",
                crate::timefmt::utc_text(send.expires)
            ),
        };
    }
    let Some(channel) = config.channels.get(&send.channel) else {
        return Before::ChannelGone {
            error: format!(
                "channel {:?} is not in the config any more; add it back or cancel the send",
                send.channel
            ),
            retry_at: now + CHANNEL_GONE_RETRY,
        };
    };
    let left = (send.expires - now).num_seconds().max(0).unsigned_abs();
    let body = match payload::with_validity_text(&send.payload, left) {
        Ok(b) => b,
        Err(e) => {
            return Before::BadPayload {
                message: format!("stored payload is not JSON: {e}"),
            };
        }
    };
    let quiet = crate::plan::quiet_window(config, &send.channel, send.ignore_quiet_hours);
    if let Some(q) = quiet.filter(|q| q.contains(now)) {
        let error = format!("deferred by quiet hours ({})", q.describe());
        let update = outcome::retry_or_expire(
            send,
            crate::plan::retry_time(now, Some(&q)),
            false,
            error.clone(),
            now,
            Some(&q),
        );
        return Before::Deferred { error, update };
    }
    if let Recheck::Unreadable(e) = recheck {
        return Before::Unchecked {
            error: format!("state not readable before the request: {e}"),
        };
    }
    Before::Send {
        channel_id: channel.id.clone(),
        body,
        quiet,
    }
}

impl Before {
    /// The attempt and the send's next state to record for a send not posted; `None` for
    /// [`Before::Send`] (the answer decides) and [`Before::Canceled`] (nothing to record).
    pub fn record(self, now: DateTime<Utc>) -> Option<(AttemptRecord, SendUpdate)> {
        let attempt = |outcome, error: &str| AttemptRecord {
            started: now,
            finished: now,
            http_status: None,
            outcome,
            error: Some(error.to_owned()),
        };
        let retry = |next_attempt, error: String| SendUpdate::Retry {
            next_attempt,
            count_attempt: false,
            error,
        };
        Some(match self {
            Before::Send { .. } | Before::Canceled { .. } => return None,
            Before::Overtaken { reason } | Before::Expired { reason } => (
                attempt(AttemptOutcome::Expired, &reason),
                SendUpdate::Expired { reason, at: now },
            ),
            Before::ChannelGone { error, retry_at } => (
                attempt(AttemptOutcome::Retry, &error),
                retry(retry_at, error),
            ),
            Before::Deferred { error, update } => (attempt(AttemptOutcome::Retry, &error), update),
            Before::BadPayload { message } => (
                attempt(AttemptOutcome::Failed, &message),
                SendUpdate::Failed {
                    code: None,
                    message,
                    details: None,
                    at: now,
                },
            ),
            Before::Unchecked { error } => (
                attempt(AttemptOutcome::Retry, &error),
                retry(now + UNCHECKED_RETRY, error),
            ),
        })
    }
}

#[cfg(test)]
mod tests;
