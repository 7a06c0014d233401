//! Rows that are only ever added, on PostgreSQL: attempts (with the node that made them),
//! events and rejections, the marks an attempt leaves on its send for reconcile and
//! polling (as SQLite's `delivery::note_attempt`), and the `msgspool_due` notification.
//!
//! Owns: these statements. Trusts: its caller for the transaction (each takes one and
//! commits nothing). Guarantees: an attempt row names its node; `note_attempt` touches
//! only `reconcile_from`, `next_poll_at` and `polls`.

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;

use super::super::{AttemptOutcome, AttemptRecord, EventKind, StoreError};

/// Records one try of a send, made by `node`.
pub(super) async fn insert_attempt(
    tx: &Transaction<'_>,
    send_id: i64,
    attempt: &AttemptRecord,
    node: &str,
) -> Result<(), StoreError> {
    insert_attempts(tx, node, &[send_id], &[attempt]).await
}

/// Records one try of each of `send_ids` (the try at the same place in `attempts`), all
/// made by `node`.
pub(super) async fn insert_attempts(
    tx: &Transaction<'_>,
    node: &str,
    send_ids: &[i64],
    attempts: &[&AttemptRecord],
) -> Result<(), StoreError> {
    let started: Vec<DateTime<Utc>> = attempts.iter().map(|a| a.started).collect();
    let finished: Vec<DateTime<Utc>> = attempts.iter().map(|a| a.finished).collect();
    let statuses: Vec<Option<i32>> = attempts
        .iter()
        .map(|a| a.http_status.map(i32::from))
        .collect();
    let outcomes: Vec<&str> = attempts.iter().map(|a| a.outcome.as_str()).collect();
    let errors: Vec<Option<&str>> = attempts.iter().map(|a| a.error.as_deref()).collect();
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO attempts (send_id, started_at, finished_at, http_status, outcome, error,
                                   node)
             SELECT a.id, a.started, a.finished, a.status, a.outcome, a.error, $7
             FROM unnest($1::BIGINT[], $2::TIMESTAMPTZ[], $3::TIMESTAMPTZ[], $4::INT[],
                         $5::TEXT[], $6::TEXT[]) AS a(id, started, finished, status, outcome,
                                                      error)",
        )
        .await?,
        &[
            &send_ids, &started, &finished, &statuses, &outcomes, &errors, &node,
        ],
    )
    .await?;
    Ok(())
}

/// Whether this very try (same start, end, status and outcome) is recorded already.
pub(super) async fn attempt_exists(
    tx: &Transaction<'_>,
    send_id: i64,
    attempt: &AttemptRecord,
) -> Result<bool, StoreError> {
    let status = attempt.http_status.map(i32::from);
    let row = tx
        .query_one(
            &tx.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM attempts
                            WHERE send_id = $1 AND started_at = $2 AND finished_at = $3
                              AND http_status IS NOT DISTINCT FROM $4 AND outcome = $5)",
            )
            .await?,
            &[
                &send_id,
                &attempt.started,
                &attempt.finished,
                &status,
                &attempt.outcome.as_str(),
            ],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// What an attempt tells reconcile and polling: an outcome never learned marks where
/// Bird's listing is searched from; an acceptance starts polling; a complete search that
/// found nothing clears the mark.
pub(super) async fn note_attempt(
    tx: &Transaction<'_>,
    send_id: i64,
    attempt: &AttemptRecord,
) -> Result<(), StoreError> {
    let (sql, at) = match attempt.outcome {
        AttemptOutcome::Unknown | AttemptOutcome::Interrupted => (
            "UPDATE sends SET reconcile_from = LEAST(reconcile_from, $2) WHERE id = $1",
            attempt.started,
        ),
        // Polling starts from the moment Bird was known to hold it.
        AttemptOutcome::Sent | AttemptOutcome::Reconciled => (
            "UPDATE sends SET reconcile_from = NULL, next_poll_at = $2, polls = 0 WHERE id = $1",
            attempt.finished,
        ),
        AttemptOutcome::NotFound => {
            tx.execute(
                &tx.prepare_cached("UPDATE sends SET reconcile_from = NULL WHERE id = $1")
                    .await?,
                &[&send_id],
            )
            .await?;
            return Ok(());
        }
        AttemptOutcome::Retry
        | AttemptOutcome::Throttled
        | AttemptOutcome::Failed
        | AttemptOutcome::Unauthorized
        | AttemptOutcome::Redirected
        | AttemptOutcome::Expired => return Ok(()),
    };
    tx.execute(&tx.prepare_cached(sql).await?, &[&send_id, &at])
        .await?;
    Ok(())
}

/// Appends a line to `events`.
pub(super) async fn insert_event(
    tx: &Transaction<'_>,
    at: DateTime<Utc>,
    kind: EventKind,
    job_id: Option<&str>,
    detail: &str,
) -> Result<(), StoreError> {
    tx.execute(
        &tx.prepare_cached("INSERT INTO events (at, kind, job_id, detail) VALUES ($1, $2, $3, $4)")
            .await?,
        &[&at, &kind.as_str(), &job_id, &detail],
    )
    .await?;
    Ok(())
}

/// Tells every daemon LISTENing that a send may be due sooner than it knows; delivered
/// only when the transaction commits.
pub(super) async fn notify_due(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute(
        &tx.prepare_cached("SELECT pg_notify('msgspool_due', '')")
            .await?,
        &[],
    )
    .await?;
    Ok(())
}
