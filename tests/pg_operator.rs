//! What the operator's writes do on PostgreSQL beyond the conformance suite: a cancel of a
//! send being sent leaves its lease to the holder's fence, and a retry wakes every daemon
//! (`NOTIFY msgspool_due`). Rows are put in place with SQL, as another daemon would leave
//! them.

#[path = "common/pg.rs"]
mod pg;

use std::time::Duration;

use chrono::{DateTime, Utc};
use msgspool::store::postgres::{PgSettings, PgStore, PgTarget};
use msgspool::store::{CancelOutcome, RetryOutcome, SendState, Store};
use tokio_postgres::AsyncMessage;

fn now() -> DateTime<Utc> {
    "2026-03-01T10:00:00Z".parse().unwrap()
}

/// A store on a fresh migrated database, and the database's URL.
async fn store() -> (Store, String) {
    let url = pg::cluster().fresh_database().await;
    let target = PgTarget::parse(&url).expect("the test URL parses");
    let settings = PgSettings {
        node: "operator".to_owned(),
        lease: Duration::from_secs(60),
        pool_size: 2,
        workspace: "operator".to_owned(),
        migrate: true,
    };
    let store = PgStore::connect(&target, settings).await.expect("connect");
    (Store::on(store), url)
}

/// Job `a` with one send in `state` (`sending`: held by node `other` with token 42).
fn one_send(state: &str) -> String {
    format!(
        "INSERT INTO jobs (id, channel, kind, source_name, source_text, sha256, state,
                           created_at, updated_at)
         VALUES ('a', 'whatsapp', 'once', 'a.toml', 'v1', 'h',
                 CASE WHEN '{state}' = 'failed' THEN 'finished' ELSE 'active' END,
                 '2026-03-01T09:00:00Z', '2026-03-01T09:00:00Z');
         INSERT INTO sends (id, job_id, occurrence_at, due_at, expires_at, state, attempts,
                            next_attempt_at, payload, reference, claimed_at, finished_at,
                            lease_owner, lease_token, lease_expires_at, created_at, updated_at)
         VALUES (1, 'a', '2026-03-01T10:00:00Z', '2026-03-01T10:00:00Z',
                 '2026-03-02T10:00:00Z', '{state}', 1,
                 CASE WHEN '{state}' = 'sending' THEN '2026-03-01T10:00:00Z'::timestamptz END,
                 '{{}}', 'r', '2026-03-01T10:00:00Z',
                 CASE WHEN '{state}' = 'failed' THEN '2026-03-01T10:00:01Z'::timestamptz END,
                 'other', 42, clock_timestamp() + interval '1 minute',
                 '2026-03-01T09:00:00Z', '2026-03-01T09:00:00Z');"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canceling_a_send_in_flight_leaves_its_lease_for_the_holders_fence() {
    if !pg::enabled() {
        return;
    }
    let (store, url) = store().await;
    pg::cluster().exec(&url, &one_send("sending")).await;

    let outcome = store.cancel_send(1, now()).await.unwrap();

    assert_eq!(
        outcome,
        CancelOutcome::Canceled {
            job_id: "a".to_owned(),
            scheduled: vec![],
            in_flight: vec![1],
        }
    );
    let client = pg::cluster().client(&url).await;
    let row = client
        .query_one(
            "SELECT s.state, s.lease_owner, s.lease_token, j.state
             FROM sends s JOIN jobs j ON j.id = s.job_id WHERE s.id = 1",
            &[],
        )
        .await
        .unwrap();
    let seen: (String, String, i64, String) = (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(
        seen,
        (
            "canceled".to_owned(),
            "other".to_owned(),
            42,
            "finished".to_owned()
        )
    );
    assert_eq!(
        store.send(1).await.unwrap().unwrap().state,
        SendState::Canceled
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_wakes_every_daemon_listening_for_due_sends() {
    if !pg::enabled() {
        return;
    }
    let (store, url) = store().await;
    pg::cluster().exec(&url, &one_send("failed")).await;
    let (listener, mut connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let (tx, mut notified) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            if let Ok(AsyncMessage::Notification(n)) = message {
                let _ = tx.send(n.channel().to_owned());
            }
        }
    });
    listener.batch_execute("LISTEN msgspool_due").await.unwrap();

    let outcome = store.retry_send(1, None, now()).await.unwrap();

    assert!(
        matches!(outcome, RetryOutcome::Scheduled { .. }),
        "{outcome:?}"
    );
    let channel = tokio::time::timeout(Duration::from_secs(20), notified.recv())
        .await
        .expect("a notification within 20 s");
    assert_eq!(channel.as_deref(), Some("msgspool_due"));
    let client = pg::cluster().client(&url).await;
    let lease: Option<i64> = client
        .query_one("SELECT lease_token FROM sends WHERE id = 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(lease, None, "the old claim's lease goes with it");
}
