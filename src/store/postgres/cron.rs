//! Recurring (`cron`) jobs on PostgreSQL, inside a caller's transaction: the next
//! occurrence, the end of a schedule, `broken` and its mending.
//!
//! Owns: these steps. Trusts: dispatch for the follow-up it built, and its caller for the
//! transaction. Guarantees: an occurrence is inserted with `ON CONFLICT (job_id,
//! occurrence_at) DO NOTHING`, so two daemons (or a retried outcome) add it once; the job
//! row is locked first, so a cancel committed meanwhile is seen and wins.

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;

use super::super::{EventKind, FollowUp, JobState, NewSend, StoreError};
use super::{history, job_rows, moves};

/// Applies `follow` for `job_id`; whether a scheduled send was added.
pub(super) async fn apply(
    tx: &Transaction<'_>,
    job_id: &str,
    follow: &FollowUp,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    match follow {
        FollowUp::Next { send, skipped } => {
            add_occurrence(tx, job_id, send, skipped.as_deref(), now).await
        }
        FollowUp::End { skipped } => {
            if let Some(detail) = skipped {
                history::insert_event(tx, now, EventKind::Skipped, Some(job_id), detail).await?;
            }
            Ok(false)
        }
        FollowUp::Broken { reason } => {
            mark_broken(tx, job_id, reason, now).await?;
            Ok(false)
        }
    }
}

/// Adds a recurring job's next occurrence unless it exists already or the job is neither
/// active nor finished (canceled, broken, missing); records `skipped` as one event when
/// the job exists. Whether a send was added.
pub(super) async fn add_occurrence(
    tx: &Transaction<'_>,
    job_id: &str,
    send: &NewSend,
    skipped: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(row) = tx
        .query_opt(
            &tx.prepare_cached("SELECT state FROM jobs WHERE id = $1 FOR UPDATE")
                .await?,
            &[&job_id],
        )
        .await?
    else {
        return Ok(false);
    };
    let state = JobState::read(row.try_get(0)?)?;
    if let Some(detail) = skipped {
        history::insert_event(tx, now, EventKind::Skipped, Some(job_id), detail).await?;
    }
    match state {
        JobState::Active | JobState::Finished => {}
        JobState::Canceled | JobState::Broken => return Ok(false),
    }
    if !moves::insert_occurrence(tx, job_id, send, now).await? {
        return Ok(false);
    }
    job_rows::move_job_state(tx, job_id, JobState::Finished, JobState::Active, now).await?;
    Ok(true)
}

/// Marks an active (or finished) job `broken` with its reason and one event.
pub(super) async fn mark_broken(
    tx: &Transaction<'_>,
    job_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let changed = tx
        .execute(
            &tx.prepare_cached(
                "UPDATE jobs SET state = 'broken', broken_reason = $2, updated_at = $3
             WHERE id = $1 AND state IN ('active', 'finished')",
            )
            .await?,
            &[&job_id, &reason, &now],
        )
        .await?;
    if changed > 0 {
        history::insert_event(tx, now, EventKind::Broken, Some(job_id), reason).await?;
    }
    Ok(())
}

/// Makes a broken job active again and its waiting sends due `now` at the latest; one
/// event. False when the job was not broken.
pub(super) async fn mend(
    tx: &Transaction<'_>,
    job_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let changed = tx
        .execute(
            &tx.prepare_cached(
                "UPDATE jobs SET state = 'active', broken_reason = NULL, updated_at = $2
             WHERE id = $1 AND state = 'broken'",
            )
            .await?,
            &[&job_id, &now],
        )
        .await?;
    if changed == 0 {
        return Ok(false);
    }
    tx.execute(
        &tx.prepare_cached(
            "UPDATE sends SET next_attempt_at = LEAST(next_attempt_at, $2), updated_at = $2
         WHERE job_id = $1 AND state = 'scheduled'",
        )
        .await?,
        &[&job_id, &now],
    )
    .await?;
    let detail = "passes the rules under the reloaded config again; its schedule resumes";
    history::insert_event(tx, now, EventKind::Mended, Some(job_id), detail).await?;
    Ok(true)
}
