//! Leases on PostgreSQL with two daemons (two `PgStore`s with different node names on one
//! database): claims never shared, the fence after a take-over, the re-check before a
//! POST, recovery that leaves another node's live leases alone, and the shared bucket.
//!
//! Reads go through SQL on the test's own connection, so these tests need only the
//! dispatch side of the backend.

#[path = "common/pg.rs"]
mod pg;
// The conformance suite's jobs and attempts (these tests use a few of them).
#[allow(dead_code)]
#[path = "conformance/fixtures.rs"]
mod fixtures;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use fixtures::now;
use msgspool::store::postgres::{PgSettings, PgStore, PgTarget};
use msgspool::store::{AttemptOutcome, AttemptRecord, Backend, SendState, SendUpdate};

/// A try that Bird answered 202 at `at`.
fn accepted_at(at: DateTime<Utc>) -> AttemptRecord {
    fixtures::attempt(at, Some(202), AttemptOutcome::Sent)
}

/// A fresh database and two daemons on it, nodes `a` and `b`; `None` when PostgreSQL
/// tests are off.
async fn two_daemons() -> Option<(String, PgStore, PgStore)> {
    if !pg::enabled() {
        eprintln!("MSGSPOOL_PG_TESTS=0: PostgreSQL test skipped");
        return None;
    }
    let url = pg::cluster().fresh_database().await;
    let a = daemon(&url, "a").await;
    let b = daemon(&url, "b").await;
    Some((url, a, b))
}

async fn daemon(url: &str, node: &str) -> PgStore {
    let target = PgTarget::parse(url).unwrap();
    let settings = PgSettings {
        node: node.to_owned(),
        lease: Duration::from_secs(60),
        pool_size: 4,
        workspace: "shared".to_owned(),
        migrate: true,
    };
    PgStore::connect(&target, settings).await.unwrap()
}

/// Stores `count` one-send jobs, all due now.
async fn due_jobs(store: &PgStore, count: usize) {
    let jobs = (0..count)
        .map(|i| fixtures::job(&format!("j{i:03}"), "content", &[now()]))
        .collect();
    for answer in store.accept_jobs(jobs, now()).await {
        answer.unwrap();
    }
}

fn sent(id: &str) -> SendUpdate {
    SendUpdate::Sent {
        bird_message_id: id.to_owned(),
        bird_status: "accepted".to_owned(),
        at: now(),
    }
}

