//! Dispatch's hot path in a batch: acceptances of sends this process holds, recorded with
//! three statements for the whole batch instead of three per send.
//!
//! Owns: the set-based forms of the fenced update, the attempt rows and the jobs' end.
//! Trusts: its caller for the transaction and for handing over only acceptances
//! ([`Accepted::of`]) of distinct sends. Guarantees: exactly what `record_in` does for each
//! of them when its fence holds; a send whose fence does not hold is left untouched (not
//! even its attempt), for the caller to record the slow way.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;

use super::super::super::outcome::counts_as_attempt;
use super::super::super::{SendUpdate, StoreError};
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

const MOVE: &str = "
UPDATE sends s SET state = 'sent', bird_message_id = u.bird_id, bird_status = u.bird_status,
    attempts = s.attempts + u.counted, next_attempt_at = NULL,
    finished_at = u.at, updated_at = u.at, lease_token = NULL, lease_expires_at = NULL,
    next_poll_at = u.poll_from, polls = 0, reconcile_from = NULL
FROM unnest($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::INT[],
            $6::TIMESTAMPTZ[], $7::TIMESTAMPTZ[])
     AS u(id, token, bird_id, bird_status, counted, at, poll_from)
WHERE s.id = u.id AND s.state = 'sending' AND s.lease_token = u.token
RETURNING s.id, s.job_id";

const ATTEMPTS: &str = "
INSERT INTO attempts (send_id, started_at, finished_at, http_status, outcome, error, node)
SELECT a.id, a.started, a.finished, a.status, a.outcome, a.error, $7
FROM unnest($1::BIGINT[], $2::TIMESTAMPTZ[], $3::TIMESTAMPTZ[], $4::INT[], $5::TEXT[],
            $6::TEXT[]) AS a(id, started, finished, status, outcome, error)";

const FINISH_JOBS: &str = "
UPDATE jobs j SET state = 'finished', updated_at = f.at
FROM unnest($1::TEXT[], $2::TIMESTAMPTZ[]) AS f(id, at)
WHERE j.id = f.id AND j.state = 'active'
  AND NOT EXISTS (SELECT 1 FROM sends s
                  WHERE s.job_id = f.id AND s.state IN ('scheduled', 'sending'))";

/// Records `accepted` (sorted by send id, distinct); the send ids whose fence held.
pub(super) async fn record(
    tx: &Transaction<'_>,
    node: &str,
    accepted: &[Accepted<'_>],
) -> Result<HashSet<i64>, StoreError> {
    let ids: Vec<i64> = accepted.iter().map(|a| a.outcome.send_id).collect();
    let tokens: Vec<i64> = accepted.iter().map(|a| a.token).collect();
    let bird_ids: Vec<Option<&str>> = accepted.iter().map(|a| a.bird_id).collect();
    let statuses: Vec<&str> = accepted.iter().map(|a| a.bird_status).collect();
    let counted: Vec<i32> = accepted
        .iter()
        .map(|a| {
            i32::from(counts_as_attempt(
                a.outcome.attempt.outcome,
                &a.outcome.next,
            ))
        })
        .collect();
    let ats: Vec<DateTime<Utc>> = accepted.iter().map(|a| a.at).collect();
    let polls: Vec<DateTime<Utc>> = accepted.iter().map(|a| a.poll_from).collect();
    let rows = tx
        .query(
            &tx.prepare_cached(MOVE).await?,
            &[&ids, &tokens, &bird_ids, &statuses, &counted, &ats, &polls],
        )
        .await?;
    let mut moved = HashSet::with_capacity(rows.len());
    let mut jobs: Vec<(String, i64)> = Vec::with_capacity(rows.len());
    for row in rows {
        let id: i64 = row.try_get(0)?;
        moved.insert(id);
        jobs.push((row.try_get(1)?, id));
    }
    let done: Vec<&Accepted<'_>> = accepted
        .iter()
        .filter(|a| moved.contains(&a.outcome.send_id))
        .collect();
    if done.is_empty() {
        return Ok(moved);
    }
    insert_attempts(tx, node, &done).await?;
    // Jobs in one order, whoever finishes them.
    jobs.sort();
    let ends_by_send: HashMap<i64, DateTime<Utc>> =
        done.iter().map(|a| (a.outcome.send_id, a.at)).collect();
    let (job_ids, ends): (Vec<String>, Vec<DateTime<Utc>>) = jobs
        .into_iter()
        .filter_map(|(job, id)| Some((job, *ends_by_send.get(&id)?)))
        .unzip();
    tx.execute(&tx.prepare_cached(FINISH_JOBS).await?, &[&job_ids, &ends])
        .await?;
    Ok(moved)
}

async fn insert_attempts(
    tx: &Transaction<'_>,
    node: &str,
    done: &[&Accepted<'_>],
) -> Result<(), StoreError> {
    let attempts = || done.iter().map(|a| &a.outcome.attempt);
    let ids: Vec<i64> = done.iter().map(|a| a.outcome.send_id).collect();
    let started: Vec<DateTime<Utc>> = attempts().map(|a| a.started).collect();
    let finished: Vec<DateTime<Utc>> = attempts().map(|a| a.finished).collect();
    let statuses: Vec<Option<i32>> = attempts().map(|a| a.http_status.map(i32::from)).collect();
    let outcomes: Vec<&str> = attempts().map(|a| a.outcome.as_str()).collect();
    let errors: Vec<Option<&str>> = attempts().map(|a| a.error.as_deref()).collect();
    tx.execute(
        &tx.prepare_cached(ATTEMPTS).await?,
        &[
            &ids, &started, &finished, &statuses, &outcomes, &errors, &node,
        ],
    )
    .await?;
    Ok(())
}
