//! Intake on PostgreSQL: a job and its sends in one transaction (or a savepoint of the
//! batch's), then NOTIFY; a cron job's next occurrence.
//!
//! Owns: the decision between inserted, unchanged, replaced and conflict, as SQLite's
//! `accept.rs` makes it. Trusts: the job's id to be unique across hosts (the primary key
//! decides between two daemons storing it at once). Guarantees: the job row and its open
//! sends are locked before they are judged, so a claim (`SKIP LOCKED`) cannot take a send
//! of a job whose content is being replaced, and a send in flight is seen; a send already
//! tried is kept (as `replaced`, with its attempts), never deleted.

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;

use super::super::{AcceptOutcome, EventKind, JobState, NewJob, NewSend, SendState, StoreError};
use super::job_rows::{insert_job, locked_hash_and_state, revive_replaced, upsert_job};
use super::{PgStore, cron, history, job_rows, moves};
use crate::timefmt::utc_text;

/// Stores a job in its own transaction (see [`AcceptOutcome`]).
pub(super) async fn accept_job(
    store: &PgStore,
    job: NewJob,
    now: DateTime<Utc>,
) -> Result<AcceptOutcome, StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let outcome = accept_in(&tx, &job, now).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Stores many jobs in one transaction, each in a savepoint: one that fails is rolled
/// back alone and answered with its error; the others commit together.
pub(super) async fn accept_jobs(
    store: &PgStore,
    jobs: Vec<NewJob>,
    now: DateTime<Utc>,
) -> Vec<Result<AcceptOutcome, StoreError>> {
    let count = jobs.len();
    match accept_batch(store, jobs, now).await {
        Ok(answers) => answers,
        // Nothing of the batch was kept (no connection, or the commit failed).
        Err(e) => (0..count).map(|_| Err(e.clone())).collect(),
    }
}

async fn accept_batch(
    store: &PgStore,
    jobs: Vec<NewJob>,
    now: DateTime<Utc>,
) -> Result<Vec<Result<AcceptOutcome, StoreError>>, StoreError> {
    let mut client = store.client().await?;
    let mut tx = client.transaction().await?;
    let mut answers = Vec::with_capacity(jobs.len());
    for job in &jobs {
        let savepoint = tx.savepoint("accept_job").await?;
        match accept_in(&savepoint, job, now).await {
            Ok(outcome) => {
                savepoint.commit().await?;
                answers.push(Ok(outcome));
            }
            Err(e) => {
                savepoint.rollback().await?;
                answers.push(Err(e));
            }
        }
    }
    tx.commit().await?;
    Ok(answers)
}

/// Adds a recurring job's next occurrence in its own transaction; whether it was added.
pub(super) async fn add_occurrence(
    store: &PgStore,
    job_id: &str,
    send: NewSend,
    skipped: Option<String>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let added = cron::add_occurrence(&tx, job_id, &send, skipped.as_deref(), now).await?;
    if added {
        history::notify_due(&tx).await?;
    }
    tx.commit().await?;
    Ok(added)
}

/// Judges and stores one job inside `tx`.
async fn accept_in(
    tx: &Transaction<'_>,
    job: &NewJob,
    now: DateTime<Utc>,
) -> Result<AcceptOutcome, StoreError> {
    let state = if job.sends.is_empty() {
        JobState::Finished
    } else {
        JobState::Active
    };
    let stored = match locked_hash_and_state(tx, &job.id).await? {
        Some(stored) => stored,
        None => {
            if insert_job(tx, job, state, now).await? {
                for send in &job.sends {
                    moves::insert_send(tx, &job.id, send, now).await?;
                }
                if !job.sends.is_empty() {
                    history::notify_due(tx).await?;
                }
                return Ok(AcceptOutcome::Inserted);
            }
            // Another daemon stored the same id meanwhile: judge against its version.
            locked_hash_and_state(tx, &job.id)
                .await?
                .ok_or_else(|| StoreError::NoSuchJob(job.id.clone()))?
        }
    };
    let (stored_sha256, stored_state) = stored;
    if stored_sha256 == job.sha256 {
        return Ok(AcceptOutcome::Unchanged);
    }
    if let Some(reason) = replace_conflict(tx, job, stored_state).await? {
        return Ok(AcceptOutcome::Conflict { reason });
    }
    // Sends never tried go; tried ones stay as `replaced` with their attempts, and one
    // for an occurrence the new content has again takes that content in place.
    let removed = tx
        .execute(
            &tx.prepare_cached(
                "DELETE FROM sends WHERE job_id = $1 AND state = 'scheduled'
               AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.send_id = sends.id)",
            )
            .await?,
            &[&job.id],
        )
        .await?;
    let kept = tx
        .execute(
            &tx.prepare_cached(
                "UPDATE sends SET state = 'replaced', next_attempt_at = NULL, finished_at = $2,
                              updated_at = $2
             WHERE job_id = $1 AND state = 'scheduled'",
            )
            .await?,
            &[&job.id, &now],
        )
        .await?;
    let canceled = usize::try_from(removed.saturating_add(kept)).unwrap_or(usize::MAX);
    upsert_job(tx, job, state, now).await?;
    for send in &job.sends {
        if revive_replaced(tx, &job.id, send, now).await? == 0 {
            moves::insert_send(tx, &job.id, send, now).await?;
        }
    }
    let detail = format!(
        "new content (sha256 {} replaces {}) from {}: {canceled} pending send(s) replaced ({kept} kept as replaced with their attempts), {} scheduled",
        short_hash(&job.sha256),
        short_hash(&stored_sha256),
        job.source_name,
        job.sends.len(),
    );
    history::insert_event(tx, now, EventKind::Replaced, Some(&job.id), &detail).await?;
    if job.sends.is_empty() {
        job_rows::on_send_finished(tx, &job.id, now).await?;
    } else {
        history::notify_due(tx).await?;
    }
    Ok(AcceptOutcome::Replaced { canceled })
}

/// Why new content for a stored job cannot replace it, if it cannot (SQLite's words).
async fn replace_conflict(
    tx: &Transaction<'_>,
    job: &NewJob,
    stored_state: JobState,
) -> Result<Option<String>, StoreError> {
    let id = &job.id;
    let count = |state: SendState| async move {
        let row = tx
            .query_one(
                &tx.prepare_cached("SELECT COUNT(*) FROM sends WHERE job_id = $1 AND state = $2")
                    .await?,
                &[id, &state.as_str()],
            )
            .await?;
        Ok::<i64, StoreError>(row.try_get(0)?)
    };
    if count(SendState::Sending).await? > 0 {
        return Ok(Some(format!(
            "job {id} has a send in flight right now and different content was dropped; \
             drop the file again once that send has finished"
        )));
    }
    if count(SendState::Scheduled).await? == 0 {
        return Ok(Some(format!(
            "job {id} already exists with different content and has nothing left to send \
             (state {stored_state}); give the new job a new id"
        )));
    }
    for send in &job.sends {
        let found = tx
            .query_opt(
                &tx.prepare_cached(
                    "SELECT state FROM sends WHERE job_id = $1 AND occurrence_at = $2",
                )
                .await?,
                &[id, &send.occurrence],
            )
            .await?;
        if let Some(row) = found {
            let state = SendState::read(row.try_get(0)?)?;
            if state != SendState::Scheduled && state != SendState::Replaced {
                return Ok(Some(format!(
                    "job {id} already has a {state} send for {}; give the new job a new id",
                    utc_text(send.occurrence)
                )));
            }
        }
    }
    Ok(None)
}

/// The first 12 hex digits of a hash, enough to tell versions apart in an event.
fn short_hash(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}
