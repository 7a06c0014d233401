//! Claims: a send goes to one claimer only, never before its time, and comes back when
//! the daemon stopped with it claimed.

use std::collections::HashSet;

use chrono::Duration;
use msgspool::store::{AttemptOutcome, SendState, Store};

use crate::fixtures::{all_sends, job, now, one};

pub async fn a_claim_never_returns_a_send_twice(store: &Store) {
    let times: Vec<_> = (0..5).map(|i| now() - Duration::minutes(i)).collect();
    store
        .accept_job(job("a", "v1", &times), now())
        .await
        .unwrap();

    let first = store.claim_due(now(), 3).await.unwrap();
    let second = store.claim_due(now(), 10).await.unwrap();
    let third = store
        .claim_due(now() + Duration::hours(1), 10)
        .await
        .unwrap();

    assert_eq!((first.len(), second.len(), third.len()), (3, 2, 0));
    let ids: HashSet<i64> = first.iter().chain(&second).map(|s| s.send_id).collect();
    assert_eq!(ids.len(), 5);
    // Oldest first.
    assert!(first[0].due <= first[1].due && first[1].due <= first[2].due);
    for send in all_sends(store).await {
        assert_eq!(send.state, SendState::Sending);
    }
}

pub async fn concurrent_claimers_never_share_a_send(store: &Store) {
    let jobs = (0..60)
        .map(|i| job(&format!("j{i:02}"), "v1", &[now() - Duration::seconds(i)]))
        .collect();
    for answer in store.accept_jobs(jobs, now()).await {
        answer.unwrap();
    }
    let mut claimers = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let store = store.clone();
        claimers.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store.claim_due(now(), 4).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|s| s.send_id));
                tokio::task::yield_now().await;
            }
        });
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    while let Some(mine) = claimers.join_next().await {
        for id in mine.unwrap() {
            total += 1;
            assert!(seen.insert(id), "send {id} was claimed twice");
        }
    }
    assert_eq!((total, seen.len()), (60, 60));
}

pub async fn a_send_is_not_claimed_before_its_next_attempt(store: &Store) {
    let later = now() + Duration::hours(1);
    store
        .accept_job(job("a", "v1", &[later]), now())
        .await
        .unwrap();

    assert!(store.claim_due(now(), 10).await.unwrap().is_empty());
    assert!(
        store
            .claim_due(later - Duration::milliseconds(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.next_due().await.unwrap(), Some(later));
    let claimed = store.claim_due(later, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!((claimed[0].due, claimed[0].attempts), (later, 0));
    assert_eq!(store.next_due().await.unwrap(), None);
}

pub async fn recover_interrupted_schedules_sends_left_sending_due_now(store: &Store) {
    let times = [now(), now() - Duration::minutes(1)];
    store
        .accept_job(job("a", "v1", &times), now())
        .await
        .unwrap();
    store
        .accept_job(job("b", "v1", &[now() + Duration::days(1)]), now())
        .await
        .unwrap();
    let claimed = store.claim_due(now(), 10).await.unwrap();
    assert_eq!(claimed.len(), 2);

    let restart = now() + Duration::minutes(5);
    assert_eq!(store.recover_interrupted(restart).await.unwrap(), 2);
    assert_eq!(store.recover_interrupted(restart).await.unwrap(), 0);

    assert_eq!(store.next_due().await.unwrap(), Some(restart));
    let again = store.claim_due(restart, 10).await.unwrap();
    assert_eq!(again.len(), 2);
    for send in &again {
        // An interrupted attempt does not count towards giving up.
        assert_eq!(send.attempts, 0);
        let details = store.send_details(send.send_id).await.unwrap().unwrap();
        let outcomes: Vec<_> = details.sends[0]
            .attempts
            .iter()
            .map(|a| a.outcome)
            .collect();
        assert_eq!(outcomes, [AttemptOutcome::Interrupted]);
    }
}

/// A send claimed ahead of its instant and left by a crash keeps that instant: were it
/// due at once, the restart would post it early.
pub async fn recover_interrupted_keeps_the_instant_of_a_send_claimed_ahead(store: &Store) {
    let instant = now() + Duration::milliseconds(800);
    store
        .accept_job(job("a", "v1", &[instant]), now())
        .await
        .unwrap();
    assert_eq!(store.claim_due(instant, 10).await.unwrap().len(), 1);

    assert_eq!(store.recover_interrupted(now()).await.unwrap(), 1);

    assert_eq!(store.next_due().await.unwrap(), Some(instant));
    assert!(store.claim_due(now(), 10).await.unwrap().is_empty());
    assert_eq!(store.claim_due(instant, 10).await.unwrap().len(), 1);
}

pub async fn requeue_puts_claimed_sends_back_without_counting_an_attempt(store: &Store) {
    store
        .accept_job(job("a", "v1", &[now()]), now())
        .await
        .unwrap();
    let claimed = store.claim_due(now(), 10).await.unwrap();
    let id = claimed[0].send_id;

    store.requeue(vec![id], now()).await.unwrap();
    let send = one(store, id).await;
    assert_eq!((send.state, send.attempts), (SendState::Scheduled, 0));
    assert_eq!(send.due(), now());
    // A send no longer claimed is left alone.
    store.requeue(vec![id], now()).await.unwrap();
    let details = store.send_details(id).await.unwrap().unwrap();
    assert_eq!(details.sends[0].attempts.len(), 1);

    let again = store.claim_due(now(), 10).await.unwrap();
    assert_eq!(again.iter().map(|s| s.send_id).collect::<Vec<_>>(), [id]);
}