/// A send's state, counted attempts and lease owner, read with SQL.
async fn row(url: &str, send_id: i64) -> (String, i32, Option<String>) {
    let client = pg::cluster().client(url).await;
    let row = client
        .query_one(
            "SELECT state, attempts, lease_owner FROM sends WHERE id = $1",
            &[&send_id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

/// A send's attempts as (outcome, node), oldest first.
async fn attempts(url: &str, send_id: i64) -> Vec<(String, Option<String>)> {
    let client = pg::cluster().client(url).await;
    client
        .query(
            "SELECT outcome, node FROM attempts WHERE send_id = $1 ORDER BY id",
            &[&send_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

async fn backdate_leases(url: &str) {
    pg::cluster()
        .exec(
            url,
            "UPDATE sends SET lease_expires_at = now() - interval '1 s' WHERE state = 'sending'",
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_claiming_together_never_share_a_send() {
    let Some((_url, a, b)) = two_daemons().await else {
        return;
    };
    due_jobs(&a, 80).await;
    let mut claimers = tokio::task::JoinSet::new();
    for store in [a.clone(), b.clone(), a, b] {
        claimers.spawn(async move {
            let mut mine = Vec::new();
            for _ in 0..200 {
                let batch = store.claim_due(now(), 3).await.unwrap();
                if batch.is_empty() {
                    break;
                }
                mine.extend(batch.into_iter().map(|s| s.send_id));
            }
            mine
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
    assert_eq!((total, seen.len()), (80, 80));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outcome_after_the_lease_was_taken_over_records_only_its_attempt() {
    let Some((url, a, b)) = two_daemons().await else {
        return;
    };
    due_jobs(&a, 1).await;
    let id = a.claim_due(now(), 10).await.unwrap()[0].send_id;
    backdate_leases(&url).await;

    assert_eq!(b.take_back_expired(now()).await.unwrap(), 1);
    let again = b.claim_due(now(), 10).await.unwrap();
    assert_eq!(again.iter().map(|s| s.send_id).collect::<Vec<_>>(), [id]);
    // The take-back marked it for reconcile: A's POST may have reached Bird.
    assert!(again[0].reconcile_from.is_some());

    a.record_outcome(id, accepted_at(now()), sent("from-a"))
        .await
        .unwrap();
    assert_eq!(row(&url, id).await, ("sending".into(), 0, Some("b".into())));

    let later = now() + chrono::Duration::seconds(1);
    b.record_outcome(id, accepted_at(later), sent("from-b"))
        .await
        .unwrap();
    assert_eq!(row(&url, id).await.0, "sent");
    assert_eq!(row(&url, id).await.1, 1, "only B's attempt counts");
    assert_eq!(
        attempts(&url, id).await,
        [
            ("interrupted".to_owned(), Some("a".to_owned())),
            ("sent".to_owned(), Some("a".to_owned())),
            ("sent".to_owned(), Some("b".to_owned())),
        ]
    );
    let client = pg::cluster().client(&url).await;
    let bird_id: String = client
        .query_one("SELECT bird_message_id FROM sends WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(bird_id, "from-b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recheck_says_sending_only_under_a_live_lease_of_ours_and_renews_it() {
    let Some((url, a, b)) = two_daemons().await else {
        return;
    };
    due_jobs(&a, 2).await;
    let claimed = a.claim_due(now(), 1).await.unwrap();
    let ours = claimed[0].send_id;
    let client = pg::cluster().client(&url).await;
    let expiry = |id: i64| {
        let client = &client;
        async move {
            client
                .query_one("SELECT lease_expires_at FROM sends WHERE id = $1", &[&id])
                .await
                .unwrap()
                .get::<_, DateTime<Utc>>(0)
        }
    };
    let before = expiry(ours).await;
    let states = a.send_states_of(vec![ours]).await.unwrap();
    assert_eq!(states.get(&ours), Some(&SendState::Sending));
    assert!(expiry(ours).await > before, "the re-check renews the lease");

    // A send B holds is not A's to post.
    let theirs = b.claim_due(now(), 1).await.unwrap()[0].send_id;
    assert_eq!(
        a.send_state(theirs).await.unwrap(),
        Some(SendState::Scheduled)
    );

    // A lease that ran out is not renewed and does not read as Sending.
    backdate_leases(&url).await;
    let states = a.send_states_of(vec![ours, theirs]).await.unwrap();
    assert_eq!(states.get(&ours), Some(&SendState::Scheduled));
    assert_eq!(
        b.send_state(theirs).await.unwrap(),
        Some(SendState::Scheduled)
    );
    // A forgot its token: its late outcome changes nothing but adds its attempt.
    a.record_outcome(ours, accepted_at(now()), sent("late"))
        .await
        .unwrap();
    assert_eq!(row(&url, ours).await.0, "sending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_of_one_node_leaves_another_nodes_live_leases_alone() {
    let Some((url, a, b)) = two_daemons().await else {
        return;
    };
    due_jobs(&a, 2).await;
    let held_by_a = a.claim_due(now(), 1).await.unwrap()[0].send_id;
    let held_by_b = b.claim_due(now(), 1).await.unwrap()[0].send_id;

    // B restarts: what it held in its previous life comes back, A's lease stays.
    let b_again = daemon(&url, "b").await;
    assert_eq!(b_again.recover_interrupted(now()).await.unwrap(), 1);
    assert_eq!(row(&url, held_by_b).await.0, "scheduled");
    assert_eq!(
        row(&url, held_by_a).await,
        ("sending".into(), 0, Some("a".into()))
    );
    assert_eq!(
        a.send_state(held_by_a).await.unwrap(),
        Some(SendState::Sending)
    );
    // And the leader's sweep does not touch a live lease either.
    assert_eq!(b_again.take_back_expired(now()).await.unwrap(), 0);
    a.record_outcome(held_by_a, accepted_at(now()), sent("a-1"))
        .await
        .unwrap();
    assert_eq!(row(&url, held_by_a).await.0, "sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_share_one_bucket_and_one_pause() {
    let Some((_url, a, b)) = two_daemons().await else {
        return;
    };
    due_jobs(&a, 200).await;
    let rate = 10;
    a.set_rate_limit(rate);
    b.set_rate_limit(rate);
    let started = Instant::now();
    let mut total = 0usize;
    while started.elapsed() < Duration::from_secs(1) {
        for store in [&a, &b] {
            total += store.claim_due(now(), 100).await.unwrap().len();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    // A burst of one, then ten a second, whichever daemon asks.
    let most = 1.0 + f64::from(rate) * elapsed;
    let total_f = total as f64;
    assert!(
        total_f <= most + 1.0,
        "{total} claimed in {elapsed:.2} s, at most {most:.1} allowed"
    );
    assert!(total >= 6, "{total} claimed in {elapsed:.2} s");

    // A 429 seen by A pauses B too.
    a.pause_workspace(Utc::now() + chrono::Duration::seconds(30))
        .await
        .unwrap();
    let paused = Instant::now();
    while paused.elapsed() < Duration::from_millis(600) {
        for store in [&a, &b] {
            assert!(store.claim_due(now(), 100).await.unwrap().is_empty());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_ahead_of_their_instant_spend_that_instants_tokens_not_more() {
    let Some((_url, a, b)) = two_daemons().await else {
        return;
    };
    let instant = Utc::now() + chrono::Duration::seconds(2);
    let jobs = (0..100)
        .map(|i| fixtures::job(&format!("j{i:03}"), "content", &[instant]))
        .collect();
    for answer in a.accept_jobs(jobs, Utc::now()).await {
        answer.unwrap();
    }
    let rate = 100;
    a.set_rate_limit(rate);
    b.set_rate_limit(rate);
    // Both daemons claim ahead for 1.2 s: a whole burst (10) goes out at the instant,
    // and nothing may be gathered meanwhile (that would be 120 more at 100/s).
    let started = Instant::now();
    let mut total = 0usize;
    while started.elapsed() < Duration::from_millis(1200) {
        for store in [&a, &b] {
            total += store.claim_due(instant, 100).await.unwrap().len();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        Utc::now() < instant,
        "the instant came: this test would mean nothing"
    );
    assert!(
        (1..=10).contains(&total),
        "{total} claimed ahead of one instant, at most one burst (10) allowed"
    );
}
