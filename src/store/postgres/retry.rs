//! Retrying `failed` or `expired` sends on PostgreSQL: scheduled again, due now, attempts
//! back to 0.
//!
//! Owns: the SQL of a retry. Trusts: [`super::rows`] for the rows it reads. Guarantees (as
//! SQLite's `retry.rs`): a retry takes only `failed` and `expired` sends, never schedules
//! one whose expiry has passed, nor one of a canceled job, nor an occurrence of a
//! recurring job whose next occurrence is already due. The job's row is locked before
//! the send's (the order a cancel takes them in), so a retry and a cancel of the same job
//! run one after the other. A retry that schedules a send notifies `msgspool_due` in its
//! transaction, so every daemon's dispatcher wakes when it commits.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;

use super::super::{EventKind, JobKind, JobState, RetryOutcome, SendState, StoreError};
use super::PgStore;
use super::rows;
use crate::timefmt::utc_text;

/// Schedules a failed or expired send again (see [`retry_in`]), in its own transaction.
pub(super) async fn retry_send(
    store: &PgStore,
    send_id: i64,
    extend_to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<RetryOutcome, StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let outcome = retry_in(&tx, send_id, extend_to, now).await?;
    if matches!(outcome, RetryOutcome::Scheduled { .. }) {
        notify_due(&tx).await?;
    }
    tx.commit().await?;
    Ok(outcome)
}

/// Retries many sends in one transaction, each under its own savepoint: one that fails
/// is rolled back alone and answered with its error; the others commit together (and if
/// that commit fails, every one is answered with its error).
pub(super) async fn retry_sends(
    store: &PgStore,
    sends: Vec<(i64, Option<DateTime<Utc>>)>,
    now: DateTime<Utc>,
) -> Vec<Result<RetryOutcome, StoreError>> {
    let count = sends.len();
    match retry_all(store, sends, now).await {
        Ok(answers) => answers,
        Err(e) => (0..count).map(|_| Err(e.clone())).collect(),
    }
}

/// [`retry_sends`], failing as a whole when the transaction itself fails.
async fn retry_all(
    store: &PgStore,
    sends: Vec<(i64, Option<DateTime<Utc>>)>,
    now: DateTime<Utc>,
) -> Result<Vec<Result<RetryOutcome, StoreError>>, StoreError> {
    let mut client = store.client().await?;
    let mut tx = client.transaction().await?;
    let mut answers = Vec::with_capacity(sends.len());
    let mut scheduled_any = false;
    for (send_id, extend_to) in sends {
        let savepoint = tx.savepoint("retry_one").await?;
        match retry_in(&savepoint, send_id, extend_to, now).await {
            Ok(outcome) => {
                savepoint.commit().await?;
                scheduled_any |= matches!(outcome, RetryOutcome::Scheduled { .. });
                answers.push(Ok(outcome));
            }
            Err(e) => {
                savepoint.rollback().await?;
                answers.push(Err(e));
            }
        }
    }
    if scheduled_any {
        notify_due(&tx).await?;
    }
    tx.commit().await?;
    Ok(answers)
}

/// Schedules a failed or expired send again, due `now`, attempts back to 0, and makes its
/// finished job active. With `extend_to`, the expiry becomes the later of the current one
/// and `extend_to`; a send whose expiry (after that) is not after `now` is refused.
async fn retry_in(
    tx: &Transaction<'_>,
    send_id: i64,
    extend_to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<RetryOutcome, StoreError> {
    let Some(row) = tx
        .query_opt("SELECT job_id FROM sends WHERE id = $1", &[&send_id])
        .await?
    else {
        return Err(StoreError::NoSuchSend(send_id));
    };
    let job_id: String = row.try_get(0)?;
    tx.execute("SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE", &[&job_id])
        .await?;
    tx.execute("SELECT 1 FROM sends WHERE id = $1 FOR UPDATE", &[&send_id])
        .await?;
    let Some(send) = rows::send_by_id(tx, send_id).await? else {
        return Err(StoreError::NoSuchSend(send_id));
    };
    if !matches!(send.state, SendState::Failed | SendState::Expired) {
        return Ok(RetryOutcome::NotRetryable {
            send_id,
            state: send.state,
        });
    }
    let job = rows::job_by_id(tx, &send.job_id)
        .await?
        .ok_or_else(|| StoreError::NoSuchJob(send.job_id.clone()))?;
    if job.state == JobState::Canceled {
        return Ok(RetryOutcome::JobCanceled {
            send_id,
            job_id: job.id,
        });
    }
    if job.kind == JobKind::Cron {
        let next: Option<DateTime<Utc>> = tx
            .query_one(
                "SELECT MIN(occurrence_at) FROM sends WHERE job_id = $1 AND occurrence_at > $2",
                &[&job.id, &send.occurrence_at],
            )
            .await?
            .try_get(0)?;
        if let Some(next) = next
            && next <= now
        {
            return Ok(RetryOutcome::Overtaken {
                send_id,
                job_id: job.id,
                next,
            });
        }
    }
    let expires_at = extend_to.map_or(send.expires_at, |t| t.max(send.expires_at));
    if expires_at <= now {
        return Ok(RetryOutcome::PastExpiry {
            send_id,
            expires_at: send.expires_at,
        });
    }
    // The lease of the send's last claim is cleared with the rest of that claim.
    tx.execute(
        "UPDATE sends SET state = 'scheduled', next_attempt_at = $3, attempts = 0,
                          expires_at = $2, error_code = NULL, error_message = NULL,
                          error_details = NULL, claimed_at = NULL, finished_at = NULL,
                          lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
                          updated_at = $3
         WHERE id = $1 AND state IN ('failed', 'expired')",
        &[&send_id, &expires_at, &now],
    )
    .await?;
    tx.execute(
        "UPDATE jobs SET state = 'active', updated_at = $2 WHERE id = $1 AND state = 'finished'",
        &[&send.job_id, &now],
    )
    .await?;
    let extended = expires_at > send.expires_at;
    let expiry_note = if extended {
        format!(
            "expiry extended from {} to {}",
            utc_text(send.expires_at),
            utc_text(expires_at)
        )
    } else {
        format!("expires {}", utc_text(expires_at))
    };
    let detail = format!(
        "send {send_id} ({}, {} attempt(s)) scheduled again by an operator, due now; {expiry_note}",
        send.state.as_str(),
        send.attempts,
    );
    rows::insert_event(tx, now, EventKind::Retried, &send.job_id, &detail).await?;
    Ok(RetryOutcome::Scheduled {
        send_id,
        job_id: send.job_id,
        expires_at,
        extended,
    })
}

/// Wakes every daemon's dispatcher once the transaction commits (`LISTEN msgspool_due`).
async fn notify_due(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute("SELECT pg_notify('msgspool_due', '')", &[])
        .await?;
    Ok(())
}
