//! Polling: each sent message is looked up at Bird (`GET .../messages/{id}`) on a backoff
//! schedule until it reaches a final status or its validity plus a day has passed.
//!
//! Owns the schedule ([`gap`]: `poll_start` × 1, 4, 20, 120, 720, 2880, i.e. 30 s, 2 min,
//! 10 min, 1 h, 6 h, 24 h by default, the last step repeating) and the polling task.
//! Trusts the store for which messages are due and [`GetBudget`] for pacing: polling
//! takes at most four fifths of the GET budget and waits while sends are due, so it
//! never holds a send or a reconciliation back. Guarantees: a message is never looked up
//! after a final status, never after its validity plus a day, and never in a dry run.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::DeliveryStatus;
use crate::bird::{BirdClient, MessageInfo, SendResult};
use crate::config::Config;
use crate::dispatch::GetBudget;
use crate::dispatch::transport::Transport;
use crate::store::{DeliveryUpdate, PollDue, SendState, Store};

/// The schedule's steps as multiples of `poll_start`.
const STEPS: [u32; 6] = [1, 4, 20, 120, 720, 2880];
/// Look-ups in flight at once.
const CONCURRENCY: usize = 8;
/// How many due messages one turn reads.
const BATCH: usize = 200;
/// Polling goes on this long after a message's validity ended (Bird's last word).
pub const AFTER_VALIDITY: TimeDelta = TimeDelta::days(1);

/// The wait before look-up number `polls_done + 1`.
pub fn gap(start: Duration, polls_done: u32) -> Duration {
    let i = usize::try_from(polls_done)
        .unwrap_or(usize::MAX)
        .min(STEPS.len() - 1);
    start.saturating_mul(STEPS[i])
}

/// The polling task's inputs.
pub struct Poller {
    pub store: Store,
    pub config: watch::Receiver<Arc<Config>>,
    pub transport: watch::Receiver<Arc<Transport>>,
    pub gets: GetBudget,
}

impl Poller {
    /// Runs until `stop` turns true; look-ups in flight are then dropped (a look-up lost
    /// is made again: `next_poll_at` only moves once its answer is stored).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut tasks = JoinSet::new();
        while !*stop.borrow() {
            let config = self.config.borrow().clone();
            let transport = self.transport.borrow().clone();
            let client = match (&*transport, config.delivery.poll) {
                (Transport::Bird(client), true) => client.clone(),
                (Transport::DryRun, _) | (_, false) => {
                    pause(Duration::from_secs(1), &mut stop).await;
                    continue;
                }
            };
            let now = Utc::now();
            if matches!(self.store.next_due().await, Ok(Some(t)) if t <= now) {
                // Sends first: a look-up can wait, a due send cannot.
                pause(Duration::from_millis(200), &mut stop).await;
                continue;
            }
            let due = match self
                .store
                .due_polls(now, config.delivery.poll_start, BATCH)
                .await
            {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the sends due for a status look-up");
                    Vec::new()
                }
            };
            if due.is_empty() {
                pause(Duration::from_secs(1), &mut stop).await;
                continue;
            }
            let batch = async {
                for row in due {
                    while tasks.len() >= CONCURRENCY {
                        tasks.join_next().await;
                    }
                    let look = LookUp {
                        store: self.store.clone(),
                        config: config.clone(),
                        client: client.clone(),
                        gets: self.gets.clone(),
                    };
                    tasks.spawn(look.run(row));
                }
                while tasks.join_next().await.is_some() {}
            };
            // A stop must not wait for look-ups held back by a 429 pause.
            tokio::select! {
                () = batch => {}
                _ = stop.changed() => break,
            }
        }
        tasks.abort_all();
    }
}

async fn pause(wait: Duration, stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(wait) => {}
        _ = stop.changed() => {}
    }
}

struct LookUp {
    store: Store,
    config: Arc<Config>,
    client: BirdClient,
    gets: GetBudget,
}

