//! Outcomes on PostgreSQL committed together: dispatch records each send's outcome as its
//! answer arrives, and those that arrive together share one transaction (one wait for the
//! disk), while each keeps its own fence and its own answer.

#[path = "common/pg.rs"]
mod pg;
// The conformance suite's jobs and attempts (these tests use a few of them).
#[allow(dead_code)]
#[path = "conformance/fixtures.rs"]
mod fixtures;

use std::time::Duration;

use chrono::{DateTime, Utc};
use fixtures::now;
use msgspool::store::postgres::{PgSettings, PgStore, PgTarget};
use msgspool::store::{AttemptOutcome, AttemptRecord, Backend, SendUpdate, StoreError};

/// A try that Bird answered 202 at `at`.
fn accepted_at(at: DateTime<Utc>) -> AttemptRecord {
    fixtures::attempt(at, Some(202), AttemptOutcome::Sent)
}

async fn daemon(url: &str, node: &str) -> PgStore {
    let settings = PgSettings {
        node: node.to_owned(),
        lease: Duration::from_secs(60),
        pool_size: 8,
        workspace: "shared".to_owned(),
        migrate: true,
    };
    PgStore::connect(&PgTarget::parse(url).unwrap(), settings)
        .await
        .unwrap()
}

/// A fresh database with `count` one-send jobs due now, all claimed by node `a`; the
/// claimed send ids.
async fn claimed(count: usize) -> Option<(String, PgStore, Vec<i64>)> {
    if !pg::enabled() {
        eprintln!("MSGSPOOL_PG_TESTS=0: PostgreSQL test skipped");
        return None;
    }
    let url = pg::cluster().fresh_database().await;
    let a = daemon(&url, "a").await;
    let jobs = (0..count)
        .map(|i| fixtures::job(&format!("j{i:03}"), "content", &[now()]))
        .collect();
    for answer in a.accept_jobs(jobs, now()).await {
        answer.unwrap();
    }
    let ids: Vec<i64> = a
        .claim_due(now(), count)
        .await
        .unwrap()
        .iter()
        .map(|s| s.send_id)
        .collect();
    assert_eq!(ids.len(), count);
    Some((url, a, ids))
}

fn sent(send_id: i64) -> SendUpdate {
    SendUpdate::Sent {
        bird_message_id: format!("bird-{send_id}"),
        bird_status: "accepted".to_owned(),
        at: now(),
    }
}

/// Records an acceptance of every send in `ids` at once, each from its own task; the
/// answers by send id.
async fn record_all(store: &PgStore, ids: &[i64]) -> Vec<(i64, Result<(), StoreError>)> {
    let mut tasks = tokio::task::JoinSet::new();
    for &id in ids {
        let store = store.clone();
        tasks.spawn(async move {
            let at = now() + chrono::Duration::milliseconds(id);
            (
                id,
                store.record_outcome(id, accepted_at(at), sent(id)).await,
            )
        });
    }
    let mut answers = Vec::new();
    while let Some(answer) = tasks.join_next().await {
        answers.push(answer.unwrap());
    }
    answers
}

