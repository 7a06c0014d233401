//! Delivery tracking: statuses Bird reports (forward only, one event each), the timeline,
//! the counts, the poll schedule and the send a webhook names.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use msgspool::store::{AttemptOutcome, DeliveryStatus, DeliveryUpdate, SendUpdate, Store};

use crate::fixtures::{attempt, job, now};

/// Bird reported `status` at `at`, by a poll.
fn update(status: DeliveryStatus, at: DateTime<Utc>) -> DeliveryUpdate {
    DeliveryUpdate {
        status,
        at,
        failure_code: None,
        failure_source: None,
        failure_reason: None,
        source: "poll",
    }
}

/// `at` seconds after now.
fn t(seconds: i64) -> DateTime<Utc> {
    now() + Duration::seconds(seconds)
}

/// Job `id` with `count` sends due now, each claimed and accepted by Bird now (as
/// `bird-ID-N`); their ids, in order.
async fn sent_sends(store: &Store, id: &str, count: i64) -> Vec<i64> {
    let occurrences: Vec<_> = (0..count).map(|n| now() - Duration::minutes(n)).collect();
    store
        .accept_job(job(id, "v1", &occurrences), now())
        .await
        .expect("accept");
    let mut claimed = store
        .claim_due(now(), 10)
        .await
        .expect("claim")
        .into_iter()
        .map(|c| c.send_id)
        .collect::<Vec<_>>();
    claimed.sort_unstable();
    assert_eq!(claimed.len() as i64, count, "{claimed:?}");
    for (n, &send_id) in claimed.iter().enumerate() {
        let sent = SendUpdate::Sent {
            bird_message_id: format!("bird-{id}-{n}"),
            bird_status: "accepted".to_owned(),
            at: now(),
        };
        store
            .record_outcome(
                send_id,
                attempt(now(), Some(202), AttemptOutcome::Sent),
                sent,
            )
            .await
            .expect("record the acceptance");
    }
    claimed
}

pub async fn a_delivery_status_only_moves_forward(store: &Store) {
    let id = sent_sends(store, "a", 1).await[0];
    let record = |status, at, recorded| store.record_delivery(id, update(status, at), recorded);

    assert!(
        record(DeliveryStatus::Delivered, t(20), t(21))
            .await
            .unwrap()
    );
    assert!(
        !record(DeliveryStatus::Sent, t(10), t(22)).await.unwrap(),
        "back"
    );
    assert!(
        !record(DeliveryStatus::Delivered, t(20), t(23))
            .await
            .unwrap(),
        "again"
    );
    assert!(
        !record(DeliveryStatus::DeliveryFailed, t(30), t(24))
            .await
            .unwrap(),
        "the first end reported stands"
    );
    assert_eq!(
        store
            .sends_with_delivery(vec!["delivered".to_owned()])
            .await
            .unwrap(),
        BTreeSet::from([id])
    );
    assert!(
        record(DeliveryStatus::Read, t(40), t(41)).await.unwrap(),
        "read follows"
    );
    assert_eq!(
        store
            .sends_with_delivery(vec!["read".to_owned()])
            .await
            .unwrap(),
        BTreeSet::from([id])
    );
    assert!(
        store
            .sends_with_delivery(vec!["delivered".to_owned(), "unknown".to_owned()])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .record_delivery(4711, update(DeliveryStatus::Sent, t(1)), t(1))
            .await,
        Err(msgspool::store::StoreError::NoSuchSend(4711))
    );
}

pub async fn the_timeline_has_each_status_once_oldest_first(store: &Store) {
    let id = sent_sends(store, "a", 1).await[0];
    let failed = DeliveryUpdate {
        failure_code: Some("131026".to_owned()),
        failure_source: Some("whatsapp".to_owned()),
        failure_reason: Some("message undeliverable".to_owned()),
        source: "webhook",
        ..update(DeliveryStatus::DeliveryFailed, t(30))
    };
    for (update, recorded) in [
        (update(DeliveryStatus::Processing, t(10)), t(11)),
        (failed.clone(), t(31)),
        (update(DeliveryStatus::Processing, t(10)), t(32)),
        (failed, t(33)),
        (update(DeliveryStatus::Sent, t(20)), t(34)),
    ] {
        store.record_delivery(id, update, recorded).await.unwrap();
    }

    let timeline = store.delivery_timeline(id).await.unwrap();

    let seen: Vec<_> = timeline
        .iter()
        .map(|e| (e.status.as_str(), e.status_at, e.source.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("processing", t(10), "poll"),
            ("sent", t(20), "poll"),
            ("delivery_failed", t(30), "webhook"),
        ]
    );
    assert_eq!(timeline[2].failure_code.as_deref(), Some("131026"));
    assert_eq!(timeline[2].failure_source.as_deref(), Some("whatsapp"));
    assert!(store.delivery_timeline(4711).await.unwrap().is_empty());
}

