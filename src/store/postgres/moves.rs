//! The state changes of sends and jobs on PostgreSQL that intake and dispatch make:
//! inserted `scheduled`, then (under a lease) `sent`, back to `scheduled`, `failed` or
//! `expired` (a job's end is in [`super::job_rows`]).
//!
//! Owns: these statements. Trusts: its caller for the transaction. Guarantees: a write of
//! a claimed send names its lease token (`WHERE state = 'sending' AND lease_token = $t`),
//! so a daemon whose lease was taken over changes nothing and sees 0 rows; leaving
//! `sending` clears the token and expiry (`lease_owner` stays: the last node that held it).

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;

use super::super::{NewSend, SendState, SendUpdate, StoreError};

/// Inserts one scheduled send of a job, its first attempt due at `send.due`.
pub(super) async fn insert_send(
    tx: &Transaction<'_>,
    job_id: &str,
    send: &NewSend,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO sends (job_id, occurrence_at, due_at, expires_at, state, next_attempt_at,
                            payload, reference, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'scheduled', $3, $5, $6, $7, $7)",
        )
        .await?,
        &[
            &job_id,
            &send.occurrence,
            &send.due,
            &send.expires,
            &send.payload,
            &send.reference,
            &now,
        ],
    )
    .await?;
    Ok(())
}

/// Inserts a recurring job's occurrence unless (job, occurrence) exists; whether it did.
/// The unique pair makes two daemons adding the same occurrence add it once.
pub(super) async fn insert_occurrence(
    tx: &Transaction<'_>,
    job_id: &str,
    send: &NewSend,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let added = tx
        .execute(
            &tx.prepare_cached(
                "INSERT INTO sends (job_id, occurrence_at, due_at, expires_at, state,
                                next_attempt_at, payload, reference, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'scheduled', $3, $5, $6, $7, $7)
             ON CONFLICT (job_id, occurrence_at) DO NOTHING",
            )
            .await?,
            &[
                &job_id,
                &send.occurrence,
                &send.due,
                &send.expires,
                &send.payload,
                &send.reference,
                &now,
            ],
        )
        .await?;
    Ok(added > 0)
}

/// The job and state of a send, if the send exists.
pub(super) async fn job_and_state(
    tx: &Transaction<'_>,
    send_id: i64,
) -> Result<Option<(String, SendState)>, StoreError> {
    let Some(row) = tx
        .query_opt(
            &tx.prepare_cached("SELECT job_id, state FROM sends WHERE id = $1")
                .await?,
            &[&send_id],
        )
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((row.try_get(0)?, SendState::read(row.try_get(1)?)?)))
}

/// Moves a send this process holds under `token` to where `next` says; its job, or `None`
/// when the lease is not ours any more (taken over, canceled, replaced). An acceptance with
/// `poll_from` also starts polling from then (see [`SentMoves`]).
pub(super) async fn apply_fenced(
    tx: &Transaction<'_>,
    send_id: i64,
    token: i64,
    next: &SendUpdate,
    counted: bool,
    finished: DateTime<Utc>,
    poll_from: Option<DateTime<Utc>>,
) -> Result<Option<String>, StoreError> {
    let counted = i32::from(counted);
    let moved = match next {
        SendUpdate::Sent {
            bird_message_id,
            bird_status,
            at,
        } => {
            let one = SentMoves {
                ids: vec![send_id],
                tokens: vec![token],
                bird_ids: vec![(!bird_message_id.is_empty()).then_some(bird_message_id.as_str())],
                statuses: vec![bird_status.as_str()],
                counted: vec![counted],
                ats: vec![*at],
                polls_from: vec![poll_from],
            };
            let moved = move_to_sent(tx, &one).await?;
            return Ok(moved.into_iter().next().map(|(_, job_id)| job_id));
        }
        SendUpdate::Retry {
            next_attempt,
            error,
            ..
        } => {
            tx.query_opt(
                &tx.prepare_cached(
                    "UPDATE sends SET state = 'scheduled', next_attempt_at = $3,
                                  attempts = attempts + $4, last_error = $5, updated_at = $6,
                                  lease_token = NULL, lease_expires_at = NULL
                 WHERE id = $1 AND state = 'sending' AND lease_token = $2
                 RETURNING job_id",
                )
                .await?,
                &[&send_id, &token, next_attempt, &counted, error, &finished],
            )
            .await?
        }
        SendUpdate::Failed {
            code,
            message,
            details,
            at,
        } => {
            let last_error = match code {
                Some(code) => format!("{code}: {message}"),
                None => message.clone(),
            };
            let details = details.as_deref().map(as_json);
            tx.query_opt(
                &tx.prepare_cached(
                    "UPDATE sends SET state = 'failed', error_code = $3, error_message = $4,
                                  error_details = $5, last_error = $6,
                                  attempts = attempts + $7, next_attempt_at = NULL,
                                  finished_at = $8, updated_at = $8,
                                  lease_token = NULL, lease_expires_at = NULL
                 WHERE id = $1 AND state = 'sending' AND lease_token = $2
                 RETURNING job_id",
                )
                .await?,
                &[
                    &send_id,
                    &token,
                    code,
                    message,
                    &details,
                    &last_error,
                    &counted,
                    at,
                ],
            )
            .await?
        }
        SendUpdate::Expired { reason, at } => {
            tx.query_opt(
                &tx.prepare_cached(
                    "UPDATE sends SET state = 'expired', last_error = $3, attempts = attempts + $4,
                                  next_attempt_at = NULL, finished_at = $5, updated_at = $5,
                                  lease_token = NULL, lease_expires_at = NULL
                 WHERE id = $1 AND state = 'sending' AND lease_token = $2
                 RETURNING job_id",
                )
                .await?,
                &[&send_id, &token, reason, &counted, at],
            )
            .await?
        }
    };
    Ok(moved.map(|row| row.try_get(0)).transpose()?)
}

