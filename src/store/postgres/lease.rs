//! Leases after the claim: the re-check before a POST (which renews the lease), putting
//! claimed sends back at shutdown, and taking back sends whose holder stopped.
//!
//! Owns: these statements, and the meaning of `Sending` on PostgreSQL: [`send_states_of`]
//! and [`send_state`] say `Sending` only for a send this process holds under a lease that
//! has not run out, and renew that lease by the server's clock (so a POST never starts on
//! a lease about to expire); a send `sending` under another lease (or an expired one of
//! ours) reads as `Scheduled`, so dispatch does not post it. Trusts: `store.leases()` for
//! this process's tokens. Guarantees: a take-back moves only sends whose lease ran out
//! (or, at start, that this node held in its previous life), never another node's live
//! lease; each gets an `interrupted` attempt (not counted) that marks it for reconcile, so
//! a POST that did reach Bird is found before the send is posted again.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::super::{AttemptOutcome, AttemptRecord, EventKind, SendState, StoreError};
use super::{PgStore, history};

/// Renews this process's leases among the given (id, token) pairs, returning the ids
/// renewed; `$lock` ends the row lock. Rows are locked in id order, as outcomes are
/// written (`outcome::batch`), so a renewal and a batch of outcomes never wait for each
/// other in a cycle.
macro_rules! renew {
    ($lock:literal) => {
        concat!(
            "WITH mine AS (
    SELECT s.id FROM sends s
    JOIN unnest($1::BIGINT[], $2::BIGINT[]) AS l(id, token)
      ON s.id = l.id AND s.lease_token = l.token
    WHERE s.state = 'sending' AND s.lease_expires_at > clock_timestamp()
    ORDER BY s.id
    FOR UPDATE OF s",
            $lock,
            ")
UPDATE sends s SET lease_expires_at = clock_timestamp() + make_interval(secs => $3)
FROM mine WHERE s.id = mine.id
RETURNING s.id"
        )
    };
}

/// The re-check before a POST waits for a locked row: it must know.
const RENEW: &str = renew!("");

/// The background renewal of every lease held: a send locked right now is being recorded
/// (or taken back), and is skipped rather than waited for.
const RENEW_UNLOCKED: &str = renew!(" SKIP LOCKED");

/// Extends every lease this process holds by one lease; how many were renewed. A lease
/// that ran out is not renewed: another node may be taking it back.
pub(super) async fn renew_all(store: &PgStore) -> Result<u64, StoreError> {
    let (ids, tokens): (Vec<i64>, Vec<i64>) = store.leases().iter().map(|(i, t)| (*i, *t)).unzip();
    if ids.is_empty() {
        return Ok(0);
    }
    let lease = store.settings().lease.as_secs_f64();
    let client = store.client().await?;
    let renewed = client
        .execute(
            &client.prepare_cached(RENEW_UNLOCKED).await?,
            &[&ids, &tokens, &lease],
        )
        .await?;
    Ok(renewed)
}

/// Puts `sending` sends whose lease ran out (or, with $4, that node $4 held) back to
/// `scheduled`, due $1, marked for reconcile from their claim, each with an `interrupted`
/// attempt made by the node that held it.
const TAKE_BACK: &str = "
WITH taken AS (
    UPDATE sends
    SET state = 'scheduled', next_attempt_at = GREATEST(next_attempt_at, $1), updated_at = $1,
        lease_token = NULL, lease_expires_at = NULL,
        reconcile_from = LEAST(reconcile_from, COALESCE(claimed_at, $1))
    WHERE state = 'sending'
      AND (lease_expires_at IS NULL OR lease_expires_at <= clock_timestamp()
           OR lease_owner = $4)
    RETURNING id, claimed_at, lease_owner)
INSERT INTO attempts (send_id, started_at, finished_at, outcome, error, node)
SELECT id, COALESCE(claimed_at, $1), $1, 'interrupted', $3, COALESCE(lease_owner, $2)
FROM taken
RETURNING send_id";

/// At start: takes back the sends this node left `sending` and every expired lease; one
/// event; how many.
pub(super) async fn recover_interrupted(
    store: &PgStore,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let detail = |n: usize| {
        format!(
            "recovered {n} interrupted send(s): scheduled again, due now or at their instant (this node's own from before it restarted, and any whose lease ran out)"
        )
    };
    take_back(store, now, Some(store.node()), detail).await
}

/// The leader's periodic sweep: takes back sends whose lease ran out (their daemon
/// stopped or lost the database); others' live leases are never touched. How many.
pub(super) async fn take_back_expired(
    store: &PgStore,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let detail = |n: usize| {
        format!(
            "took back {n} send(s) whose lease ran out (the daemon holding them stopped or lost the database): scheduled again, due now or at their instant"
        )
    };
    take_back(store, now, None, detail).await
}

impl PgStore {
    /// The leader's sweep, callable on its own (tests, and `msgspool` tools): takes back
    /// sends whose lease ran out; see [`take_back_expired`].
    pub async fn take_back_expired(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        take_back_expired(self, now).await
    }
}

