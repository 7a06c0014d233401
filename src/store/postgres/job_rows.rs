//! The rows intake writes on PostgreSQL: a job's row (inserted or given new content) and
//! a replaced send revived, and the locks intake takes before it judges a job; and a job's
//! state moves, among them its end once nothing of it is pending.
//!
//! Owns: the `jobs` columns intake writes, in one list for insert and update. Trusts:
//! `accept.rs` for the decision. Guarantees: every statement runs in the caller's
//! transaction.

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;

use super::super::{JobState, NewJob, NewSend, StoreError};

/// The stored sha256 and state of a job, its row and its open sends locked until the end
/// of the transaction (a claim skips locked sends).
pub(super) async fn locked_hash_and_state(
    tx: &Transaction<'_>,
    job_id: &str,
) -> Result<Option<(String, JobState)>, StoreError> {
    let Some(row) = tx
        .query_opt(
            &tx.prepare_cached("SELECT sha256, state FROM jobs WHERE id = $1 FOR UPDATE")
                .await?,
            &[&job_id],
        )
        .await?
    else {
        return Ok(None);
    };
    tx.execute(
        &tx.prepare_cached(
            "SELECT 1 FROM sends WHERE job_id = $1 AND state IN ('scheduled', 'sending')
         FOR UPDATE",
        )
        .await?,
        &[&job_id],
    )
    .await?;
    Ok(Some((row.try_get(0)?, JobState::read(row.try_get(1)?)?)))
}

/// Inserts a new job row; false when the id exists (another daemon's intake won).
pub(super) async fn insert_job(
    tx: &Transaction<'_>,
    job: &NewJob,
    state: JobState,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let sql = "INSERT INTO jobs (id, channel, kind, cron, timezone, until_at, source_name,
                                 source_text, sha256, state, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
               ON CONFLICT (id) DO NOTHING";
    Ok(write_job(tx, sql, job, state, now).await? > 0)
}

/// Gives an existing job row the new content, its `created_at` kept.
pub(super) async fn upsert_job(
    tx: &Transaction<'_>,
    job: &NewJob,
    state: JobState,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let sql = "UPDATE jobs SET channel = $2, kind = $3, cron = $4, timezone = $5, until_at = $6,
                               source_name = $7, source_text = $8, sha256 = $9, state = $10,
                               updated_at = $11
               WHERE id = $1";
    write_job(tx, sql, job, state, now).await.map(|_| ())
}

/// Runs `sql` with a job's columns as $1..$11 (id, channel, kind, cron, timezone, until,
/// source name, source text, sha256, state, now); the rows it changed.
async fn write_job(
    tx: &Transaction<'_>,
    sql: &str,
    job: &NewJob,
    state: JobState,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let (kind, state) = (job.kind.as_str(), state.as_str());
    Ok(tx
        .execute(
            &tx.prepare_cached(sql).await?,
            &[
                &job.id,
                &job.channel,
                &kind,
                &job.cron,
                &job.timezone,
                &job.until,
                &job.source_name,
                &job.source_text,
                &job.sha256,
                &state,
                &now,
            ],
        )
        .await?)
}

/// Gives a replaced send of the same occurrence the new content ((job, occurrence) is
/// unique): it is scheduled again, its earlier attempts stay attached.
pub(super) async fn revive_replaced(
    tx: &Transaction<'_>,
    job_id: &str,
    send: &NewSend,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(tx
        .execute(
            &tx.prepare_cached(
                "UPDATE sends SET state = 'scheduled', due_at = $3, expires_at = $4,
                              next_attempt_at = $3, payload = $5, reference = $6, attempts = 0,
                              last_error = NULL, finished_at = NULL, updated_at = $7
             WHERE job_id = $1 AND occurrence_at = $2 AND state = 'replaced'",
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
        .await?)
}

/// Moves a job from state `from` to `to`; how many rows changed (0 or 1).
pub(super) async fn move_job_state(
    tx: &Transaction<'_>,
    job_id: &str,
    from: JobState,
    to: JobState,
    at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(tx
        .execute(
            &tx.prepare_cached(
                "UPDATE jobs SET state = $3, updated_at = $4 WHERE id = $1 AND state = $2",
            )
            .await?,
            &[&job_id, &from.as_str(), &to.as_str(), &at],
        )
        .await?)
}

/// When one of a job's sends reached a final state: the job is finished once none of its
/// sends is scheduled or being sent.
pub(super) async fn on_send_finished(
    tx: &Transaction<'_>,
    job_id: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    finish_jobs(tx, &[job_id.to_owned()], &[at]).await
}

/// [`on_send_finished`] for several jobs, each ended at its instant in `ends`; give them
/// in one order (by id), so that writers lock jobs alike.
pub(super) async fn finish_jobs(
    tx: &Transaction<'_>,
    job_ids: &[String],
    ends: &[DateTime<Utc>],
) -> Result<(), StoreError> {
    tx.execute(
        &tx.prepare_cached(
            "UPDATE jobs j SET state = 'finished', updated_at = f.at
             FROM unnest($1::TEXT[], $2::TIMESTAMPTZ[]) AS f(id, at)
             WHERE j.id = f.id AND j.state = 'active'
               AND NOT EXISTS (SELECT 1 FROM sends s
                               WHERE s.job_id = f.id AND s.state IN ('scheduled', 'sending'))",
        )
        .await?,
        &[&job_ids, &ends],
    )
    .await?;
    Ok(())
}
