//! Reconciliation: before a send whose earlier outcome is unknown is posted again, Bird's
//! listing of the channel's outgoing messages is searched for its `reference`.
//!
//! Owns the search (windows of at most [`MAX_WINDOW`] from the unknown attempt's start
//! minus [`MARGIN`] to now (Bird's `endAt`), every page through `nextPageToken`, the match on `reference`
//! made here even if Bird filtered) and the pure [`settle`] that turns its result into
//! what is recorded. Trusts the claimed send's `reconcile_from` (set by the store in the
//! same transaction as the unknown attempt) and the [`GetBudget`] for pacing.
//! Guarantees: a send is posted again only after a complete search found nothing (or
//! with `[bird] reconcile = false`, or in a dry run, which has nothing to list: both are
//! recorded as `not_found` saying so); a failed search posts nothing and tries again
//! later without counting an attempt; a 429 pauses every GET of the workspace.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::GetBudget;
use super::backoff::{full_jitter, jitter};
use super::outcome::{Decision, WorkspaceEffect, retry_or_expire};
use super::task::SendTask;
use super::transport::Transport;
use crate::bird::{BirdClient, ListQuery, MessageInfo, SendResult};
use crate::config::RetryConfig;
use crate::quiet::QuietWindow;
use crate::store::{AttemptOutcome, AttemptRecord, ClaimedSend, SendUpdate};

/// How far before the unknown attempt's start the search begins: clocks differ.
pub const MARGIN: TimeDelta = TimeDelta::minutes(5);
/// The longest window one listing asks for (Bird's limit).
pub const MAX_WINDOW: TimeDelta = TimeDelta::days(7);
/// A listing longer than this many pages is not trusted to end: the search fails.
const MAX_PAGES: u32 = 10_000;
/// The shortest pause of every GET after a 429 on the listing.
const MIN_PAUSE: Duration = Duration::from_millis(200);

/// What searching Bird's listing found.
#[derive(Debug, Clone, PartialEq)]
pub enum Search {
    Found(MessageInfo),
    /// Every page of every window was read; `pages` of them.
    NotFound {
        pages: u32,
    },
    /// Not searched: reconciliation is off, or a dry run has nothing to list.
    Skipped {
        why: &'static str,
    },
    /// A page could not be read; nothing is known.
    Failed(SendResult),
}

/// What to do after the search.
#[derive(Debug, Clone, PartialEq)]
pub enum Settled {
    /// Found, or the search failed: record this, and do not post.
    Record(Decision),
    /// Nothing at Bird: record this attempt (clearing the mark), then post.
    Post(AttemptRecord),
}

impl SendTask {
    /// For a send marked for reconciliation: searches, records a `not_found`, and answers
    /// `None` (post it), or answers what to record instead of posting.
    pub(super) async fn reconcile_first(
        &self,
        send: &ClaimedSend,
        channel_id: &str,
        quiet: Option<&QuietWindow>,
    ) -> Option<Decision> {
        let from = send.reconcile_from?;
        let started = Utc::now();
        let search = match (&*self.transport, self.config.bird.reconcile) {
            (_, false) => Search::Skipped {
                why: "reconciliation is off ([bird] reconcile = false)",
            },
            (Transport::DryRun, true) => Search::Skipped {
                why: "a dry run has no Bird listing to search",
            },
            (Transport::Bird(client), true) => {
                search(
                    client,
                    &self.gets,
                    channel_id,
                    &send.reference,
                    from,
                    started,
                )
                .await
            }
        };
        if let Search::Failed(SendResult::Throttled { retry_after }) = &search {
            let wait = retry_after.map_or(Duration::from_secs(1), |r| r.wait_from(Utc::now()));
            // At least a second, at most `retry.max` (which may be shorter than a second).
            self.gets
                .pause_for(wait.min(self.config.retry.max).max(MIN_PAUSE));
        }
        let now = Utc::now();
        match settle(
            send,
            search,
            (started, now),
            &self.config.retry,
            jitter(),
            quiet,
        ) {
            Settled::Record(decision) => Some(decision),
            Settled::Post(attempt) => {
                tracing::info!(job = %send.job_id, send = send.send_id, outcome = ?attempt.error, "reconciled: not at Bird, posting it again");
                match self.store.record_lookup(send.send_id, attempt).await {
                    Ok(()) => None,
                    Err(e) => Some(unrecorded(send, &e.to_string(), now, quiet)),
                }
            }
        }
    }
}

