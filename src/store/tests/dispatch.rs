//! The dispatcher's side: claiming due sends, recording outcomes, recovery, requeue.

use super::*;
use crate::store::{AttemptOutcome, AttemptRecord, ClaimedSend, SendUpdate, StoreError};

fn attempt(outcome: AttemptOutcome, http_status: Option<u16>) -> AttemptRecord {
    AttemptRecord {
        started: now(),
        finished: now() + Duration::milliseconds(300),
        http_status,
        outcome,
        error: None,
    }
}

/// Stores one job with one send due now and claims it.
async fn claimed_send(db: &Db, job_id: &str) -> ClaimedSend {
    db.store
        .accept_job(job(job_id, "v1", &[now()]), now())
        .await
        .unwrap();
    let mut claimed = db.store.claim_due(now(), 1).await.unwrap();
    assert_eq!(claimed.len(), 1);
    claimed.remove(0)
}

fn attempts_of(db: &Db, send_id: i64) -> i64 {
    db.number(&format!("SELECT attempts FROM sends WHERE id = {send_id}"))
}

#[tokio::test]
async fn claim_due_returns_only_due_scheduled_sends_oldest_first_and_marks_them_sending() {
    let db = open_db();
    let (early, earlier, future) = (
        now() - Duration::minutes(1),
        now() - Duration::minutes(5),
        now() + Duration::seconds(1),
    );
    db.store
        .accept_job(job("a", "v1", &[early]), now())
        .await
        .unwrap();
    db.store
        .accept_job(job("b", "v1", &[future]), now())
        .await
        .unwrap();
    db.store
        .accept_job(job("c", "v1", &[earlier]), now())
        .await
        .unwrap();
    db.store
        .accept_job(job("d", "v1", &[now()]), now())
        .await
        .unwrap();

    let claimed = db.store.claim_due(now(), 10).await.unwrap();
    let jobs: Vec<&str> = claimed.iter().map(|s| s.job_id.as_str()).collect();
    assert_eq!(jobs, ["c", "a", "d"]);
    assert_eq!(claimed[0].due, earlier);
    assert_eq!(claimed[0].expires, earlier + Duration::hours(36));
    assert_eq!(claimed[0].channel, "whatsapp");
    assert_eq!(claimed[0].attempts, 0);
    for send in &claimed {
        assert_eq!(send_state(&db, send.send_id), "sending");
    }
    assert_eq!(
        db.text("SELECT DISTINCT claimed_at FROM sends WHERE state = 'sending'"),
        "2026-03-01T10:00:00.000Z"
    );
    assert_eq!(db.store.next_due().await.unwrap(), Some(future));
}

#[tokio::test]
async fn claim_due_takes_no_more_than_its_limit() {
    let db = open_db();
    let times: Vec<_> = (0..5).map(|i| now() - Duration::minutes(i)).collect();
    db.store
        .accept_job(job("a", "v1", &times), now())
        .await
        .unwrap();
    let claimed = db.store.claim_due(now(), 2).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(claimed[0].due, now() - Duration::minutes(4));
    assert_eq!(
        db.store.send_states().await.unwrap()[&SendState::Scheduled],
        3
    );
}

