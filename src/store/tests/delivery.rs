//! The reconcile mark and delivery statuses (`store/delivery.rs`).

use super::*;
use crate::delivery::DeliveryStatus;
use crate::store::{AttemptOutcome, AttemptRecord, DeliveryBackend, DeliveryUpdate, SendUpdate};

fn attempt(outcome: AttemptOutcome, started: DateTime<Utc>) -> AttemptRecord {
    AttemptRecord {
        started,
        finished: started + Duration::seconds(5),
        http_status: None,
        outcome,
        error: Some("timeout".to_owned()),
    }
}

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

async fn one_sent_send(db: &Db) -> i64 {
    db.store
        .accept_job(job("a", "v1", &[now()]), now())
        .await
        .unwrap();
    let send = db.store.claim_due(now(), 1).await.unwrap().remove(0);
    let sent = SendUpdate::Sent {
        bird_message_id: "bird-1".to_owned(),
        bird_status: "accepted".to_owned(),
        at: now(),
    };
    db.store
        .record_outcome(send.send_id, attempt(AttemptOutcome::Sent, now()), sent)
        .await
        .unwrap();
    send.send_id
}

#[tokio::test]
async fn an_unknown_outcome_marks_the_send_for_reconciliation_until_a_look_up_settles_it() {
    let db = open_db();
    db.store
        .accept_job(job("a", "v1", &[now()]), now())
        .await
        .unwrap();
    let send = db.store.claim_due(now(), 1).await.unwrap().remove(0);
    assert_eq!(send.reconcile_from, None);
    let retry = SendUpdate::Retry {
        next_attempt: now(),
        count_attempt: true,
        error: "timeout".to_owned(),
    };
    db.store
        .record_outcome(send.send_id, attempt(AttemptOutcome::Unknown, now()), retry)
        .await
        .unwrap();
    let again = db.store.claim_due(now(), 1).await.unwrap().remove(0);
    assert_eq!(
        again.reconcile_from,
        Some(now()),
        "the unknown attempt's start"
    );
    assert_eq!(again.attempts, 1, "the unknown POST counts");
    db.store
        .record_lookup(send.send_id, attempt(AttemptOutcome::NotFound, now()))
        .await
        .unwrap();
    let cleared = db.text("SELECT COALESCE(reconcile_from, 'none') FROM sends");
    assert_eq!(cleared, "none");
}

#[tokio::test]
async fn a_send_interrupted_by_a_crash_is_looked_up_before_it_is_posted_again() {
    let db = open_db();
    db.store
        .accept_job(job("a", "v1", &[now()]), now())
        .await
        .unwrap();
    db.store.claim_due(now(), 1).await.unwrap();
    db.store
        .recover_interrupted(now() + Duration::seconds(9))
        .await
        .unwrap();
    let again = db
        .store
        .claim_due(now() + Duration::seconds(9), 1)
        .await
        .unwrap();
    assert_eq!(again[0].reconcile_from, Some(now()), "from the claim");
}

#[tokio::test]
async fn a_delivery_status_only_moves_forward_and_each_status_is_one_event() {
    let db = open_db();
    let id = one_sent_send(&db).await;
    let t = |s: i64| now() + Duration::seconds(s);
    let store = &db.store;
    assert!(
        store
            .record_delivery(id, update(DeliveryStatus::Delivered, t(20)), t(21))
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_delivery(id, update(DeliveryStatus::Sent, t(10)), t(22))
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_delivery(id, update(DeliveryStatus::Delivered, t(20)), t(23))
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_delivery(id, update(DeliveryStatus::DeliveryFailed, t(30)), t(24))
            .await
            .unwrap()
    );
    assert_eq!(db.text("SELECT delivery_status FROM sends"), "delivered");
    assert_eq!(
        db.number("SELECT count(*) FROM delivery_events"),
        3,
        "delivered, sent, delivery_failed"
    );
    assert!(
        store
            .record_delivery(id, update(DeliveryStatus::Read, t(40)), t(41))
            .await
            .unwrap()
    );
    assert_eq!(db.text("SELECT delivery_status FROM sends"), "read");
    assert_eq!(
        db.text("SELECT read_at FROM sends"),
        "2026-03-01T10:00:40.000Z"
    );
}

#[tokio::test]
async fn a_sent_message_is_due_for_polling_after_the_first_wait_and_a_final_status_ends_it() {
    let db = open_db();
    let id = one_sent_send(&db).await;
    let first = std::time::Duration::from_secs(30);
    let sent_at = now() + Duration::seconds(5);
    let early = db
        .store
        .due_polls(sent_at + Duration::seconds(29), first, 10)
        .await
        .unwrap();
    assert!(early.is_empty(), "not before the first wait");
    let due = db
        .store
        .due_polls(sent_at + Duration::seconds(30), first, 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].bird_message_id.as_deref(), Some("bird-1"));
    let later = Some(sent_at + Duration::seconds(150));
    let found = update(DeliveryStatus::Delivered, sent_at + Duration::seconds(20));
    db.store
        .record_poll(id, Some(found), later, sent_at + Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(
        db.text("SELECT COALESCE(next_poll_at, 'none') FROM sends"),
        "none"
    );
    assert_eq!(db.number("SELECT polls FROM sends"), 1);
}
