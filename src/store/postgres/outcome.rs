//! Recording an attempt and the send's next state on PostgreSQL, fenced by the lease
//! token; when the send ends, a cron job's follow-up and the end of its job. Outcomes
//! that arrive together are committed together ([`batch`]), each as if alone.
//!
//! Owns: the fenced write of an outcome (when an attempt counts is SQLite's rule, shared:
//! `store::outcome::counts_as_attempt`).
//! Trusts: `store.leases()` for the token of each send this process claimed. Guarantees:
//! the send moves only when it is still `sending` under this process's token; otherwise
//! (the lease was taken over, the send canceled or replaced, or this process never held
//! it) only the attempt row is added, with its node, and no follow-up is applied (the
//! holder of the lease applies its own). A late acceptance of a canceled or replaced send
//! still keeps Bird's id, as on SQLite. The token leaves the map only after the commit.

mod batch;
mod bulk;

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;

use super::super::outcome::counts_as_attempt;
use super::super::{AttemptOutcome, AttemptRecord, FollowUp, SendState, SendUpdate, StoreError};
use super::{PgStore, cron, history, job_rows, moves};

pub(super) use batch::Batcher;

/// One outcome, as dispatch hands it over.
pub(super) struct Outcome {
    pub send_id: i64,
    pub attempt: AttemptRecord,
    pub next: SendUpdate,
    pub follow: Option<FollowUp>,
}

/// Records an attempt and moves the send to where `next` says (see the module doc);
/// answered once it is committed.
pub(super) async fn record_outcome_then(
    store: &PgStore,
    send_id: i64,
    attempt: AttemptRecord,
    next: SendUpdate,
    follow: Option<FollowUp>,
) -> Result<(), StoreError> {
    let outcome = Outcome {
        send_id,
        attempt,
        next,
        follow,
    };
    store.outcomes().record(store, outcome).await
}

/// Records `outcome` in a transaction of its own.
async fn record_alone(store: &PgStore, outcome: &Outcome) -> Result<(), StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let held = record_in(&tx, store, outcome).await?;
    tx.commit().await?;
    forget(store, outcome.send_id, held);
    Ok(())
}

/// Records `outcome` inside `tx`; the lease token to forget once `tx` commits.
async fn record_in(
    tx: &Transaction<'_>,
    store: &PgStore,
    outcome: &Outcome,
) -> Result<Option<i64>, StoreError> {
    let Outcome {
        send_id,
        attempt,
        next,
        follow,
    } = outcome;
    let token = store.leases().get(send_id).copied();
    if let Some(token) = token {
        let counted = counts_as_attempt(attempt.outcome, next);
        let poll_from = polls_from(attempt, next);
        let moved = moves::apply_fenced(
            tx,
            *send_id,
            token,
            next,
            counted,
            attempt.finished,
            poll_from,
        )
        .await?;
        if let Some(job_id) = moved {
            history::insert_attempt(tx, *send_id, attempt, store.node()).await?;
            if poll_from.is_none() {
                history::note_attempt(tx, *send_id, attempt).await?;
            }
            follow_through(tx, &job_id, next, follow.as_ref()).await?;
            return Ok(Some(token));
        }
    }
    let Some((_, state)) = moves::job_and_state(tx, *send_id).await? else {
        return Err(StoreError::NoSuchSend(*send_id));
    };
    if state != SendState::Sending && history::attempt_exists(tx, *send_id, attempt).await? {
        // The same try recorded again (a caller that did not learn the first answer).
        return Ok(token);
    }
    history::insert_attempt(tx, *send_id, attempt, store.node()).await?;
    late(tx, *send_id, state, next).await?;
    Ok(token)
}

/// An acceptance starts polling from the moment Bird was known to hold the send: folded
/// into the fenced update (`history::note_attempt` does the same for the other outcomes).
fn polls_from(attempt: &AttemptRecord, next: &SendUpdate) -> Option<DateTime<Utc>> {
    let accepted = matches!(
        attempt.outcome,
        AttemptOutcome::Sent | AttemptOutcome::Reconciled
    );
    (accepted && matches!(next, SendUpdate::Sent { .. })).then_some(attempt.finished)
}

/// After the send moved: a retry or the cron job's next occurrence wakes the dispatchers;
/// a send that ended may end its job.
async fn follow_through(
    tx: &Transaction<'_>,
    job_id: &str,
    next: &SendUpdate,
    follow: Option<&FollowUp>,
) -> Result<(), StoreError> {
    let mut scheduled = matches!(next, SendUpdate::Retry { .. });
    if let Some(at) = finished_at(next) {
        if let Some(follow) = follow {
            scheduled |= cron::apply(tx, job_id, follow, at).await?;
        }
        job_rows::on_send_finished(tx, job_id, at).await?;
    }
    if scheduled {
        history::notify_due(tx).await?;
    }
    Ok(())
}

/// An outcome for a send this process no longer holds: the attempt row is all it leaves,
/// but for a canceled or replaced send Bird's id of a late acceptance is kept.
async fn late(
    tx: &Transaction<'_>,
    send_id: i64,
    state: SendState,
    next: &SendUpdate,
) -> Result<(), StoreError> {
    if let SendUpdate::Sent {
        bird_message_id,
        bird_status,
        ..
    } = next
    {
        moves::note_late_acceptance(tx, send_id, bird_message_id, bird_status).await?;
        tracing::warn!(
            send_id,
            state = %state,
            bird_id = %bird_message_id,
            "Bird accepted a send whose lease this daemon no longer held ({state}); only the attempt was recorded, Bird's id is kept on a canceled or replaced send"
        );
        return Ok(());
    }
    tracing::warn!(
        send_id,
        state = %state,
        "an outcome arrived for a send whose lease this daemon no longer held; only the attempt was recorded"
    );
    Ok(())
}

/// Drops the token of a send whose outcome is recorded (unless a newer claim replaced it).
fn forget(store: &PgStore, send_id: i64, token: Option<i64>) {
    let Some(token) = token else {
        return;
    };
    let mut leases = store.leases();
    if leases.get(&send_id) == Some(&token) {
        leases.remove(&send_id);
    }
}

/// When `next` ends the send, the instant it ends.
fn finished_at(next: &SendUpdate) -> Option<DateTime<Utc>> {
    match next {
        SendUpdate::Sent { at, .. }
        | SendUpdate::Failed { at, .. }
        | SendUpdate::Expired { at, .. } => Some(*at),
        SendUpdate::Retry { .. } => None,
    }
}