#[tokio::test]
async fn a_claimed_send_is_not_claimed_twice() {
    let db = open_db();
    claimed_send(&db, "a").await;
    assert!(db.store.claim_due(now(), 10).await.unwrap().is_empty());
    assert!(
        db.store
            .claim_due(now() + Duration::days(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(db.store.next_due().await.unwrap(), None);
}

#[tokio::test]
async fn a_sent_outcome_stores_birds_id_counts_the_attempt_and_finishes_the_job() {
    let db = open_db();
    let send = claimed_send(&db, "a").await;
    let update = SendUpdate::Sent {
        bird_message_id: "9f1c".to_owned(),
        bird_status: "accepted".to_owned(),
        at: now() + Duration::seconds(1),
    };
    db.store
        .record_outcome(
            send.send_id,
            attempt(AttemptOutcome::Sent, Some(202)),
            update,
        )
        .await
        .unwrap();
    assert_eq!(
        db.text(
            "SELECT state || ' ' || bird_message_id || ' ' || bird_status || ' ' || finished_at
             FROM sends"
        ),
        "sent 9f1c accepted 2026-03-01T10:00:01.000Z"
    );
    assert_eq!(attempts_of(&db, send.send_id), 1);
    assert_eq!(
        db.text("SELECT outcome || ' ' || http_status FROM attempts"),
        "sent 202"
    );
    assert_eq!(job_state(&db, "a"), "finished");
}

#[tokio::test]
async fn a_retry_goes_back_to_scheduled_and_counts_only_when_asked() {
    let db = open_db();
    let send = claimed_send(&db, "a").await;
    let next = now() + Duration::seconds(10);
    let retry = |count_attempt| SendUpdate::Retry {
        next_attempt: next,
        count_attempt,
        error: "HTTP 503".to_owned(),
    };
    db.store
        .record_outcome(
            send.send_id,
            attempt(AttemptOutcome::Retry, Some(503)),
            retry(true),
        )
        .await
        .unwrap();
    assert_eq!(send_state(&db, send.send_id), "scheduled");
    assert_eq!(attempts_of(&db, send.send_id), 1);
    assert_eq!(db.text("SELECT last_error FROM sends"), "HTTP 503");
    assert_eq!(db.store.next_due().await.unwrap(), Some(next));

    let again = db.store.claim_due(next, 10).await.unwrap();
    assert_eq!(again[0].attempts, 1);
    db.store
        .record_outcome(
            send.send_id,
            attempt(AttemptOutcome::Throttled, Some(429)),
            retry(false),
        )
        .await
        .unwrap();
    assert_eq!(attempts_of(&db, send.send_id), 1);
    assert_eq!(db.number("SELECT COUNT(*) FROM attempts"), 2);
    assert_eq!(job_state(&db, "a"), "active");
}

#[tokio::test]
async fn a_failed_outcome_keeps_birds_code_message_and_details() {
    let db = open_db();
    let send = claimed_send(&db, "a").await;
    let update = SendUpdate::Failed {
        code: Some("InvalidPayload".to_owned()),
        message: "receiver is not valid".to_owned(),
        details: Some(r#"{"receiver":["invalid phone number"]}"#.to_owned()),
        at: now(),
    };
    db.store
        .record_outcome(
            send.send_id,
            attempt(AttemptOutcome::Failed, Some(422)),
            update,
        )
        .await
        .unwrap();
    assert_eq!(
        db.text("SELECT state || '|' || error_code || '|' || error_message || '|' || last_error FROM sends"),
        "failed|InvalidPayload|receiver is not valid|InvalidPayload: receiver is not valid"
    );
    assert_eq!(
        db.text("SELECT error_details ->> '$.receiver[0]' FROM sends"),
        "invalid phone number"
    );
    assert_eq!(attempts_of(&db, send.send_id), 1);
    assert_eq!(job_state(&db, "a"), "finished");
}

#[tokio::test]
async fn details_that_are_not_json_are_kept_as_a_json_string() {
    let db = open_db();
    let send = claimed_send(&db, "a").await;
    let update = SendUpdate::Failed {
        code: None,
        message: "bad request".to_owned(),
        details: Some("<html>oops</html>".to_owned()),
        at: now(),
    };
    db.store
        .record_outcome(
            send.send_id,
            attempt(AttemptOutcome::Failed, Some(400)),
            update,
        )
        .await
        .unwrap();
    assert_eq!(
        db.text("SELECT error_details FROM sends"),
        r#""<html>oops</html>""#
    );
    assert_eq!(db.text("SELECT last_error FROM sends"), "bad request");
}

#[tokio::test]
async fn an_expired_outcome_ends_the_send_without_counting_a_request_never_made() {
    let db = open_db();
    let send = claimed_send(&db, "a").await;
    let update = SendUpdate::Expired {
        reason: "validity ran out before the send could be made".to_owned(),
        at: now(),
    };
    db.store
        .record_outcome(send.send_id, attempt(AttemptOutcome::Expired, None), update)
        .await
        .unwrap();
    assert_eq!(send_state(&db, send.send_id), "expired");
    assert_eq!(attempts_of(&db, send.send_id), 0);
    assert_eq!(
        db.text("SELECT last_error FROM sends"),
        "validity ran out before the send could be made"
    );
    assert_eq!(job_state(&db, "a"), "finished");
}

#[tokio::test]
async fn a_job_stays_active_while_another_of_its_sends_is_pending() {
    let db = open_db();
    db.store
        .accept_job(job("a", "v1", &[now(), now() + Duration::hours(1)]), now())
        .await
        .unwrap();
    let claimed = db.store.claim_due(now(), 10).await.unwrap();
    let update = SendUpdate::Sent {
        bird_message_id: "m".to_owned(),
        bird_status: "accepted".to_owned(),
        at: now(),
    };
    db.store
        .record_outcome(
            claimed[0].send_id,
            attempt(AttemptOutcome::Sent, Some(202)),
            update,
        )
        .await
        .unwrap();
    assert_eq!(job_state(&db, "a"), "active");
}

#[tokio::test]
async fn an_outcome_for_an_unknown_send_is_an_error() {
    let db = open_db();
    let update = SendUpdate::Expired {
        reason: "x".to_owned(),
        at: now(),
    };
    let result = db
        .store
        .record_outcome(42, attempt(AttemptOutcome::Expired, None), update)
        .await;
    assert_eq!(result, Err(StoreError::NoSuchSend(42)));
}

#[tokio::test]
async fn recover_interrupted_schedules_sending_sends_again_with_an_interrupted_attempt() {
    let db = open_db();
    db.store
        .accept_job(
            job("a", "v1", &[now(), now() - Duration::minutes(1)]),
            now(),
        )
        .await
        .unwrap();
    db.store.claim_due(now(), 10).await.unwrap();
    let restart = now() + Duration::minutes(3);

    assert_eq!(db.store.recover_interrupted(restart).await.unwrap(), 2);

    let states = db.store.send_states().await.unwrap();
    assert_eq!(
        (states[&SendState::Scheduled], states[&SendState::Sending]),
        (2, 0)
    );
    assert_eq!(db.store.next_due().await.unwrap(), Some(restart));
    assert_eq!(
        db.number(
            "SELECT COUNT(*) FROM attempts WHERE outcome = 'interrupted'
             AND started_at = '2026-03-01T10:00:00.000Z' AND finished_at = '2026-03-01T10:03:00.000Z'"
        ),
        2
    );
    assert_eq!(db.number("SELECT SUM(attempts) FROM sends"), 0);
    assert_eq!(
        db.text("SELECT kind || ': ' || detail FROM events"),
        "recovered: recovered 2 interrupted send(s): scheduled again, due now (or at their instant)"
    );
    assert_eq!(db.store.recover_interrupted(restart).await.unwrap(), 0);
    assert_eq!(db.number("SELECT COUNT(*) FROM events"), 1);
}

#[tokio::test]
async fn requeue_puts_claimed_sends_back_as_they_were_due_with_an_uncounted_interrupted_attempt() {
    let db = open_db();
    let send = claimed_send(&db, "a").await;
    db.store
        .requeue(vec![send.send_id, 999], now() + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(send_state(&db, send.send_id), "scheduled");
    assert_eq!(db.store.next_due().await.unwrap(), Some(now()));
    assert_eq!(
        db.text("SELECT group_concat(outcome) FROM attempts"),
        "interrupted"
    );
    assert_eq!(attempts_of(&db, send.send_id), 0);
}

#[tokio::test]
async fn send_states_counts_every_state_including_empty_ones() {
    let db = open_db();
    db.store
        .accept_job(job("a", "v1", &[now(), now() + Duration::hours(1)]), now())
        .await
        .unwrap();
    db.store.claim_due(now(), 10).await.unwrap();
    let states = db.store.send_states().await.unwrap();
    let expected = [
        ("canceled", 0),
        ("expired", 0),
        ("failed", 0),
        ("replaced", 0),
        ("scheduled", 1),
        ("sending", 1),
        ("sent", 0),
    ];
    let mut states: Vec<(&str, i64)> = states.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    states.sort();
    assert_eq!(states, expected);
}

#[tokio::test]
async fn a_clock_jumping_forward_makes_what_became_due_claimable_at_once() {
    let db = open_db();
    let later = now() + Duration::hours(3);
    db.store
        .accept_job(job("later", "v1", &[later]), now())
        .await
        .unwrap();
    assert!(db.store.claim_due(now(), 10).await.unwrap().is_empty());
    // The wall clock steps forward by four hours: the send is due and is claimed.
    let stepped = now() + Duration::hours(4);
    let claimed = db.store.claim_due(stepped, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].due, later);
}

#[tokio::test]
async fn a_clock_jumping_back_re_sends_nothing_already_sent() {
    let db = open_db();
    let send = claimed_send(&db, "once").await;
    db.store
        .record_outcome(
            send.send_id,
            attempt(AttemptOutcome::Sent, Some(202)),
            SendUpdate::Sent {
                bird_message_id: "m".into(),
                bird_status: "accepted".into(),
                at: now(),
            },
        )
        .await
        .unwrap();
    for step in [-Duration::hours(2), Duration::zero(), Duration::days(1)] {
        assert!(
            db.store
                .claim_due(now() + step, 10)
                .await
                .unwrap()
                .is_empty(),
            "a sent send was claimed again at now {step}"
        );
    }
}

#[tokio::test]
async fn store_errors_are_classified_as_transient_permanent_or_fatal() {
    use crate::store::ErrorClass;
    let db = open_db();
    db.store
        .accept_job(job("a", "v1", &[now()]), now())
        .await
        .unwrap();
    let holder = db.raw();
    let constraint = holder
        .execute("UPDATE sends SET state = 'pending'", [])
        .unwrap_err();
    assert_eq!(StoreError::from(constraint).class(), ErrorClass::Permanent);
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let other = db.raw();
    other.busy_timeout(std::time::Duration::ZERO).unwrap();
    let busy = other.execute_batch("BEGIN IMMEDIATE").unwrap_err();
    assert_eq!(StoreError::from(busy).class(), ErrorClass::Transient);
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(StoreError::WriterGone.class(), ErrorClass::Fatal);
    let bad = StoreError::BadValue {
        column: "sends.due_at",
        value: "x".into(),
    };
    assert_eq!(bad.class(), ErrorClass::Permanent);
}

#[tokio::test]
async fn a_claimed_send_carries_its_jobs_ignore_quiet_hours_as_a_typed_field() {
    let db = open_db();
    let mut ignoring = job("quiet", "v1", &[now()]);
    ignoring.sends[0].payload = r#"{"ignoreQuietHours":true,"body":{"type":"text"}}"#.to_owned();
    db.store.accept_job(ignoring, now()).await.unwrap();
    let mut not_true = job("loud", "v1", &[now()]);
    not_true.sends[0].payload = r#"{"ignoreQuietHours":"true"}"#.to_owned();
    db.store.accept_job(not_true, now()).await.unwrap();
    db.store
        .accept_job(job("plain", "v1", &[now()]), now())
        .await
        .unwrap();
    let claimed = db.store.claim_due(now(), 10).await.unwrap();
    let mut got: Vec<(&str, bool)> = claimed
        .iter()
        .map(|s| (s.job_id.as_str(), s.ignore_quiet_hours))
        .collect();
    got.sort();
    assert_eq!(got, [("loud", false), ("plain", false), ("quiet", true)]);
}

/// With a million sends, counting them (`STATUS=`, `stats`, an operator's list) holds a
/// read-only connection for tens of milliseconds; the reads a due send waits on must not
/// queue behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dispatchers_reads_do_not_wait_behind_a_long_read() {
    let db = open_db();
    let sent = claimed_send(&db, "a").await;
    let (release, held) = std::sync::mpsc::channel::<()>();
    let (holding, started) = tokio::sync::oneshot::channel();
    // Stands for a long count: holds the general read connection until released.
    let long_read = db.store.read(move |_conn| {
        let _ = holding.send(());
        let _ = held.recv_timeout(std::time::Duration::from_secs(60));
        Ok(())
    });
    let long_read = tokio::spawn(long_read);
    started.await.unwrap();

    let within = std::time::Duration::from_secs(10);
    let states = tokio::time::timeout(within, db.store.send_states_of(vec![sent.send_id])).await;
    let one = tokio::time::timeout(within, db.store.send_state(sent.send_id)).await;
    let next = tokio::time::timeout(within, db.store.next_due()).await;
    release.send(()).unwrap();
    long_read.await.unwrap().unwrap();

    let states = states
        .expect("the group's re-read waited for the long read")
        .unwrap();
    assert_eq!(states.get(&sent.send_id), Some(&SendState::Sending));
    let one = one.expect("a send's own re-read waited for the long read");
    assert_eq!(one.unwrap(), Some(SendState::Sending));
    let next = next.expect("the next due time waited for the long read");
    assert_eq!(next.unwrap(), None);
}