/// Searches the channel's outgoing messages from `from - MARGIN` to `now` for
/// `reference`, window by window, page by page.
pub async fn search(
    client: &BirdClient,
    gets: &GetBudget,
    channel_id: &str,
    reference: &str,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Search {
    let end = now;
    let mut start = from.checked_sub_signed(MARGIN).unwrap_or(from);
    let mut pages = 0u32;
    while start < end {
        let window_end = start.checked_add_signed(MAX_WINDOW).unwrap_or(end).min(end);
        let mut token: Option<String> = None;
        loop {
            gets.take().await;
            let query = ListQuery {
                start,
                end: window_end,
                page_token: token.as_deref(),
            };
            let page = match client.list_messages(channel_id, &query).await {
                Ok(page) => page,
                Err(e) => return Search::Failed(e),
            };
            pages = pages.saturating_add(1);
            if let Some(m) = page
                .messages
                .into_iter()
                .find(|m| m.reference.as_deref() == Some(reference))
            {
                return Search::Found(m);
            }
            match page.next_page_token {
                Some(next) if pages < MAX_PAGES && token.as_deref() != Some(next.as_str()) => {
                    token = Some(next);
                }
                Some(_) => {
                    return Search::Failed(SendResult::ServerError {
                        http_status: 200,
                        detail: format!("Bird's listing did not end after {pages} pages"),
                    });
                }
                None => break,
            }
        }
        start = window_end;
    }
    Search::NotFound { pages }
}

/// Pure: what a search means for the send, searched from `started` until `now`.
pub fn settle(
    send: &ClaimedSend,
    search: Search,
    (started, now): (DateTime<Utc>, DateTime<Utc>),
    retry: &RetryConfig,
    jitter: f64,
    quiet: Option<&QuietWindow>,
) -> Settled {
    let attempt = |http_status, outcome, error: String| AttemptRecord {
        started,
        finished: now,
        http_status,
        outcome,
        error: Some(error),
    };
    let later = |wait: Duration, error: String, outcome| {
        let next = now + TimeDelta::from_std(wait).unwrap_or(TimeDelta::zero());
        Settled::Record(Decision {
            attempt: attempt(None, outcome, error.clone()),
            update: retry_or_expire(send, next, false, error, now, quiet),
            workspace: WorkspaceEffect::None,
        })
    };
    match search {
        Search::Found(m) => Settled::Record(Decision {
            attempt: attempt(
                Some(200),
                AttemptOutcome::Reconciled,
                format!(
                    "found at Bird by its reference: message {} ({})",
                    m.id, m.status
                ),
            ),
            update: SendUpdate::Sent {
                bird_message_id: m.id,
                bird_status: if m.status.is_empty() {
                    "accepted".to_owned()
                } else {
                    m.status
                },
                at: now,
            },
            workspace: WorkspaceEffect::None,
        }),
        Search::NotFound { pages } => Settled::Post(attempt(
            Some(200),
            AttemptOutcome::NotFound,
            format!("not in {pages} page(s) of Bird's listing: posting it again"),
        )),
        Search::Skipped { why } => Settled::Post(attempt(
            None,
            AttemptOutcome::NotFound,
            format!("not looked up ({why}): posting it again"),
        )),
        Search::Failed(SendResult::Throttled { .. }) => {
            let wait = full_jitter(
                send.attempts.saturating_add(1),
                retry.initial,
                retry.max,
                jitter,
            )
            .max(Duration::from_secs(1));
            let error = "429 on Bird's listing while reconciling; not posted, looking again later";
            later(wait, error.to_owned(), AttemptOutcome::Throttled)
        }
        Search::Failed(failed) => {
            let wait = full_jitter(
                send.attempts.saturating_add(1),
                retry.initial,
                retry.max,
                jitter,
            );
            let error = format!(
                "cannot search Bird's listing before posting again ({}); not posted, looking again later (if this key may not list messages, set [bird] reconcile = false)",
                describe(&failed)
            );
            later(wait, error, AttemptOutcome::Retry)
        }
    }
}

/// When the `not_found` cannot be recorded, the send is not posted (the mark would stay
/// and the next try searches again): tried again in a second.
fn unrecorded(
    send: &ClaimedSend,
    error: &str,
    now: DateTime<Utc>,
    quiet: Option<&QuietWindow>,
) -> Decision {
    let error = format!("cannot record the reconciliation: {error}; trying again");
    Decision {
        attempt: AttemptRecord {
            started: now,
            finished: now,
            http_status: None,
            outcome: AttemptOutcome::Retry,
            error: Some(error.clone()),
        },
        update: retry_or_expire(send, now + TimeDelta::seconds(1), false, error, now, quiet),
        workspace: WorkspaceEffect::None,
    }
}

fn describe(failed: &SendResult) -> String {
    match failed {
        SendResult::Transport { detail } | SendResult::ServerError { detail, .. } => detail.clone(),
        SendResult::Unauthorized { http_status, error }
        | SendResult::Rejected { http_status, error } => {
            format!("{http_status}: {} {}", error.code, error.message)
        }
        SendResult::Redirected { http_status, .. } => format!("{http_status}: redirected"),
        SendResult::Throttled { .. } => "429".to_owned(),
        SendResult::Accepted { .. } | SendResult::Unconfirmed { .. } => {
            "an unexpected answer".to_owned()
        }
    }
}

#[cfg(test)]
mod tests;
