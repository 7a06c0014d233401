//! What operators read on PostgreSQL: listings of sends, a send, a job's or a send's
//! details (`msgspool show`) and the numbers of `msgspool stats`.
//!
//! Owns: the SQL of these reads. Trusts: [`super::rows`] to read each row. Guarantees (as
//! SQLite's `sends/reads.rs` and `details.rs`): a read that spans tables runs in one
//! `REPEATABLE READ, READ ONLY` transaction, so a send and its attempts come from one
//! snapshot even while other daemons write; a listing is ordered by when a send is due
//! next (its next attempt while it waits, else its due time), then by id.

use chrono::{DateTime, Utc};
use tokio_postgres::IsolationLevel;

use super::super::{
    FinishedCounts, JobDetails, SendDetails, SendFilter, SendRow, SendState, Stats, StoreError,
};
use super::PgStore;
use super::rows::{self, SELECT_SENDS};

/// Sends matching `filter`, soonest due first.
pub(super) async fn list_sends(
    store: &PgStore,
    filter: SendFilter,
) -> Result<Vec<SendRow>, StoreError> {
    let mut client = store.client().await?;
    let tx = snapshot(&mut client).await?;
    let states: Option<Vec<&str>> =
        (!filter.states.is_empty()).then(|| filter.states.iter().map(|s| s.as_str()).collect());
    // PostgreSQL reads `LIMIT NULL` as no limit.
    let limit: Option<i64> = filter.limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    let sql = format!(
        "{SELECT_SENDS}
         WHERE ($1::text[] IS NULL OR s.state = ANY($1))
           AND ($2::text IS NULL OR s.job_id = $2)
           AND ($3::text IS NULL OR left(s.job_id, length($3)) = $3)
           AND ($4::timestamptz IS NULL OR COALESCE(s.next_attempt_at, s.due_at) < $4)
         ORDER BY COALESCE(s.next_attempt_at, s.due_at), s.id
         LIMIT $5"
    );
    let found = tx
        .query(
            &sql,
            &[
                &states,
                &filter.job_id,
                &filter.job_prefix,
                &filter.due_before,
                &limit,
            ],
        )
        .await?;
    let sends = found.iter().map(rows::send_row).collect();
    tx.commit().await?;
    sends
}

/// One send, if it exists.
pub(super) async fn send(store: &PgStore, send_id: i64) -> Result<Option<SendRow>, StoreError> {
    let mut client = store.client().await?;
    let tx = snapshot(&mut client).await?;
    let send = rows::send_by_id(&tx, send_id).await?;
    tx.commit().await?;
    Ok(send)
}

/// A job, its sends with their attempts, and its events; `None` when there is no such job.
pub(super) async fn job_details(
    store: &PgStore,
    job_id: &str,
) -> Result<Option<JobDetails>, StoreError> {
    let mut client = store.client().await?;
    let tx = snapshot(&mut client).await?;
    let Some(job) = rows::job_by_id(&tx, job_id).await? else {
        return Ok(None);
    };
    let mut sends = Vec::new();
    for send in rows::sends_of_job(&tx, job_id).await? {
        let attempts = rows::attempts_of_send(&tx, send.id).await?;
        sends.push(SendDetails { send, attempts });
    }
    let events = rows::events_of_job(&tx, job_id).await?;
    tx.commit().await?;
    Ok(Some(JobDetails { job, sends, events }))
}

/// One send with its attempts, its job and the job's events; `None` when there is no
/// such send.
pub(super) async fn send_details(
    store: &PgStore,
    send_id: i64,
) -> Result<Option<JobDetails>, StoreError> {
    let mut client = store.client().await?;
    let tx = snapshot(&mut client).await?;
    let Some(send) = rows::send_by_id(&tx, send_id).await? else {
        return Ok(None);
    };
    // The foreign key keeps a send's job in place.
    let job = rows::job_by_id(&tx, &send.job_id)
        .await?
        .ok_or_else(|| StoreError::NoSuchJob(send.job_id.clone()))?;
    let attempts = rows::attempts_of_send(&tx, send.id).await?;
    let events = rows::events_of_job(&tx, &job.id).await?;
    tx.commit().await?;
    Ok(Some(JobDetails {
        job,
        sends: vec![SendDetails { send, attempts }],
        events,
    }))
}

/// Sends per state, sends finished in the hour and the day before `now`, rejections in
/// the day before `now`.
pub(super) async fn stats(store: &PgStore, now: DateTime<Utc>) -> Result<Stats, StoreError> {
    let mut client = store.client().await?;
    let tx = snapshot(&mut client).await?;
    let mut by_state: Vec<(SendState, i64)> =
        SendState::ALL.into_iter().map(|state| (state, 0)).collect();
    for row in tx
        .query("SELECT state, COUNT(*) FROM sends GROUP BY state", &[])
        .await?
    {
        let state = SendState::read(row.try_get(0)?)?;
        let n: i64 = row.try_get(1)?;
        if let Some(slot) = by_state.iter_mut().find(|(s, _)| *s == state) {
            slot.1 = n;
        }
    }
    let hour_ago = now - chrono::Duration::hours(1);
    let day_ago = now - chrono::Duration::days(1);
    let last_hour = finished_since(&tx, hour_ago).await?;
    let last_day = finished_since(&tx, day_ago).await?;
    let rejections_last_day: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM rejections WHERE rejected_at >= $1",
            &[&day_ago],
        )
        .await?
        .try_get(0)?;
    tx.commit().await?;
    Ok(Stats {
        at: now,
        by_state,
        last_hour,
        last_day,
        rejections_last_day,
    })
}

/// Sends that became sent, failed or expired at or after `since`.
async fn finished_since(
    tx: &tokio_postgres::Transaction<'_>,
    since: DateTime<Utc>,
) -> Result<FinishedCounts, StoreError> {
    let row = tx
        .query_one(
            "SELECT COUNT(*) FILTER (WHERE state = 'sent'),
                    COUNT(*) FILTER (WHERE state = 'failed'),
                    COUNT(*) FILTER (WHERE state = 'expired')
             FROM sends WHERE state IN ('sent', 'failed', 'expired') AND finished_at >= $1",
            &[&since],
        )
        .await?;
    Ok(FinishedCounts {
        sent: row.try_get(0)?,
        failed: row.try_get(1)?,
        expired: row.try_get(2)?,
    })
}

/// A read-only transaction on one snapshot.
pub(super) async fn snapshot(
    client: &mut deadpool_postgres::Object,
) -> Result<deadpool_postgres::Transaction<'_>, StoreError> {
    Ok(client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}
