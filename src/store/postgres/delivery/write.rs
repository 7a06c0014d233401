//! The writes of delivery tracking on PostgreSQL: a look-up's attempt row with the
//! reconcile mark, a poll's schedule, a status Bird reported.
//!
//! Owns: the look-up's [`insert_attempt`], which adds an attempt row (with this node) and
//! keeps `reconcile_from` and the poll schedule in step with it (as SQLite's
//! `attempts::insert` with `delivery::note_attempt`). Trusts: its callers for the
//! transaction. Guarantees: a status only moves forward
//! ([`DeliveryStatus::moves_forward_from`]), read under the send's row lock; each status
//! reached is one `delivery_events` row (`UNIQUE (send_id, status)`), however often and by
//! however many daemons it is reported.

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;

use super::super::super::{AttemptRecord, DeliveryStatus, DeliveryUpdate, StoreError};
use super::super::{PgStore, history};

/// Records a look-up that settled nothing by itself: its attempt row (with this node) and
/// what it means for the reconcile mark.
pub(super) async fn record_lookup(
    store: &PgStore,
    send_id: i64,
    attempt: AttemptRecord,
) -> Result<(), StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    insert_attempt(&tx, store.node(), send_id, &attempt).await?;
    tx.commit().await?;
    Ok(())
}

/// After a look-up: one more poll counted, the next one at `next_poll_at` (`None`: never),
/// and what it found stored.
pub(super) async fn record_poll(
    store: &PgStore,
    send_id: i64,
    found: Option<DeliveryUpdate>,
    next_poll_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    tx.execute(
        "UPDATE sends SET next_poll_at = $2, polls = polls + 1 WHERE id = $1",
        &[&send_id, &next_poll_at],
    )
    .await?;
    if let Some(update) = &found {
        apply(&tx, send_id, update, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Stores a status Bird reported; whether the send's status moved forward.
pub(super) async fn record_delivery(
    store: &PgStore,
    send_id: i64,
    update: DeliveryUpdate,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let moved = apply(&tx, send_id, &update, now).await?;
    tx.commit().await?;
    Ok(moved)
}

/// Adds one attempt row, made by `node`, with its reconcile and poll marks (the same
/// rows an outcome writes: [`history::insert_attempt`], [`history::note_attempt`]).
async fn insert_attempt(
    tx: &Transaction<'_>,
    node: &str,
    send_id: i64,
    attempt: &AttemptRecord,
) -> Result<(), StoreError> {
    history::insert_attempt(tx, send_id, attempt, node).await?;
    history::note_attempt(tx, send_id, attempt).await
}

/// Stores `update` for a send: one `delivery_events` row per status, and the send's
/// columns only when the status moves forward. Whether the send's status moved.
async fn apply(
    tx: &Transaction<'_>,
    send_id: i64,
    update: &DeliveryUpdate,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    // The row lock makes a second report (another daemon's webhook or poll) wait for this
    // one and read what it stored.
    let Some(row) = tx
        .query_opt(
            "SELECT delivery_status FROM sends WHERE id = $1 FOR UPDATE",
            &[&send_id],
        )
        .await?
    else {
        return Err(StoreError::NoSuchSend(send_id));
    };
    let current: Option<String> = row.try_get(0)?;
    tx.execute(
        "INSERT INTO delivery_events
             (send_id, status, status_at, source, failure_code, failure_source, failure_reason,
              recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (send_id, status) DO NOTHING",
        &[
            &send_id,
            &update.status.as_str(),
            &update.at,
            &update.source,
            &update.failure_code,
            &update.failure_source,
            &update.failure_reason,
            &now,
        ],
    )
    .await?;
    if update.status == DeliveryStatus::Read {
        tx.execute(
            "UPDATE sends SET read_at = COALESCE(read_at, $2) WHERE id = $1",
            &[&send_id, &update.at],
        )
        .await?;
    }
    let current = current.as_deref().and_then(DeliveryStatus::from_word);
    if !update.status.moves_forward_from(current) {
        return Ok(false);
    }
    tx.execute(
        "UPDATE sends SET delivery_status = $2, delivery_status_at = $3,
                          failure_code = CASE WHEN $4 THEN $5 ELSE failure_code END,
                          failure_source = CASE WHEN $4 THEN $6 ELSE failure_source END,
                          failure_reason = CASE WHEN $4 THEN $7 ELSE failure_reason END,
                          next_poll_at = CASE WHEN $8 THEN NULL ELSE next_poll_at END
         WHERE id = $1",
        &[
            &send_id,
            &update.status.as_str(),
            &update.at,
            &update.status.is_failure(),
            &update.failure_code,
            &update.failure_source,
            &update.failure_reason,
            &update.status.is_final(),
        ],
    )
    .await?;
    Ok(true)
}
