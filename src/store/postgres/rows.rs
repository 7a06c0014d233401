//! The one reader of each PostgreSQL row type the operator sees: a `sends` row (with its
//! job's channel) as [`SendRow`], a `jobs` row as [`JobRow`], an `attempts` row as
//! [`AttemptRow`], an `events` row as [`EventRow`]; and the reads of them by job and id.
//!
//! Owns: [`SELECT_SENDS`] (the columns [`send_row`] reads, in its order). Trusts: the
//! caller for the transaction (a read-only snapshot for `show`, the writer's for a retry).
//! Guarantees: a word that is not a state, or a count beyond `u32`, is a
//! [`StoreError::BadValue`] naming the column; timestamps are `TIMESTAMPTZ`, read as
//! `DateTime<Utc>` by the driver, so no text is parsed here.

use chrono::{DateTime, Utc};
use tokio_postgres::{Row, Transaction};

use super::super::{
    AttemptOutcome, AttemptRow, EventRow, JobKind, JobRow, SendRow, SendState, StoreError,
};

/// The columns [`send_row`] reads, in its order, from `sends s JOIN jobs j`.
pub(super) const SELECT_SENDS: &str =
    "SELECT s.id, s.job_id, j.channel, s.state, s.occurrence_at, s.due_at,
        s.expires_at, s.next_attempt_at, s.attempts, s.reference, s.bird_message_id,
        s.bird_status, s.last_error, s.error_code, s.error_message, s.error_details,
        s.claimed_at, s.finished_at, s.created_at, s.updated_at, s.payload, s.reconcile_from
 FROM sends s JOIN jobs j ON j.id = s.job_id";

/// A count stored as INTEGER, as `u32`, naming the column when it does not fit.
pub(super) fn count(column: &'static str, value: i32) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::BadValue {
        column,
        value: value.to_string(),
    })
}

/// A row selected with [`SELECT_SENDS`].
pub(super) fn send_row(row: &Row) -> Result<SendRow, StoreError> {
    Ok(SendRow {
        id: row.try_get(0)?,
        job_id: row.try_get(1)?,
        channel: row.try_get(2)?,
        state: SendState::read(row.try_get(3)?)?,
        occurrence_at: row.try_get(4)?,
        due_at: row.try_get(5)?,
        expires_at: row.try_get(6)?,
        next_attempt_at: row.try_get(7)?,
        attempts: count("sends.attempts", row.try_get(8)?)?,
        reference: row.try_get(9)?,
        bird_message_id: row.try_get(10)?,
        bird_status: row.try_get(11)?,
        last_error: row.try_get(12)?,
        error_code: row.try_get(13)?,
        error_message: row.try_get(14)?,
        error_details: row.try_get(15)?,
        claimed_at: row.try_get(16)?,
        finished_at: row.try_get(17)?,
        created_at: row.try_get(18)?,
        updated_at: row.try_get(19)?,
        payload: row.try_get(20)?,
        reconcile_from: row.try_get(21)?,
    })
}

/// One send, if it exists.
pub(super) async fn send_by_id(
    tx: &Transaction<'_>,
    send_id: i64,
) -> Result<Option<SendRow>, StoreError> {
    let sql = format!("{SELECT_SENDS} WHERE s.id = $1");
    tx.query_opt(&sql, &[&send_id])
        .await?
        .as_ref()
        .map(send_row)
        .transpose()
}

/// A job's sends by occurrence.
pub(super) async fn sends_of_job(
    tx: &Transaction<'_>,
    job_id: &str,
) -> Result<Vec<SendRow>, StoreError> {
    let sql = format!("{SELECT_SENDS} WHERE s.job_id = $1 ORDER BY s.occurrence_at, s.id");
    tx.query(&sql, &[&job_id])
        .await?
        .iter()
        .map(send_row)
        .collect()
}

/// One job, if it exists.
pub(super) async fn job_by_id(
    tx: &Transaction<'_>,
    job_id: &str,
) -> Result<Option<JobRow>, StoreError> {
    let row = tx
        .query_opt(
            "SELECT id, channel, kind, cron, timezone, until_at, source_name, source_text,
                    sha256, state, created_at, updated_at, broken_reason
             FROM jobs WHERE id = $1",
            &[&job_id],
        )
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(JobRow {
        id: row.try_get(0)?,
        channel: row.try_get(1)?,
        kind: JobKind::read(row.try_get(2)?)?,
        cron: row.try_get(3)?,
        timezone: row.try_get(4)?,
        until: row.try_get(5)?,
        source_name: row.try_get(6)?,
        source_text: row.try_get(7)?,
        sha256: row.try_get(8)?,
        state: super::super::JobState::read(row.try_get(9)?)?,
        created_at: row.try_get(10)?,
        updated_at: row.try_get(11)?,
        broken_reason: row.try_get(12)?,
    }))
}

/// Every attempt of a send, oldest first.
pub(super) async fn attempts_of_send(
    tx: &Transaction<'_>,
    send_id: i64,
) -> Result<Vec<AttemptRow>, StoreError> {
    let rows = tx
        .query(
            "SELECT id, send_id, started_at, finished_at, http_status, outcome, error
             FROM attempts WHERE send_id = $1 ORDER BY started_at, id",
            &[&send_id],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let http_status = row
                .try_get::<_, Option<i32>>(4)?
                .map(|code| {
                    u16::try_from(code).map_err(|_| StoreError::BadValue {
                        column: "attempts.http_status",
                        value: code.to_string(),
                    })
                })
                .transpose()?;
            Ok(AttemptRow {
                id: row.try_get(0)?,
                send_id: row.try_get(1)?,
                started_at: row.try_get(2)?,
                finished_at: row.try_get(3)?,
                http_status,
                outcome: AttemptOutcome::read(row.try_get(5)?)?,
                error: row.try_get(6)?,
            })
        })
        .collect()
}

/// Every event of a job, oldest first (any kind, as text: an operator may add rows).
pub(super) async fn events_of_job(
    tx: &Transaction<'_>,
    job_id: &str,
) -> Result<Vec<EventRow>, StoreError> {
    let rows = tx
        .query(
            "SELECT at, kind, detail FROM events WHERE job_id = $1 ORDER BY at, id",
            &[&job_id],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(EventRow {
                at: row.try_get(0)?,
                kind: row.try_get(1)?,
                detail: row.try_get(2)?,
            })
        })
        .collect()
}

/// Appends a line to a job's history.
pub(super) async fn insert_event(
    tx: &Transaction<'_>,
    at: DateTime<Utc>,
    kind: super::super::EventKind,
    job_id: &str,
    detail: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO events (at, kind, job_id, detail) VALUES ($1, $2, $3, $4)",
        &[&at, &kind.as_str(), &job_id, &detail],
    )
    .await?;
    Ok(())
}

/// Finishes an active job once none of its sends is scheduled or being sent.
pub(super) async fn finish_job_if_done(
    tx: &Transaction<'_>,
    job_id: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE jobs SET state = 'finished', updated_at = $2
         WHERE id = $1 AND state = 'active'
           AND NOT EXISTS (SELECT 1 FROM sends
                           WHERE job_id = $1 AND state IN ('scheduled', 'sending'))",
        &[&job_id, &at],
    )
    .await?;
    Ok(())
}
