//! Group commit for outcomes: dispatch records each send's outcome as it arrives; those
//! that arrive while earlier ones are being written are committed in one transaction, as
//! SQLite's writer thread groups its commits. One commit (and one wait for the disk) then
//! serves many sends.
//!
//! Owns: the queue of outcomes waiting for a transaction, and the task that drains it
//! (started on first use, in the runtime of the caller; started again if that runtime is
//! gone). Guarantees: an outcome is answered only after the transaction holding it
//! committed; a batch that fails is rolled back and each of its outcomes is then recorded
//! alone, so one outcome's error never becomes another's, and each answer is that
//! outcome's own.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::{Semaphore, mpsc, oneshot};

use super::super::super::StoreError;
use super::super::{Inner, PgStore};
use super::bulk::{self, Accepted};
use super::{Outcome, forget, record_alone, record_in};

/// Outcomes in one transaction at most: a failed batch is redone one by one, so this
/// bounds that cost too.
const MAX_BATCH: usize = 128;
/// Transactions in flight at once: while one commits, the next fills.
const WRITERS: usize = 4;

struct Queued {
    outcome: Outcome,
    answer: oneshot::Sender<Result<(), StoreError>>,
}

/// The queue's sending end (see the module doc).
#[derive(Default)]
pub(in super::super) struct Batcher {
    queue: Mutex<Option<mpsc::UnboundedSender<Queued>>>,
}

impl Batcher {
    /// Queues `outcome` and waits for its commit.
    pub(in super::super) async fn record(
        &self,
        store: &PgStore,
        outcome: Outcome,
    ) -> Result<(), StoreError> {
        let (answer, answered) = oneshot::channel();
        let queued = Queued { outcome, answer };
        if let Err(mpsc::error::SendError(queued)) = self.sender(store).send(queued) {
            // The drain task has just ended: record this one directly.
            return record_alone(store, &queued.outcome).await;
        }
        answered.await.unwrap_or_else(|_| {
            Err(StoreError::Postgres(
                "the outcome was not recorded: the daemon is stopping".to_owned(),
            ))
        })
    }

    fn sender(&self, store: &PgStore) -> mpsc::UnboundedSender<Queued> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        match &*queue {
            Some(sender) if !sender.is_closed() => sender.clone(),
            _ => {
                let (sender, receiver) = mpsc::unbounded_channel();
                tokio::spawn(drain(receiver, Arc::downgrade(&store.inner)));
                *queue = Some(sender.clone());
                sender
            }
        }
    }
}

/// Takes what is queued, up to [`MAX_BATCH`], into each free writer's transaction. Ends
/// when the store is dropped.
async fn drain(mut queue: mpsc::UnboundedReceiver<Queued>, store: Weak<Inner>) {
    let writers = Arc::new(Semaphore::new(WRITERS));
    loop {
        let Ok(writer) = writers.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = queue.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            let Ok(next) = queue.try_recv() else { break };
            batch.push(next);
        }
        let Some(inner) = store.upgrade() else {
            return;
        };
        let store = PgStore { inner };
        tokio::spawn(async move {
            commit(&store, batch).await;
            drop(writer);
        });
    }
}

/// Commits `batch` in one transaction, or else each of its outcomes alone.
async fn commit(store: &PgStore, mut batch: Vec<Queued>) {
    // Rows are locked in one order by every writer, of every daemon.
    batch.sort_by_key(|queued| queued.outcome.send_id);
    match together(store, &batch).await {
        Ok(held) => {
            for (queued, token) in batch.into_iter().zip(held) {
                forget(store, queued.outcome.send_id, token);
                let _ = queued.answer.send(Ok(()));
            }
        }
        Err(error) if batch.len() == 1 => {
            if let Some(queued) = batch.into_iter().next() {
                let _ = queued.answer.send(Err(error));
            }
        }
        Err(error) => {
            tracing::debug!(%error, outcomes = batch.len(), "a batch of outcomes failed; recording each alone");
            for queued in batch {
                let result = record_alone(store, &queued.outcome).await;
                let _ = queued.answer.send(result);
            }
        }
    }
}

/// Every outcome of `batch` in one transaction; the lease tokens to forget, in order.
/// Acceptances of sends held here go through the set-based path ([`bulk`]); the rest, and
/// any whose fence did not hold, one by one.
async fn together(store: &PgStore, batch: &[Queued]) -> Result<Vec<Option<i64>>, StoreError> {
    let tokens: Vec<Option<i64>> = {
        let leases = store.leases();
        batch
            .iter()
            .map(|queued| leases.get(&queued.outcome.send_id).copied())
            .collect()
    };
    let mut times_seen: HashMap<i64, usize> = HashMap::new();
    for queued in batch {
        *times_seen.entry(queued.outcome.send_id).or_default() += 1;
    }
    // A send with two outcomes in the batch has them recorded in order, the slow way.
    let accepted: Vec<Accepted<'_>> = batch
        .iter()
        .zip(&tokens)
        .filter(|(queued, _)| times_seen.get(&queued.outcome.send_id) == Some(&1))
        .filter_map(|(queued, token)| Accepted::of(&queued.outcome, *token))
        .collect();
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let moved = if accepted.is_empty() {
        HashSet::new()
    } else {
        bulk::record(&tx, store.node(), &accepted).await?
    };
    let mut held = Vec::with_capacity(batch.len());
    for (queued, token) in batch.iter().zip(tokens) {
        if moved.contains(&queued.outcome.send_id) {
            held.push(token);
        } else {
            held.push(record_in(&tx, store, &queued.outcome).await?);
        }
    }
    tx.commit().await?;
    Ok(held)
}
