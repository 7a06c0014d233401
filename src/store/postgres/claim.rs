//! Claims under a lease, the shared token bucket, and the counts dispatch reads; the
//! states re-read before a POST and putting sends back live in [`super::lease`].
//!
//! Owns: the claim statement. Trusts: PostgreSQL's row locks (`FOR UPDATE SKIP LOCKED`:
//! daemons claiming together skip each other's rows instead of waiting), the server's
//! clock for lease expiry (hosts' clocks differ, and `now` is the caller's, fixed in
//! tests). Guarantees: a claim moves only `scheduled` sends due at `now` to `sending`, in
//! one transaction, under a fresh random token that goes into `store.leases()` once
//! committed; two claims (in one process or on two hosts) never return the same send;
//! with a rate set, a claim takes at most the shared bucket's whole tokens.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::super::{ClaimedSend, SendState, StoreError};
use super::{PgStore, bucket};

#[allow(
    unused_imports,
    reason = "the leader's sweep (cluster.rs) calls it by this name"
)]
pub(super) use super::lease::take_back_expired;
pub(super) use super::lease::{recover_interrupted, requeue, send_state, send_states_of};

/// The earliest next attempt among scheduled sends.
pub(super) async fn next_due(store: &PgStore) -> Result<Option<DateTime<Utc>>, StoreError> {
    let client = store.client().await?;
    let row = client
        .query_one(
            &client
                .prepare_cached("SELECT MIN(next_attempt_at) FROM sends WHERE state = 'scheduled'")
                .await?,
            &[],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// Locks due sends (skipping rows another claim or an intake holds) and puts them under
/// this node's lease, expiring by the server's clock.
const CLAIM: &str = "
WITH c AS MATERIALIZED (
    SELECT id FROM sends
    WHERE state = 'scheduled' AND next_attempt_at <= $1
    ORDER BY next_attempt_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED)
UPDATE sends s
SET state = 'sending', claimed_at = $1, updated_at = $1,
    lease_owner = $3, lease_token = $4,
    lease_expires_at = clock_timestamp() + make_interval(secs => $5)
FROM c, jobs j
WHERE s.id = c.id AND j.id = s.job_id
RETURNING s.id, s.job_id, j.channel, s.payload, s.reference, s.due_at, s.occurrence_at,
          j.kind = 'cron', s.expires_at, s.attempts, s.reconcile_from, s.next_attempt_at";

/// Claims up to `limit` due sends, oldest first (see the module doc).
pub(super) async fn claim_due(
    store: &PgStore,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<ClaimedSend>, StoreError> {
    let mut wanted = i64::try_from(limit).unwrap_or(i64::MAX);
    if wanted == 0 {
        return Ok(Vec::new());
    }
    let workspace = store.settings().workspace.as_str();
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let rate = store.rate();
    let bucket = if rate > 0 {
        // On this host's clock, the lead to the instant; the bucket counts on the server's.
        let ahead = (now - Utc::now()).to_std().unwrap_or_default();
        let bucket = bucket::take(&tx, workspace, rate, ahead).await?;
        wanted = wanted.min(bucket.available());
        Some(bucket)
    } else {
        None
    };
    if wanted == 0 {
        // No token: nothing claimed, and the refill is recomputed next time.
        return Ok(Vec::new());
    }
    let token = fresh_token();
    let lease = store.settings().lease.as_secs_f64();
    let rows = tx
        .query(
            &tx.prepare_cached(CLAIM).await?,
            &[&now, &wanted, &store.node(), &token, &lease],
        )
        .await?;
    let mut claimed = rows
        .iter()
        .map(claimed_send)
        .collect::<Result<Vec<_>, StoreError>>()?;
    if let Some(bucket) = &bucket {
        bucket::spend(&tx, workspace, bucket, claimed.len()).await?;
    }
    tx.commit().await?;
    // RETURNING keeps no order: oldest first, as the claim chose them.
    claimed.sort_by_key(|(send, next)| (*next, send.send_id));
    let mut leases = store.leases();
    Ok(claimed
        .into_iter()
        .map(|(send, _)| {
            leases.insert(send.send_id, token);
            send
        })
        .collect())
}

/// A random lease token: another claim of the same send (after a take-over) gets another.
fn fresh_token() -> i64 {
    let (high, _) = uuid::Uuid::new_v4().as_u64_pair();
    i64::from_ne_bytes(high.to_ne_bytes())
}

/// A claimed row, with its next attempt (the claim's order).
fn claimed_send(row: &Row) -> Result<(ClaimedSend, Option<DateTime<Utc>>), StoreError> {
    let attempts: i32 = row.try_get(9)?;
    let payload: String = row.try_get(3)?;
    let send = ClaimedSend {
        send_id: row.try_get(0)?,
        job_id: row.try_get(1)?,
        channel: row.try_get(2)?,
        ignore_quiet_hours: ignores_quiet_hours(&payload),
        payload,
        reference: row.try_get(4)?,
        due: row.try_get(5)?,
        occurrence: row.try_get(6)?,
        recurring: row.try_get(7)?,
        expires: row.try_get(8)?,
        // The schema's CHECK keeps attempts at 0 or more.
        attempts: u32::try_from(attempts).map_err(|_| StoreError::BadValue {
            column: "sends.attempts",
            value: attempts.to_string(),
        })?,
        reconcile_from: row.try_get(10)?,
    };
    Ok((send, row.try_get(11)?))
}

/// The job's `ignoreQuietHours`, read from the payload as SQLite's claim reads it (a
/// payload that is not JSON, or lacks it, does not ignore them).
fn ignores_quiet_hours(payload: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(payload)
        .ok()
        .and_then(|v| v.get("ignoreQuietHours")?.as_bool())
        .unwrap_or(false)
}

/// The number of sends in each state, every state present (zero when none).
pub(super) async fn send_states(store: &PgStore) -> Result<BTreeMap<SendState, i64>, StoreError> {
    let client = store.client().await?;
    let rows = client
        .query(
            &client
                .prepare_cached("SELECT state, COUNT(*) FROM sends GROUP BY state")
                .await?,
            &[],
        )
        .await?;
    let mut counts: BTreeMap<SendState, i64> =
        SendState::ALL.iter().map(|&state| (state, 0)).collect();
    for row in rows {
        counts.insert(SendState::read(row.try_get(0)?)?, row.try_get(1)?);
    }
    Ok(counts)
}

/// After a 429: the workspace's shared bucket is emptied and paused until `until`, for
/// every daemon sharing it.
pub(super) async fn pause_workspace(
    store: &PgStore,
    until: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    bucket::pause(&tx, &store.settings().workspace, until).await?;
    tx.commit().await?;
    Ok(())
}