async fn take_back(
    store: &PgStore,
    now: DateTime<Utc>,
    own: Option<&str>,
    detail: impl Fn(usize) -> String,
) -> Result<usize, StoreError> {
    let error = "msgspool stopped (or lost its lease) before the outcome of this attempt was \
                 recorded; Bird may or may not have received it";
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let rows = tx
        .query(
            &tx.prepare_cached(TAKE_BACK).await?,
            &[&now, &store.node(), &error, &own],
        )
        .await?;
    let ids = rows
        .iter()
        .map(|row| row.try_get::<_, i64>(0))
        .collect::<Result<Vec<_>, _>>()?;
    if !ids.is_empty() {
        history::insert_event(&tx, now, EventKind::Recovered, None, &detail(ids.len())).await?;
        history::notify_due(&tx).await?;
    }
    tx.commit().await?;
    let mut leases = store.leases();
    for id in &ids {
        leases.remove(id);
    }
    Ok(ids.len())
}

/// Puts sends this process holds back to `scheduled` as they were due, counting nothing,
/// each with an `interrupted` attempt; sends it no longer holds are left alone.
pub(super) async fn requeue(
    store: &PgStore,
    send_ids: Vec<i64>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let held = tokens_of(store, &send_ids);
    if held.is_empty() {
        return Ok(());
    }
    let attempt = AttemptRecord {
        started: now,
        finished: now,
        http_status: None,
        outcome: AttemptOutcome::Interrupted,
        error: Some(
            "msgspool was stopping: this send's request was not made or did not finish \
             within shutdown_grace; it goes out after the restart"
                .to_owned(),
        ),
    };
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let mut any = false;
    for &(send_id, token) in &held {
        let changed = tx
            .execute(
                &tx.prepare_cached(
                    "UPDATE sends SET state = 'scheduled',
                                  next_attempt_at = COALESCE(next_attempt_at, due_at),
                                  updated_at = $3, lease_token = NULL, lease_expires_at = NULL
                 WHERE id = $1 AND state = 'sending' AND lease_token = $2",
                )
                .await?,
                &[&send_id, &token, &now],
            )
            .await?;
        if changed > 0 {
            history::insert_attempt(&tx, send_id, &attempt, store.node()).await?;
            history::note_attempt(&tx, send_id, &attempt).await?;
            any = true;
        }
    }
    if any {
        history::notify_due(&tx).await?;
    }
    tx.commit().await?;
    let mut leases = store.leases();
    for (send_id, token) in held {
        if leases.get(&send_id) == Some(&token) {
            leases.remove(&send_id);
        }
    }
    Ok(())
}

/// The states of these sends, `Sending` only under a live lease of ours, which is renewed
/// (see the module doc). A token whose lease is gone is forgotten.
pub(super) async fn send_states_of(
    store: &PgStore,
    send_ids: Vec<i64>,
) -> Result<HashMap<i64, SendState>, StoreError> {
    let held = tokens_of(store, &send_ids);
    let client = store.client().await?;
    let renewed: HashSet<i64> = if held.is_empty() {
        HashSet::new()
    } else {
        let (ids, tokens): (Vec<i64>, Vec<i64>) = held.iter().copied().unzip();
        let lease = store.settings().lease.as_secs_f64();
        client
            .query(
                &client.prepare_cached(RENEW).await?,
                &[&ids, &tokens, &lease],
            )
            .await?
            .iter()
            .map(|row| row.try_get::<_, i64>(0))
            .collect::<Result<_, _>>()?
    };
    let rows = client
        .query(
            &client
                .prepare_cached("SELECT id, state FROM sends WHERE id = ANY($1)")
                .await?,
            &[&send_ids],
        )
        .await?;
    let mut states = HashMap::with_capacity(rows.len());
    for row in rows {
        let id: i64 = row.try_get(0)?;
        let mut state = SendState::read(row.try_get(1)?)?;
        if state == SendState::Sending && !renewed.contains(&id) {
            // Sending, but not under a live lease of ours: another node's, or expired.
            state = SendState::Scheduled;
        }
        states.insert(id, state);
    }
    let mut leases = store.leases();
    for (id, token) in held {
        if states.get(&id) != Some(&SendState::Sending) && leases.get(&id) == Some(&token) {
            leases.remove(&id);
        }
    }
    Ok(states)
}

/// One send's state as [`send_states_of`] reads it (`None` when it does not exist).
pub(super) async fn send_state(
    store: &PgStore,
    send_id: i64,
) -> Result<Option<SendState>, StoreError> {
    let mut states = send_states_of(store, vec![send_id]).await?;
    Ok(states.remove(&send_id))
}

/// The (id, token) pairs of the given sends this process holds.
fn tokens_of(store: &PgStore, send_ids: &[i64]) -> Vec<(i64, i64)> {
    let leases = store.leases();
    send_ids
        .iter()
        .filter_map(|id| leases.get(id).map(|&token| (*id, token)))
        .collect()
}