pub async fn delivery_counts_tell_sent_messages_by_what_became_of_them(store: &Store) {
    let ids = sent_sends(store, "a", 4).await;
    let record = |id, status| store.record_delivery(id, update(status, t(20)), t(21));
    record(ids[0], DeliveryStatus::Delivered).await.unwrap();
    record(ids[1], DeliveryStatus::Delivered).await.unwrap();
    record(ids[1], DeliveryStatus::Read).await.unwrap();
    record(ids[2], DeliveryStatus::Rejected).await.unwrap();
    store
        .record_lookup(ids[3], attempt(t(30), Some(404), AttemptOutcome::NotFound))
        .await
        .unwrap();

    let counts = store.delivery_counts().await.unwrap();

    assert_eq!(
        (counts.delivered, counts.read, counts.failed, counts.pending),
        (2, 1, 1, 1)
    );
    assert_eq!(
        store
            .sends_with_delivery(vec!["unknown".to_owned()])
            .await
            .unwrap(),
        BTreeSet::from([ids[3]])
    );
    let attempts = store.attempt_counts().await.unwrap();
    assert_eq!(attempts.len(), AttemptOutcome::ALL.len());
    assert_eq!(attempts[&AttemptOutcome::Sent], 4);
    assert_eq!(attempts[&AttemptOutcome::NotFound], 1);
    assert_eq!(attempts[&AttemptOutcome::Failed], 0);
}

pub async fn a_sent_message_is_polled_after_the_first_wait_until_a_final_status(store: &Store) {
    let id = sent_sends(store, "a", 1).await[0];
    let first = std::time::Duration::from_secs(30);

    assert!(store.due_polls(t(29), first, 10).await.unwrap().is_empty());
    let due = store.due_polls(t(30), first, 10).await.unwrap();
    assert_eq!(
        due.iter()
            .map(|p| (p.send_id, p.bird_message_id.as_deref(), p.polls))
            .collect::<Vec<_>>(),
        [(id, Some("bird-a-0"), 0)]
    );
    assert_eq!(due[0].expires, now() + Duration::hours(36));

    // Nothing final yet: looked up again at the time given, the poll counted.
    let found = update(DeliveryStatus::Sent, t(25));
    store
        .record_poll(id, Some(found), Some(t(150)), t(30))
        .await
        .unwrap();
    assert!(store.due_polls(t(149), first, 10).await.unwrap().is_empty());
    let again = store.due_polls(t(150), first, 10).await.unwrap();
    assert_eq!(
        again
            .iter()
            .map(|p| (p.send_id, p.polls))
            .collect::<Vec<_>>(),
        [(id, 1)]
    );

    // A final status ends polling, whatever next time the caller asked for.
    let delivered = update(DeliveryStatus::Delivered, t(140));
    store
        .record_poll(id, Some(delivered), Some(t(300)), t(150))
        .await
        .unwrap();
    assert!(
        store
            .due_polls(t(100_000), first, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn a_webhook_finds_its_send_by_birds_message_id(store: &Store) {
    let ids = sent_sends(store, "a", 2).await;

    assert_eq!(
        store.send_by_bird_id("bird-a-1".to_owned()).await.unwrap(),
        Some(ids[1])
    );
    assert_eq!(
        store.send_by_bird_id("bird-a-0".to_owned()).await.unwrap(),
        Some(ids[0])
    );
    assert_eq!(
        store.send_by_bird_id("not-ours".to_owned()).await.unwrap(),
        None
    );
}
