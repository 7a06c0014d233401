//! Accepting job files: inserted, unchanged, replaced, conflict; rejections.

use super::*;
use crate::store::{AcceptOutcome, AttemptOutcome, AttemptRecord, SendUpdate, StoreError};

fn sent(at: DateTime<Utc>) -> (AttemptRecord, SendUpdate) {
    let attempt = AttemptRecord {
        started: at,
        finished: at,
        http_status: Some(202),
        outcome: AttemptOutcome::Sent,
        error: None,
    };
    let update = SendUpdate::Sent {
        bird_message_id: "m-1".to_owned(),
        bird_status: "accepted".to_owned(),
        at,
    };
    (attempt, update)
}

#[tokio::test]
async fn a_new_job_is_inserted_with_its_sends_scheduled() {
    let db = open_db();
    let later = now() + Duration::hours(1);
    let outcome = db
        .store
        .accept_job(
            job("order-1", "v1", &[later, later + Duration::days(1)]),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(outcome, AcceptOutcome::Inserted);
    assert_eq!(job_state(&db, "order-1"), "active");
    assert_eq!(db.text("SELECT source_text FROM jobs"), "v1");
    assert_eq!(
        db.store.send_states().await.unwrap()[&SendState::Scheduled],
        2
    );
    assert_eq!(db.store.next_due().await.unwrap(), Some(later));
}

#[tokio::test]
async fn the_same_job_dropped_again_is_unchanged() {
    let db = open_db();
    let j = job("order-1", "v1", &[now()]);
    db.store.accept_job(j.clone(), now()).await.unwrap();
    let outcome = db.store.accept_job(j, now()).await.unwrap();
    assert_eq!(outcome, AcceptOutcome::Unchanged);
    assert_eq!(db.number("SELECT COUNT(*) FROM sends"), 1);
}

#[tokio::test]
async fn new_content_for_a_job_with_pending_sends_replaces_them() {
    let db = open_db();
    let t = now() + Duration::hours(1);
    db.store
        .accept_job(job("order-1", "v1", &[t]), now())
        .await
        .unwrap();
    let outcome = db
        .store
        .accept_job(job("order-1", "v2", &[t, t + Duration::hours(1)]), now())
        .await
        .unwrap();
    assert_eq!(outcome, AcceptOutcome::Replaced { canceled: 1 });
    assert_eq!(db.text("SELECT source_text FROM jobs"), "v2");
    assert_eq!(
        db.number("SELECT COUNT(*) FROM sends WHERE state = 'scheduled'"),
        2
    );
    assert_eq!(db.number("SELECT COUNT(*) FROM sends"), 2);
    assert_eq!(
        db.text("SELECT kind || ' ' || job_id FROM events"),
        "replaced order-1"
    );
}

#[tokio::test]
async fn new_content_for_a_finished_job_is_a_conflict() {
    let db = open_db();
    db.store
        .accept_job(job("order-1", "v1", &[now()]), now())
        .await
        .unwrap();
    let claimed = db.store.claim_due(now(), 10).await.unwrap();
    let (attempt, update) = sent(now());
    db.store
        .record_outcome(claimed[0].send_id, attempt, update)
        .await
        .unwrap();
    let outcome = db
        .store
        .accept_job(job("order-1", "v2", &[now()]), now())
        .await
        .unwrap();
    let AcceptOutcome::Conflict { reason } = outcome else {
        panic!("expected a conflict, got {outcome:?}");
    };
    assert!(
        reason.contains("order-1") && reason.contains("new id"),
        "{reason}"
    );
    assert_eq!(db.text("SELECT source_text FROM jobs"), "v1");
}

#[tokio::test]
async fn new_content_while_a_send_is_in_flight_is_a_conflict() {
    let db = open_db();
    let later = now() + Duration::hours(1);
    db.store
        .accept_job(job("order-1", "v1", &[now(), later]), now())
        .await
        .unwrap();
    assert_eq!(db.store.claim_due(now(), 10).await.unwrap().len(), 1);
    let outcome = db
        .store
        .accept_job(job("order-1", "v2", &[later]), now())
        .await
        .unwrap();
    assert!(
        matches!(&outcome, AcceptOutcome::Conflict { reason } if reason.contains("in flight")),
        "{outcome:?}"
    );
    assert_eq!(db.number("SELECT COUNT(*) FROM sends"), 2);
}

#[tokio::test]
async fn new_content_repeating_an_occurrence_already_sent_is_a_conflict() {
    let db = open_db();
    let later = now() + Duration::hours(1);
    db.store
        .accept_job(job("daily", "v1", &[now(), later]), now())
        .await
        .unwrap();
    let claimed = db.store.claim_due(now(), 10).await.unwrap();
    let (attempt, update) = sent(now());
    db.store
        .record_outcome(claimed[0].send_id, attempt, update)
        .await
        .unwrap();
    let outcome = db
        .store
        .accept_job(job("daily", "v2", &[now(), later]), now())
        .await
        .unwrap();
    assert!(
        matches!(&outcome, AcceptOutcome::Conflict { reason } if reason.contains("sent send")),
        "{outcome:?}"
    );
    assert_eq!(
        db.number("SELECT COUNT(*) FROM sends WHERE state = 'scheduled'"),
        1
    );
}

#[tokio::test]
async fn accept_jobs_answers_each_job_and_one_bad_job_does_not_sink_the_others() {
    let db = open_db();
    let mut bad = job("bad", "v1", &[now()]);
    bad.kind = JobKind::Cron; // a cron job without a cron expression breaks a CHECK
    let jobs = vec![job("a", "v1", &[now()]), bad, job("b", "v1", &[now()])];
    let results = db.store.accept_jobs(jobs, now()).await;
    assert_eq!(results.len(), 3);
    assert_eq!(results[0], Ok(AcceptOutcome::Inserted));
    assert!(
        matches!(&results[1], Err(StoreError::Constraint(m)) if m.contains("CHECK")),
        "{:?}",
        results[1]
    );
    assert_eq!(results[2], Ok(AcceptOutcome::Inserted));
    assert_eq!(
        db.text("SELECT group_concat(id) FROM (SELECT id FROM jobs ORDER BY id)"),
        "a,b"
    );
    assert_eq!(db.number("SELECT COUNT(*) FROM sends"), 2);
}

#[tokio::test]
async fn a_job_without_sends_is_stored_finished() {
    let db = open_db();
    db.store
        .accept_job(job("empty", "v1", &[]), now())
        .await
        .unwrap();
    assert_eq!(job_state(&db, "empty"), "finished");
}

#[tokio::test]
async fn a_rejection_is_recorded_with_file_time_and_error() {
    let db = open_db();
    db.store
        .record_rejection("bad.toml", "line 3: unknown key `recevier`", now())
        .await
        .unwrap();
    assert_eq!(
        db.text("SELECT file_name || ' ' || rejected_at || ' ' || error FROM rejections"),
        "bad.toml 2026-03-01T10:00:00.000Z line 3: unknown key `recevier`"
    );
}

#[tokio::test]
async fn replacing_a_job_keeps_the_attempts_of_its_tried_sends() {
    use crate::store::{AttemptOutcome, AttemptRecord, SendUpdate};
    let db = open_db();
    let (t1, t2) = (now(), now() + Duration::hours(1));
    db.store
        .accept_job(job("order-1", "v1", &[t1, t2]), now())
        .await
        .unwrap();
    // The first send was tried once (a 503) and waits for its retry.
    let claimed = db.store.claim_due(now(), 1).await.unwrap();
    let attempt = AttemptRecord {
        started: now(),
        finished: now(),
        http_status: Some(503),
        outcome: AttemptOutcome::Retry,
        error: Some("503".to_owned()),
    };
    let retry = SendUpdate::Retry {
        next_attempt: now() + Duration::minutes(1),
        count_attempt: true,
        error: "503".to_owned(),
    };
    db.store
        .record_outcome(claimed[0].send_id, attempt, retry)
        .await
        .unwrap();
    // v2 keeps t1's occurrence and drops t2's; a third occurrence is new.
    let t3 = now() + Duration::hours(2);
    let outcome = db
        .store
        .accept_job(job("order-1", "v2", &[t1, t3]), now())
        .await
        .unwrap();
    assert_eq!(outcome, AcceptOutcome::Replaced { canceled: 2 });
    assert_eq!(
        db.number("SELECT COUNT(*) FROM attempts"),
        1,
        "the attempt was kept"
    );
    assert_eq!(
        db.text(&format!(
            "SELECT state || ' ' || attempts FROM sends WHERE id = {}",
            claimed[0].send_id
        )),
        "scheduled 0",
        "the tried send of a kept occurrence takes the new content, its attempt stays attached"
    );
    assert_eq!(
        db.number("SELECT COUNT(*) FROM sends WHERE state = 'scheduled'"),
        2
    );
    // Re-dropping v1 again brings a replaced occurrence back without a conflict.
    assert!(matches!(
        db.store
            .accept_job(job("order-1", "v3", &[t1]), now())
            .await
            .unwrap(),
        AcceptOutcome::Replaced { .. }
    ));
}
