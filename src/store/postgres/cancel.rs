//! Cancelling a job, every active job (of a prefix), or one send, on PostgreSQL.
//!
//! Owns: the SQL of the three cancels. Trusts: every other writer of a send to lock its
//! row (a claim takes rows `FOR UPDATE SKIP LOCKED`, an outcome updates by id), and every
//! writer of a job's sends to lock or update the job row first as intake does.
//! Guarantees (as SQLite's `cancel.rs`): a cancel takes only sends still `scheduled` or
//! `sending`, read under their row locks, so what it reports is what it changed even
//! while other daemons claim; a `sending` send is canceled with its lease left as it is:
//! its holder's fenced outcome (`state = 'sending' AND lease_token = ..`) then matches no
//! row and records the attempt only, so the send stays `canceled` whatever Bird answers,
//! and it is never taken back (take-back looks at `sending` only). Occurrences of a
//! recurring job are not canceled one by one (see [`CancelOutcome::RecurringSend`]).

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;

use super::super::{CancelOutcome, EventKind, JobKind, JobState, SendState, StoreError};
use super::PgStore;
use super::rows;

/// Cancels a job: its scheduled and in-flight sends become `canceled`, the job too.
pub(super) async fn cancel_job(
    store: &PgStore,
    job_id: &str,
    now: DateTime<Utc>,
) -> Result<CancelOutcome, StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let outcome = cancel_job_in(&tx, job_id, now).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Cancels every active job, or every active job whose id starts with `prefix`, in one
/// transaction; one answer per job, in id order.
pub(super) async fn cancel_jobs(
    store: &PgStore,
    prefix: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<CancelOutcome>, StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let ids = tx
        .query(
            "SELECT id FROM jobs
             WHERE state = 'active' AND ($1::text IS NULL OR left(id, length($1)) = $1)
             ORDER BY id",
            &[&prefix],
        )
        .await?;
    let mut outcomes = Vec::with_capacity(ids.len());
    for row in ids {
        let job_id: String = row.try_get(0)?;
        outcomes.push(cancel_job_in(&tx, &job_id, now).await?);
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// Cancels one scheduled or in-flight send of a one-shot job; the job finishes when
/// nothing else of it is pending.
pub(super) async fn cancel_send(
    store: &PgStore,
    send_id: i64,
    now: DateTime<Utc>,
) -> Result<CancelOutcome, StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let Some(row) = tx
        .query_opt(
            "SELECT s.job_id, s.state, j.kind FROM sends s JOIN jobs j ON j.id = s.job_id
             WHERE s.id = $1 FOR UPDATE OF s",
            &[&send_id],
        )
        .await?
    else {
        return Err(StoreError::NoSuchSend(send_id));
    };
    let job_id: String = row.try_get(0)?;
    let state = SendState::read(row.try_get(1)?)?;
    let kind = JobKind::read(row.try_get(2)?)?;
    let in_flight = match state {
        SendState::Scheduled => false,
        SendState::Sending => true,
        SendState::Canceled => return Ok(CancelOutcome::AlreadyCanceled { job_id }),
        SendState::Sent | SendState::Failed | SendState::Expired | SendState::Replaced => {
            return Ok(CancelOutcome::AlreadyEnded {
                job_id,
                state: state.as_str(),
            });
        }
    };
    if kind == JobKind::Cron {
        return Ok(CancelOutcome::RecurringSend { job_id });
    }
    tx.execute(
        "UPDATE sends SET state = 'canceled', next_attempt_at = NULL, finished_at = $2,
                          updated_at = $2
         WHERE id = $1",
        &[&send_id, &now],
    )
    .await?;
    let (scheduled, in_flight) = if in_flight {
        (vec![], vec![send_id])
    } else {
        (vec![send_id], vec![])
    };
    let detail = format!(
        "send {send_id} canceled by an operator (it was {}){}",
        state.as_str(),
        in_flight_note(&in_flight)
    );
    rows::insert_event(&tx, now, EventKind::Canceled, &job_id, &detail).await?;
    rows::finish_job_if_done(&tx, &job_id, now).await?;
    tx.commit().await?;
    Ok(CancelOutcome::Canceled {
        job_id,
        scheduled,
        in_flight,
    })
}

/// [`cancel_job`] inside the caller's transaction.
async fn cancel_job_in(
    tx: &Transaction<'_>,
    job_id: &str,
    now: DateTime<Utc>,
) -> Result<CancelOutcome, StoreError> {
    // The job's row lock orders this cancel against intake's new content for the job.
    let Some(row) = tx
        .query_opt(
            "SELECT state FROM jobs WHERE id = $1 FOR UPDATE",
            &[&job_id],
        )
        .await?
    else {
        return Err(StoreError::NoSuchJob(job_id.to_owned()));
    };
    let job_state = JobState::read(row.try_get(0)?)?;
    // Each send is locked (waiting for a claim that holds it) and read again before it
    // changes, so a send claimed meanwhile is reported as in flight, not as scheduled.
    let canceled = tx
        .query(
            "WITH open AS MATERIALIZED (
                 SELECT id, state FROM sends
                 WHERE job_id = $1 AND state IN ('scheduled', 'sending')
                 ORDER BY id FOR UPDATE)
             UPDATE sends s SET state = 'canceled', next_attempt_at = NULL, finished_at = $2,
                                updated_at = $2
             FROM open WHERE s.id = open.id
             RETURNING s.id, open.state",
            &[&job_id, &now],
        )
        .await?;
    let (mut scheduled, mut in_flight) = (Vec::new(), Vec::new());
    for row in &canceled {
        let id: i64 = row.try_get(0)?;
        // Only `scheduled` and `sending` sends were taken.
        if SendState::read(row.try_get(1)?)? == SendState::Sending {
            in_flight.push(id);
        } else {
            scheduled.push(id);
        }
    }
    scheduled.sort_unstable();
    in_flight.sort_unstable();
    if scheduled.is_empty() && in_flight.is_empty() {
        match job_state {
            JobState::Canceled => {
                return Ok(CancelOutcome::AlreadyCanceled {
                    job_id: job_id.to_owned(),
                });
            }
            JobState::Finished => {
                return Ok(CancelOutcome::AlreadyEnded {
                    job_id: job_id.to_owned(),
                    state: JobState::Finished.as_str(),
                });
            }
            // An active (or broken) job with nothing pending is still canceled, so
            // nothing of it runs.
            JobState::Active | JobState::Broken => {}
        }
    }
    tx.execute(
        "UPDATE jobs SET state = 'canceled', updated_at = $2
         WHERE id = $1 AND state <> 'canceled'",
        &[&job_id, &now],
    )
    .await?;
    let detail = format!(
        "canceled by an operator: {} scheduled send(s) canceled{}",
        scheduled.len(),
        in_flight_note(&in_flight)
    );
    rows::insert_event(tx, now, EventKind::Canceled, job_id, &detail).await?;
    Ok(CancelOutcome::Canceled {
        job_id: job_id.to_owned(),
        scheduled,
        in_flight,
    })
}

/// The part of a cancel event about requests that were under way.
fn in_flight_note(in_flight: &[i64]) -> String {
    if in_flight.is_empty() {
        return String::new();
    }
    format!(
        "; {} send(s) had a request in flight ({in_flight:?}): they stay canceled (Bird's id \
         is kept if it accepts the request) and are never tried again",
        in_flight.len()
    )
}