/// Sends accepted by Bird, to move to `sent` under their lease tokens: one entry per send
/// in each column (the set-based form serves one send and a batch alike).
pub(super) struct SentMoves<'a> {
    pub ids: Vec<i64>,
    pub tokens: Vec<i64>,
    pub bird_ids: Vec<Option<&'a str>>,
    pub statuses: Vec<&'a str>,
    /// 1 when the attempt counts, else 0.
    pub counted: Vec<i32>,
    pub ats: Vec<DateTime<Utc>>,
    /// When set, polling starts then (what `history::note_attempt` does for an acceptance,
    /// in the same statement: this is dispatch's hot path).
    pub polls_from: Vec<Option<DateTime<Utc>>>,
}

/// Moves the sends of `moves` whose fence holds to `sent`; (send, job) of each moved.
pub(super) async fn move_to_sent(
    tx: &Transaction<'_>,
    moves: &SentMoves<'_>,
) -> Result<Vec<(i64, String)>, StoreError> {
    let rows = tx
        .query(
            &tx.prepare_cached(
                "UPDATE sends s SET state = 'sent', bird_message_id = u.bird_id,
                     bird_status = u.bird_status, attempts = s.attempts + u.counted,
                     next_attempt_at = NULL, finished_at = u.at, updated_at = u.at,
                     lease_token = NULL, lease_expires_at = NULL,
                     next_poll_at = COALESCE(u.poll_from, s.next_poll_at),
                     polls = CASE WHEN u.poll_from IS NULL THEN s.polls ELSE 0 END,
                     reconcile_from = CASE WHEN u.poll_from IS NULL THEN s.reconcile_from END
                 FROM unnest($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::INT[],
                             $6::TIMESTAMPTZ[], $7::TIMESTAMPTZ[])
                      AS u(id, token, bird_id, bird_status, counted, at, poll_from)
                 WHERE s.id = u.id AND s.state = 'sending' AND s.lease_token = u.token
                 RETURNING s.id, s.job_id",
            )
            .await?,
            &[
                &moves.ids,
                &moves.tokens,
                &moves.bird_ids,
                &moves.statuses,
                &moves.counted,
                &moves.ats,
                &moves.polls_from,
            ],
        )
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect()
}

/// Keeps Bird's id and status on a send canceled (or replaced) while Bird was taking it;
/// its state stands.
pub(super) async fn note_late_acceptance(
    tx: &Transaction<'_>,
    send_id: i64,
    bird_message_id: &str,
    bird_status: &str,
) -> Result<u64, StoreError> {
    let bird_id = (!bird_message_id.is_empty()).then_some(bird_message_id);
    Ok(tx
        .execute(
            &tx.prepare_cached(
                "UPDATE sends SET bird_message_id = $2, bird_status = $3
             WHERE id = $1 AND state IN ('canceled', 'replaced') AND bird_message_id IS NULL",
            )
            .await?,
            &[&send_id, &bird_id, &bird_status],
        )
        .await?)
}

/// Bird's error details as JSON text: kept as they are when they are JSON, else quoted as
/// a JSON string (an odd answer from Bird must not keep the failure from being recorded).
fn as_json(details: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(details) {
        Ok(_) => details.to_owned(),
        Err(_) => serde_json::Value::String(details.to_owned()).to_string(),
    }
}
