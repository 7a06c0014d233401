//! Jobs, events, rejections and the run mode on PostgreSQL: each operation one
//! transaction (or one statement).
//!
//! Owns: these operations of [`Backend`](super::super::Backend). Trusts: [`cron`] for the
//! broken/mend steps. Guarantees: as SQLite's `jobs.rs`, `mode.rs` and `cron.rs`; the run
//! mode is recorded once even when daemons start together (`ON CONFLICT DO NOTHING`, then
//! read back); a mend and a resume NOTIFY, as they make sends due now.

use chrono::{DateTime, Utc};

use super::super::{CronJob, EventKind, JobSource, JobState, RunMode, StoreError};
use super::{PgStore, cron, history};

/// Records a job file intake turned away.
pub(super) async fn record_rejection(
    store: &PgStore,
    file_name: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let client = store.client().await?;
    client
        .execute(
            "INSERT INTO rejections (file_name, rejected_at, error) VALUES ($1, $2, $3)",
            &[&file_name, &now, &error],
        )
        .await?;
    Ok(())
}

/// Records a line of a job's (or the daemon's) history.
pub(super) async fn record_event(
    store: &PgStore,
    kind: EventKind,
    job_id: Option<&str>,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let client = store.client().await?;
    client
        .execute(
            "INSERT INTO events (at, kind, job_id, detail) VALUES ($1, $2, $3, $4)",
            &[&now, &kind.as_str(), &job_id, &detail],
        )
        .await?;
    Ok(())
}

/// A job's state, source file name and text, if the job exists.
pub(super) async fn job_source(
    store: &PgStore,
    job_id: &str,
) -> Result<Option<JobSource>, StoreError> {
    let client = store.client().await?;
    let Some(row) = client
        .query_opt(
            "SELECT state, source_name, source_text FROM jobs WHERE id = $1",
            &[&job_id],
        )
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(JobSource {
        state: JobState::read(row.try_get(0)?)?,
        source_name: row.try_get(1)?,
        source_text: row.try_get(2)?,
    }))
}

/// Records `mode` as the database's if it has none (a database already holding sends
/// counts as live); returns the database's other mode when it belongs to that one.
pub(super) async fn claim_mode(
    store: &PgStore,
    mode: RunMode,
    now: DateTime<Utc>,
) -> Result<Option<RunMode>, StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let stored = tx
        .query_opt("SELECT value FROM meta WHERE key = 'mode'", &[])
        .await?;
    let stored = match stored {
        Some(row) => RunMode::read(row.try_get(0)?)?,
        None => {
            let has_sends: bool = tx
                .query_one("SELECT EXISTS (SELECT 1 FROM sends)", &[])
                .await?
                .try_get(0)?;
            let first = if has_sends { RunMode::Live } else { mode };
            let added = tx
                .execute(
                    "INSERT INTO meta (key, value) VALUES ('mode', $1)
                     ON CONFLICT (key) DO NOTHING",
                    &[&first.as_str()],
                )
                .await?;
            if added > 0 {
                let detail = format!("this database belongs to {} runs", first.as_str());
                history::insert_event(&tx, now, EventKind::Mode, None, &detail).await?;
                first
            } else {
                // Another daemon recorded its mode meanwhile: that one stands.
                let row = tx
                    .query_one("SELECT value FROM meta WHERE key = 'mode'", &[])
                    .await?;
                RunMode::read(row.try_get(0)?)?
            }
        }
    };
    tx.commit().await?;
    Ok((stored != mode).then_some(stored))
}

/// Every cron job that is not canceled, with whether it has an open send and its latest
/// occurrence.
pub(super) async fn cron_jobs(store: &PgStore) -> Result<Vec<CronJob>, StoreError> {
    let client = store.client().await?;
    let rows = client
        .query(
            "SELECT j.id, j.state, j.source_name, j.source_text, j.until_at, j.broken_reason,
                    EXISTS (SELECT 1 FROM sends s
                            WHERE s.job_id = j.id AND s.state IN ('scheduled', 'sending')),
                    (SELECT MAX(s.occurrence_at) FROM sends s WHERE s.job_id = j.id)
             FROM jobs j WHERE j.kind = 'cron' AND j.state <> 'canceled' ORDER BY j.id",
            &[],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(CronJob {
                id: row.try_get(0)?,
                state: JobState::read(row.try_get(1)?)?,
                source_name: row.try_get(2)?,
                source_text: row.try_get(3)?,
                until: row.try_get(4)?,
                broken_reason: row.try_get(5)?,
                has_open_send: row.try_get(6)?,
                last_occurrence: row.try_get(7)?,
            })
        })
        .collect()
}

/// Marks a job `broken` with its reason and an event.
pub(super) async fn mark_broken(
    store: &PgStore,
    job_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    cron::mark_broken(&tx, job_id, reason, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Makes a broken job active again, its waiting sends due now; false if it was not broken.
pub(super) async fn mend(
    store: &PgStore,
    job_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let mended = cron::mend(&tx, job_id, now).await?;
    if mended {
        history::notify_due(&tx).await?;
    }
    tx.commit().await?;
    Ok(mended)
}

/// Sends held back by a refused key or a redirect (their last attempt says so) are due
/// `now`; how many.
pub(super) async fn resume_refused(
    store: &PgStore,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let resumed = tx
        .execute(
            "UPDATE sends SET next_attempt_at = $1, updated_at = $1
             WHERE state = 'scheduled' AND next_attempt_at > $1
               AND (SELECT a.outcome FROM attempts a WHERE a.send_id = sends.id
                    ORDER BY a.id DESC LIMIT 1) IN ('unauthorized', 'redirected')",
            &[&now],
        )
        .await?;
    if resumed > 0 {
        history::notify_due(&tx).await?;
    }
    tx.commit().await?;
    Ok(usize::try_from(resumed).unwrap_or(usize::MAX))
}