async fn number(url: &str, sql: &str) -> i64 {
    let client = pg::cluster().client(url).await;
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_that_arrive_together_are_committed_together() {
    let Some((url, a, ids)) = claimed(100).await else {
        return;
    };
    for (id, answer) in record_all(&a, &ids).await {
        answer.unwrap_or_else(|e| panic!("send {id}: {e}"));
    }
    let sql = "SELECT count(*) FROM sends WHERE state = 'sent'";
    assert_eq!(number(&url, sql).await, 100);
    // Each row's xmin is the transaction that wrote it: far fewer than one per send.
    let sql = "SELECT count(DISTINCT xmin::text) FROM sends";
    let transactions = number(&url, sql).await;
    assert!(
        transactions < 50,
        "100 outcomes took {transactions} transactions"
    );
    // Each was recorded as if alone: its attempt, its polling marks, its job finished.
    let sql = "SELECT count(*) FROM sends s JOIN jobs j ON j.id = s.job_id
               JOIN attempts t ON t.send_id = s.id
               WHERE j.state = 'finished' AND s.attempts = 1 AND s.polls = 0
                 AND s.next_poll_at = t.finished_at AND s.reconcile_from IS NULL
                 AND s.lease_token IS NULL AND s.bird_message_id = 'bird-' || s.id
                 AND t.outcome = 'sent' AND t.node = 'a'";
    assert_eq!(number(&url, sql).await, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_outcome_of_a_batch_keeps_its_own_fence_and_its_own_answer() {
    let Some((url, a, ids)) = claimed(40).await else {
        return;
    };
    // Node b takes over ten of a's leases (they ran out), and claims them again.
    let taken: Vec<i64> = ids.iter().copied().step_by(4).collect();
    let client = pg::cluster().client(&url).await;
    client
        .execute(
            "UPDATE sends SET lease_expires_at = now() - interval '1 s' WHERE id = ANY($1)",
            &[&taken],
        )
        .await
        .unwrap();
    let b = daemon(&url, "b").await;
    assert_eq!(b.take_back_expired(now()).await.unwrap(), taken.len());
    assert_eq!(b.claim_due(now(), 100).await.unwrap().len(), taken.len());

    // Every outcome at once, and one for a send that does not exist.
    let missing = ids.iter().max().unwrap() + 1_000;
    let mut all = ids.clone();
    all.push(missing);
    for (id, answer) in record_all(&a, &all).await {
        match answer {
            Err(StoreError::NoSuchSend(n)) => assert_eq!((id, n), (missing, missing)),
            Err(e) => panic!("send {id}: {e}"),
            Ok(()) => assert_ne!(id, missing, "an outcome for no send was accepted"),
        }
    }
    let sql = "SELECT count(*) FROM sends WHERE state = 'sent' AND lease_owner = 'a'";
    assert_eq!(number(&url, sql).await, 30);
    let sql = "SELECT count(*) FROM sends WHERE state = 'sending' AND lease_owner = 'b'";
    assert_eq!(
        number(&url, sql).await,
        10,
        "a's late outcomes moved b's sends"
    );
    // A's outcomes for the taken sends left their attempt rows, nothing else.
    let sql = "SELECT count(*) FROM attempts WHERE outcome = 'sent' AND node = 'a'";
    assert_eq!(number(&url, sql).await, 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_carry_no_index_on_state_and_next_attempt() {
    let Some((url, _a, _ids)) = claimed(1).await else {
        return;
    };
    // Migration 2 dropped it: every state change paid for it, and right after a large
    // intake the planner used it to check a job's pending sends at ~0.5 ms a send.
    let sql = "SELECT count(*) FROM pg_indexes WHERE tablename = 'sends'
               AND indexname = 'sends_by_state_and_next_attempt'";
    assert_eq!(number(&url, sql).await, 0);
    let sql = "SELECT max(version) FROM schema_version";
    assert_eq!(
        number(&url, sql).await,
        msgspool::store::postgres::PG_KNOWN_VERSION
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acceptance_with_a_follow_up_starts_polling_as_one_without() {
    let Some((url, a, ids)) = claimed(1).await else {
        return;
    };
    // A follow-up keeps the outcome off the set-based path: the one-by-one fenced update
    // sets the polling marks itself.
    let at = now() + chrono::Duration::seconds(3);
    let follow = msgspool::store::FollowUp::End { skipped: None };
    a.record_outcome_then(ids[0], accepted_at(at), sent(ids[0]), Some(follow))
        .await
        .unwrap();
    let sql = "SELECT count(*) FROM sends s JOIN attempts t ON t.send_id = s.id
               WHERE s.state = 'sent' AND s.next_poll_at = t.finished_at AND s.polls = 0
                 AND s.reconcile_from IS NULL AND s.attempts = 1";
    assert_eq!(number(&url, sql).await, 1);
}
