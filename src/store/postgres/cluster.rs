//! What a daemon does besides dispatch when several share one database: its node's
//! heartbeat, renewing the leases of its requests in flight, and, as leader, the
//! singleton work (taking back expired leases, removing nodes long silent).
//!
//! Owns: this node's rows in `nodes` and `leader`, and the store's `leading` flag. Every
//! turn (a sixth of the lease, at least a second) it upserts its heartbeat, renews the
//! leases this process holds (`leases()`: id and token pairs, through `unnest`; a lease
//! already run out is lost, never revived), and asks for the leader's term: one upsert on
//! `leader` that succeeds only when the term ran out or is already ours, so two nodes
//! never both win (no advisory locks: they do not survive a transaction pooler). A term
//! lasts one lease and is renewed every turn. Trusts: the database server's clock for
//! every expiry (`clock_timestamp()`), never the hosts' clocks. Guarantees: on stop it
//! resigns (deletes its leader row, so another node leads at its next turn rather than
//! after the term) and deletes its node row; a node that cannot reach the database stops
//! saying it leads at once.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use super::{PgStore, lease};
use crate::store::StoreError;

/// The one row of `leader` the daemons compete for.
const LEADER: &str = "msgspool";

/// How many terms a node may stay silent before the leader removes its row.
const SILENT_TERMS: u32 = 10;

/// How long between turns: a sixth of the lease (renewed well before it runs out), at
/// least a second.
fn period(lease: Duration) -> Duration {
    (lease / 6).max(Duration::from_secs(1))
}

/// Runs the node's work until `stop`.
pub(super) fn spawn(store: &PgStore, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    let store = store.clone();
    tokio::spawn(run(store, stop))
}

/// Whether this node holds the leader's term now.
pub(super) fn leads(store: &PgStore) -> bool {
    store.leading()
}

async fn run(store: PgStore, mut stop: watch::Receiver<bool>) {
    let started_at = Utc::now();
    let every = period(store.settings().lease);
    while !*stop.borrow() {
        turn(&store, started_at).await;
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => break,
        }
    }
    store.set_leading(false);
    if let Err(e) = leave(&store).await {
        tracing::warn!(error = %e, "cannot remove this node from the cluster tables; its term runs out by itself");
    }
}

/// One turn: heartbeat, lease renewal, election, and the leader's work.
async fn turn(store: &PgStore, started_at: chrono::DateTime<Utc>) {
    if let Err(e) = heartbeat(store, started_at).await {
        tracing::warn!(error = %e, "cannot write this node's heartbeat");
    }
    match lease::renew_all(store).await {
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot renew the leases of requests in flight"),
    }
    let was = store.leading();
    let term = match elect(store).await {
        Ok(term) => term,
        Err(e) => {
            tracing::warn!(error = %e, "cannot renew or ask for the leader's term");
            None
        }
    };
    store.set_leading(term.is_some());
    match (was, term) {
        (false, Some(term)) => {
            tracing::info!(node = store.node(), term, "this node leads the cluster")
        }
        (true, None) => {
            tracing::warn!(node = store.node(), "this node no longer leads the cluster")
        }
        _ => {}
    }
    if term.is_some() {
        lead(store).await;
    }
}

/// The leader's work: expired leases back to `scheduled`, long-silent nodes removed.
async fn lead(store: &PgStore) {
    match super::claim::take_back_expired(store, Utc::now()).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            sends = n,
            "took back sends whose lease ran out (a node died or lost the database); they go out again"
        ),
        Err(e) => tracing::warn!(error = %e, "cannot take back expired leases"),
    }
    if let Err(e) = forget_silent(store).await {
        tracing::warn!(error = %e, "cannot remove silent nodes");
    }
}

/// Upserts this node's row with a fresh heartbeat.
async fn heartbeat(store: &PgStore, started_at: chrono::DateTime<Utc>) -> Result<(), StoreError> {
    let node = store.node();
    // The default node name is HOSTNAME:SPOOL; a configured one says nothing of the spool.
    let spool = node.split_once(':').map_or("", |(_, spool)| spool);
    let host = crate::config::hostname();
    let pid = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
    store
        .client()
        .await?
        .execute(
            "INSERT INTO nodes (name, host, pid, spool, started_at, heartbeat_at)
             VALUES ($1, $2, $3, $4, $5, clock_timestamp())
             ON CONFLICT (name) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid,
                 spool = EXCLUDED.spool, started_at = EXCLUDED.started_at,
                 heartbeat_at = EXCLUDED.heartbeat_at",
            &[&node, &host, &pid, &spool, &started_at],
        )
        .await?;
    Ok(())
}

/// Renews our term, or takes the term when it ran out; the term number when we lead.
async fn elect(store: &PgStore) -> Result<Option<i64>, StoreError> {
    let ttl = store.settings().lease.as_secs_f64();
    let row = store
        .client()
        .await?
        .query_opt(
            "INSERT INTO leader (name, node, term, elected_at, expires_at)
             VALUES ($1, $2, 1, clock_timestamp(), clock_timestamp() + $3 * interval '1 second')
             ON CONFLICT (name) DO UPDATE SET
                 term = CASE WHEN leader.node = EXCLUDED.node
                             AND leader.expires_at >= clock_timestamp()
                        THEN leader.term ELSE leader.term + 1 END,
                 elected_at = CASE WHEN leader.node = EXCLUDED.node
                                   AND leader.expires_at >= clock_timestamp()
                              THEN leader.elected_at ELSE EXCLUDED.elected_at END,
                 node = EXCLUDED.node,
                 expires_at = EXCLUDED.expires_at
             WHERE leader.expires_at < clock_timestamp() OR leader.node = EXCLUDED.node
             RETURNING node, term",
            &[&LEADER, &store.node(), &ttl],
        )
        .await?;
    Ok(row.map(|r| r.get::<_, i64>(1)))
}

/// Removes nodes silent for [`SILENT_TERMS`] terms (a host that is gone for good).
async fn forget_silent(store: &PgStore) -> Result<u64, StoreError> {
    let silent = store.settings().lease.as_secs_f64() * f64::from(SILENT_TERMS);
    let removed = store
        .client()
        .await?
        .execute(
            "DELETE FROM nodes WHERE heartbeat_at < clock_timestamp() - $1 * interval '1 second'",
            &[&silent],
        )
        .await?;
    Ok(removed)
}

/// Resigns the leader's term (if ours) and removes this node's row.
async fn leave(store: &PgStore) -> Result<(), StoreError> {
    let client = store.client().await?;
    client
        .execute(
            "DELETE FROM leader WHERE name = $1 AND node = $2",
            &[&LEADER, &store.node()],
        )
        .await?;
    client
        .execute("DELETE FROM nodes WHERE name = $1", &[&store.node()])
        .await?;
    Ok(())
}
