//! The workspace's token bucket shared by every daemon on the database (`rate_buckets`):
//! at most `rate` claims per second, in bursts of at most `rate / 10` (at least one), as
//! `dispatch/rate.rs` keeps it for one daemon; none while a 429's pause lasts.
//!
//! Owns: the bucket row of a workspace. Trusts: its caller for the transaction (the
//! claim's), and the database server's clock (`clock_timestamp()`) for the refill, so that
//! hosts whose clocks differ share one time. Guarantees: the row is locked from the take
//! to the commit of the claim, so two daemons never spend the same token; a pause never
//! ends earlier than one already set.

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;

use super::super::StoreError;

/// The bucket as read and refilled inside a claim's transaction.
pub(super) struct Bucket {
    tokens: f64,
    /// Where the next refill counts from.
    refilled_at: DateTime<Utc>,
}

impl Bucket {
    /// Whole tokens available now.
    pub(super) fn available(&self) -> i64 {
        // Tokens lie between 0 and the burst (at most rate / 10), so they fit.
        self.tokens.floor().max(0.0) as i64
    }
}

/// The largest burst: a tenth of a second's worth, at least one.
fn burst(rate: u32) -> f64 {
    (f64::from(rate) / 10.0).max(1.0)
}

/// Locks the workspace's bucket (creating it full) and refills it up to `ahead` after now:
/// the instant the claimed sends go out. Tokens are spent at that instant, not at the
/// claim: a daemon claiming ahead of it cannot gather a second burst meanwhile.
pub(super) async fn take(
    tx: &Transaction<'_>,
    workspace: &str,
    rate: u32,
    ahead: std::time::Duration,
) -> Result<Bucket, StoreError> {
    let burst = burst(rate);
    // The no-op update locks an existing row; RETURNING reads it after the lock.
    let row = tx
        .query_one(
            &tx.prepare_cached(
                "INSERT INTO rate_buckets (workspace, tokens, refilled_at)
             VALUES ($1, $2, clock_timestamp())
             ON CONFLICT (workspace) DO UPDATE SET workspace = EXCLUDED.workspace
             RETURNING tokens, refilled_at, paused_until, clock_timestamp()",
            )
            .await?,
            &[&workspace, &burst],
        )
        .await?;
    let tokens: f64 = row.try_get(0)?;
    let refilled_at: DateTime<Utc> = row.try_get(1)?;
    let paused_until: Option<DateTime<Utc>> = row.try_get(2)?;
    let clock: DateTime<Utc> = row.try_get(3)?;
    if let Some(until) = paused_until.filter(|&until| until > clock) {
        // Paused: empty, and the refill starts when the pause ends.
        return Ok(Bucket {
            tokens: 0.0,
            refilled_at: until,
        });
    }
    let upto = chrono::Duration::from_std(ahead)
        .ok()
        .and_then(|ahead| clock.checked_add_signed(ahead))
        .unwrap_or(clock);
    // Before `refilled_at` (spent up to a later instant already): nothing to add.
    let elapsed = (upto - refilled_at)
        .to_std()
        .map_or(0.0, |d| d.as_secs_f64());
    let tokens = if tokens.is_finite() { tokens } else { 0.0 };
    Ok(Bucket {
        tokens: (tokens.max(0.0) + elapsed * f64::from(rate)).min(burst),
        refilled_at: upto.max(refilled_at),
    })
}

/// Writes the bucket back with `spent` tokens taken.
pub(super) async fn spend(
    tx: &Transaction<'_>,
    workspace: &str,
    bucket: &Bucket,
    spent: usize,
) -> Result<(), StoreError> {
    let spent = u32::try_from(spent).map_or(f64::MAX, f64::from);
    let tokens = (bucket.tokens - spent).max(0.0);
    tx.execute(
        &tx.prepare_cached(
            "UPDATE rate_buckets SET tokens = $2, refilled_at = $3 WHERE workspace = $1",
        )
        .await?,
        &[&workspace, &tokens, &bucket.refilled_at],
    )
    .await?;
    Ok(())
}

/// After a 429: the bucket is emptied and paused until `until` (a later pause already set
/// stands).
pub(super) async fn pause(
    tx: &Transaction<'_>,
    workspace: &str,
    until: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO rate_buckets (workspace, tokens, refilled_at, paused_until)
         VALUES ($1, 0, clock_timestamp(), $2)
         ON CONFLICT (workspace) DO UPDATE
         SET tokens = 0, paused_until = GREATEST(rate_buckets.paused_until, EXCLUDED.paused_until)",
        )
        .await?,
        &[&workspace, &until],
    )
    .await?;
    Ok(())
}