impl LookUp {
    async fn run(self, row: PollDue) {
        let now = Utc::now();
        let give_up_at = row
            .expires
            .checked_add_signed(AFTER_VALIDITY)
            .unwrap_or(row.expires);
        let channel_id = self.config.channels.get(&row.channel).map(|c| c.id.clone());
        let (found, next) = match (&row.bird_message_id, channel_id, row.state) {
            (Some(id), Some(channel_id), SendState::Sent)
                if now <= give_up_at && !is_placeholder(&row) =>
            {
                self.gets.take_for_polling().await;
                let answer = self.client.get_message(&channel_id, id).await;
                let next = next_look(
                    now,
                    gap(self.config.delivery.poll_start, row.polls.saturating_add(1)),
                    give_up_at,
                );
                match answer {
                    Ok(m) => read(&m, now, next),
                    Err(SendResult::Throttled { retry_after }) => {
                        let wait = retry_after.map_or(Duration::from_secs(1), |r| r.wait_from(now));
                        self.gets.pause_for(
                            wait.min(Duration::from_secs(60))
                                .max(Duration::from_secs(1)),
                        );
                        (None, next)
                    }
                    Err(SendResult::Rejected {
                        http_status: 404, ..
                    }) => {
                        tracing::warn!(send = row.send_id, bird_id = %id, "Bird does not know this message any more; its status is no longer followed");
                        (None, None)
                    }
                    Err(e) => {
                        tracing::debug!(send = row.send_id, error = ?e, "a status look-up failed; trying again later");
                        (None, next)
                    }
                }
            }
            // Nothing to look up (not sent, no id, a dry run's), or looked up long enough.
            _ => (None, None),
        };
        if let Err(e) = self
            .store
            .record_poll(row.send_id, found, next, Utc::now())
            .await
        {
            tracing::warn!(send = row.send_id, error = %e, "cannot record a status look-up");
        }
    }
}

/// A message recorded without a real Bird id (`unconfirmed`, `dry-run`).
fn is_placeholder(row: &PollDue) -> bool {
    matches!(row.bird_status.as_deref(), Some("unconfirmed" | "dry-run"))
}

/// When to look next: after `gap`, but not after `give_up_at` (one last look then).
fn next_look(
    now: DateTime<Utc>,
    gap: Duration,
    give_up_at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let next = TimeDelta::from_std(gap)
        .ok()
        .and_then(|g| now.checked_add_signed(g))
        .unwrap_or(give_up_at);
    Some(next.min(give_up_at)).filter(|n| *n > now)
}

/// What a look-up's answer says: the status to store (an unknown word is not stored), and
/// no further look-up after a final one.
fn read(
    m: &MessageInfo,
    now: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
) -> (Option<DeliveryUpdate>, Option<DateTime<Utc>>) {
    let Some(status) = DeliveryStatus::from_word(&m.status) else {
        return (None, next);
    };
    let update = DeliveryUpdate {
        status,
        at: m.last_status_at.unwrap_or(now),
        failure_code: m.failure_code.clone(),
        failure_source: m.failure_source.clone(),
        failure_reason: m.reason.clone(),
        source: "poll",
    };
    let next = if status.is_final() { None } else { next };
    (Some(update), next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_keeps_birds_proportions_and_repeats_its_last_step() {
        let s = Duration::from_secs(30);
        let gaps: Vec<u64> = (0..8).map(|i| gap(s, i).as_secs()).collect();
        assert_eq!(gaps, [30, 120, 600, 3600, 21_600, 86_400, 86_400, 86_400]);
        assert_eq!(gap(Duration::MAX, 3), Duration::MAX);
    }

    #[test]
    fn the_last_look_is_at_validity_plus_a_day() {
        let now = DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let give_up = now + TimeDelta::minutes(5);
        assert_eq!(
            next_look(now, Duration::from_secs(3600), give_up),
            Some(give_up)
        );
        assert_eq!(next_look(give_up, Duration::from_secs(3600), give_up), None);
    }
}
