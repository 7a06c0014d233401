//! Dispatch's hot path in a batch: acceptances of sends this process holds, recorded with
//! three statements for the whole batch instead of three per send.
//!
//! Owns: the choice of which outcomes go this way, and their assembly into the set-based
//! statements that `moves` and `history` own (the same ones a single send goes through).
//! Trusts: its caller for the transaction and for handing over only acceptances
//! ([`Accepted::of`]) of distinct sends. Guarantees: exactly what `record_in` does for each
//! of them when its fence holds; a send whose fence does not hold is left untouched (not
//! even its attempt), for the caller to record the slow way.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;

use super::super::super::outcome::counts_as_attempt;
use super::super::super::{AttemptRecord, SendUpdate, StoreError};
use super::super::moves::{self, SentMoves};
use super::super::{history, job_rows};
use super::{Outcome, polls_from};

/// One acceptance, ready for the set-based statements.
pub(super) struct Accepted<'a> {
    outcome: &'a Outcome,
    token: i64,
    bird_id: Option<&'a str>,
    bird_status: &'a str,
    at: DateTime<Utc>,
    poll_from: DateTime<Utc>,
}

impl<'a> Accepted<'a> {
    /// `outcome` as an acceptance under `token`, when it is one with nothing to follow.
    pub(super) fn of(outcome: &'a Outcome, token: Option<i64>) -> Option<Accepted<'a>> {
        let SendUpdate::Sent {
            bird_message_id,
            bird_status,
            at,
        } = &outcome.next
        else {
            return None;
        };
        if outcome.follow.is_some() {
            return None;
        }
        Some(Accepted {
            outcome,
            token: token?,
            bird_id: (!bird_message_id.is_empty()).then_some(bird_message_id.as_str()),
            bird_status,
            at: *at,
            poll_from: polls_from(&outcome.attempt, &outcome.next)?,
        })
    }
}

/// Records `accepted` (sorted by send id, distinct); the send ids whose fence held.
pub(super) async fn record(
    tx: &Transaction<'_>,
    node: &str,
    accepted: &[Accepted<'_>],
) -> Result<HashSet<i64>, StoreError> {
    let sent = SentMoves {
        ids: accepted.iter().map(|a| a.outcome.send_id).collect(),
        tokens: accepted.iter().map(|a| a.token).collect(),
        bird_ids: accepted.iter().map(|a| a.bird_id).collect(),
        statuses: accepted.iter().map(|a| a.bird_status).collect(),
        counted: accepted
            .iter()
            .map(|a| {
                i32::from(counts_as_attempt(
                    a.outcome.attempt.outcome,
                    &a.outcome.next,
                ))
            })
            .collect(),
        ats: accepted.iter().map(|a| a.at).collect(),
        polls_from: accepted.iter().map(|a| Some(a.poll_from)).collect(),
    };
    let mut jobs = moves::move_to_sent(tx, &sent).await?;
    let moved: HashSet<i64> = jobs.iter().map(|(id, _)| *id).collect();
    let done: Vec<&Accepted<'_>> = accepted
        .iter()
        .filter(|a| moved.contains(&a.outcome.send_id))
        .collect();
    if done.is_empty() {
        return Ok(moved);
    }
    let ids: Vec<i64> = done.iter().map(|a| a.outcome.send_id).collect();
    let attempts: Vec<&AttemptRecord> = done.iter().map(|a| &a.outcome.attempt).collect();
    history::insert_attempts(tx, node, &ids, &attempts).await?;
    // Jobs in one order, whoever finishes them.
    jobs.sort_by(|a, b| a.1.cmp(&b.1));
    let ends_by_send: HashMap<i64, DateTime<Utc>> =
        done.iter().map(|a| (a.outcome.send_id, a.at)).collect();
    let (job_ids, ends): (Vec<String>, Vec<DateTime<Utc>>) = jobs
        .into_iter()
        .filter_map(|(id, job)| Some((job, *ends_by_send.get(&id)?)))
        .unzip();
    job_rows::finish_jobs(tx, &job_ids, &ends).await?;
    Ok(moved)
}
