//! The operator's side: list, show and stats reads; cancel and retry writes; read-only
//! opening.

use super::*;
use crate::store::{
    AttemptOutcome, AttemptRecord, CancelOutcome, JobState, RetryOutcome, SendFilter, SendState,
    SendUpdate, StoreError,
};

/// Stores job `id` with one send due now and lets it fail for good (HTTP 422); returns
/// its send id.
async fn failed_send(db: &Db, id: &str) -> i64 {
    db.store
        .accept_job(job(id, "v1", &[now()]), now())
        .await
        .unwrap();
    let claimed = db.store.claim_due(now(), 1).await.unwrap();
    let attempt = AttemptRecord {
        started: now(),
        finished: now(),
        http_status: Some(422),
        outcome: AttemptOutcome::Failed,
        error: Some("HTTP 422".to_owned()),
    };
    let failed = SendUpdate::Failed {
        code: Some("InvalidPayload".to_owned()),
        message: "receiver is not valid".to_owned(),
        details: None,
        at: now(),
    };
    db.store
        .record_outcome(claimed[0].send_id, attempt, failed)
        .await
        .unwrap();
    claimed[0].send_id
}

#[tokio::test]
async fn canceling_a_job_cancels_its_scheduled_sends_and_nothing_is_claimed_afterwards() {
    let db = open_db();
    let later = now() + Duration::hours(1);
    db.store
        .accept_job(job("a", "v1", &[now(), later]), now())
        .await
        .unwrap();
    let outcome = db.store.cancel_job("a", now()).await.unwrap();
    let CancelOutcome::Canceled {
        scheduled,
        in_flight,
        ..
    } = outcome
    else {
        panic!("not canceled: {outcome:?}");
    };
    assert_eq!(scheduled.len(), 2);
    assert!(in_flight.is_empty());
    assert_eq!(job_state(&db, "a"), "canceled");
    assert!(
        db.store
            .claim_due(later + Duration::days(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(db.store.next_due().await.unwrap(), None);
    assert_eq!(
        db.text("SELECT kind FROM events WHERE job_id = 'a'"),
        "canceled"
    );
}

#[tokio::test]
async fn a_send_in_flight_when_its_job_is_canceled_stays_canceled_keeping_birds_id_if_bird_accepts_it()
 {
    let db = open_db();
    db.store
        .accept_job(job("a", "v1", &[now()]), now())
        .await
        .unwrap();
    let claimed = db.store.claim_due(now(), 1).await.unwrap();
    let outcome = db.store.cancel_job("a", now()).await.unwrap();
    assert!(
        matches!(&outcome, CancelOutcome::Canceled { in_flight, .. } if in_flight == &[claimed[0].send_id])
    );
    let sent = SendUpdate::Sent {
        bird_message_id: "m-1".to_owned(),
        bird_status: "accepted".to_owned(),
        at: now(),
    };
    record_outcome_of(&db, claimed[0].send_id, AttemptOutcome::Sent, sent).await;
    assert_eq!(send_state(&db, claimed[0].send_id), "canceled");
    assert_eq!(
        db.text("SELECT bird_message_id || ' ' || bird_status FROM sends"),
        "m-1 accepted"
    );
    assert_eq!(job_state(&db, "a"), "canceled");
}

#[tokio::test]
async fn a_send_in_flight_when_its_job_is_canceled_is_not_scheduled_again_after_a_server_error() {
    let db = open_db();
    db.store
        .accept_job(job("a", "v1", &[now()]), now())
        .await
        .unwrap();
    let claimed = db.store.claim_due(now(), 1).await.unwrap();
    db.store.cancel_job("a", now()).await.unwrap();
    let retry = SendUpdate::Retry {
        next_attempt: now(),
        count_attempt: true,
        error: "HTTP 503".to_owned(),
    };
    record_outcome_of(&db, claimed[0].send_id, AttemptOutcome::Retry, retry).await;
    assert_eq!(send_state(&db, claimed[0].send_id), "canceled");
    assert!(db.store.claim_due(now(), 10).await.unwrap().is_empty());
}

/// Records an outcome, with no HTTP answer, for a send claimed earlier.
async fn record_outcome_of(db: &Db, send_id: i64, outcome: AttemptOutcome, update: SendUpdate) {
    let attempt = AttemptRecord {
        started: now(),
        finished: now(),
        http_status: None,
        outcome,
        error: None,
    };
    db.store
        .record_outcome(send_id, attempt, update)
        .await
        .unwrap();
}

#[tokio::test]
async fn canceling_a_finished_job_changes_nothing_and_says_it_had_ended() {
    let db = open_db();
    failed_send(&db, "a").await;
    assert_eq!(
        db.store.cancel_job("a", now()).await.unwrap(),
        CancelOutcome::AlreadyEnded {
            job_id: "a".to_owned(),
            state: "finished"
        }
    );
    assert_eq!(job_state(&db, "a"), "finished");
}

#[tokio::test]
async fn canceling_twice_says_already_canceled() {
    let db = open_db();
    db.store
        .accept_job(job("a", "v1", &[now()]), now())
        .await
        .unwrap();
    db.store.cancel_job("a", now()).await.unwrap();
    assert_eq!(
        db.store.cancel_job("a", now()).await.unwrap(),
        CancelOutcome::AlreadyCanceled {
            job_id: "a".to_owned()
        }
    );
}

#[tokio::test]
async fn canceling_an_unknown_job_or_send_is_a_not_found_error() {
    let db = open_db();
    assert_eq!(
        db.store.cancel_job("nope", now()).await,
        Err(StoreError::NoSuchJob("nope".to_owned()))
    );
    assert_eq!(
        db.store.cancel_send(42, now()).await,
        Err(StoreError::NoSuchSend(42))
    );
}

#[tokio::test]
async fn canceling_the_last_pending_send_of_a_job_finishes_the_job() {
    let db = open_db();
    let later = now() + Duration::hours(1);
    db.store
        .accept_job(job("a", "v1", &[now(), later]), now())
        .await
        .unwrap();
    let first = db.number("SELECT MIN(id) FROM sends");
    let second = db.number("SELECT MAX(id) FROM sends");
    db.store.cancel_send(first, now()).await.unwrap();
    assert_eq!(send_state(&db, first), "canceled");
    assert_eq!(job_state(&db, "a"), "active");
    db.store.cancel_send(second, now()).await.unwrap();
    assert_eq!(job_state(&db, "a"), "finished");
}

#[tokio::test]
async fn canceling_all_jobs_with_a_prefix_leaves_other_jobs_alone() {
    let db = open_db();
    for id in ["promo-1", "promo-2", "order-1"] {
        db.store
            .accept_job(job(id, "v1", &[now()]), now())
            .await
            .unwrap();
    }
    let outcomes = db.store.cancel_jobs(Some("promo-"), now()).await.unwrap();
    assert_eq!(outcomes.len(), 2);
    assert_eq!(job_state(&db, "promo-1"), "canceled");
    assert_eq!(job_state(&db, "promo-2"), "canceled");
    assert_eq!(job_state(&db, "order-1"), "active");
}

#[tokio::test]
async fn retrying_a_failed_send_schedules_it_now_with_no_attempts_and_reactivates_its_job() {
    let db = open_db();
    let send_id = failed_send(&db, "a").await;
    let later = now() + Duration::minutes(5);
    let outcome = db.store.retry_send(send_id, None, later).await.unwrap();
    assert!(matches!(
        outcome,
        RetryOutcome::Scheduled {
            extended: false,
            ..
        }
    ));
    assert_eq!(
        db.text("SELECT state || ' ' || attempts || ' ' || next_attempt_at FROM sends"),
        "scheduled 0 2026-03-01T10:05:00.000Z"
    );
    assert_eq!(db.number("SELECT error_code IS NULL FROM sends"), 1);
    assert_eq!(job_state(&db, "a"), "active");
    assert_eq!(db.store.claim_due(later, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn retrying_a_send_past_its_expiry_is_refused_unless_a_new_expiry_is_given() {
    let db = open_db();
    let send_id = failed_send(&db, "a").await;
    let past_expiry = now() + Duration::hours(37);
    assert_eq!(
        db.store
            .retry_send(send_id, None, past_expiry)
            .await
            .unwrap(),
        RetryOutcome::PastExpiry {
            send_id,
            expires_at: now() + Duration::hours(36)
        }
    );
    assert_eq!(send_state(&db, send_id), "failed");
    let new_expiry = past_expiry + Duration::hours(1);
    let outcome = db
        .store
        .retry_send(send_id, Some(new_expiry), past_expiry)
        .await
        .unwrap();
    assert!(
        matches!(outcome, RetryOutcome::Scheduled { extended: true, expires_at, .. } if expires_at == new_expiry)
    );
}

#[tokio::test]
async fn retrying_a_send_that_did_not_fail_or_expire_is_refused() {
    let db = open_db();
    db.store
        .accept_job(job("a", "v1", &[now()]), now())
        .await
        .unwrap();
    let send_id = db.number("SELECT id FROM sends");
    assert_eq!(
        db.store.retry_send(send_id, None, now()).await.unwrap(),
        RetryOutcome::NotRetryable {
            send_id,
            state: SendState::Scheduled
        }
    );
}

#[tokio::test]
async fn listing_filters_by_state_job_prefix_and_due_time_soonest_first() {
    let db = open_db();
    let (soon, later) = (now() + Duration::hours(1), now() + Duration::hours(2));
    db.store
        .accept_job(job("b-1", "v1", &[later]), now())
        .await
        .unwrap();
    db.store
        .accept_job(job("a-1", "v1", &[soon]), now())
        .await
        .unwrap();
    failed_send(&db, "a-2").await;

    let all = db.store.list_sends(SendFilter::default()).await.unwrap();
    let jobs: Vec<&str> = all.iter().map(|s| s.job_id.as_str()).collect();
    assert_eq!(jobs, ["a-2", "a-1", "b-1"]);

    let scheduled = SendFilter {
        states: vec![SendState::Scheduled],
        ..SendFilter::default()
    };
    assert_eq!(db.store.list_sends(scheduled).await.unwrap().len(), 2);

    let prefixed_and_soon = SendFilter {
        job_prefix: Some("a-".to_owned()),
        due_before: Some(later),
        limit: Some(1),
        ..SendFilter::default()
    };
    let rows = db.store.list_sends(prefixed_and_soon).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].job_id, "a-2");
    assert_eq!(rows[0].state, SendState::Failed);
}

#[tokio::test]
async fn job_details_hold_every_send_with_its_attempts_and_the_jobs_events() {
    let db = open_db();
    let send_id = failed_send(&db, "a").await;
    db.store.retry_send(send_id, None, now()).await.unwrap();
    let details = db.store.job_details("a").await.unwrap().unwrap();
    assert_eq!(details.job.state, JobState::Active);
    assert_eq!(details.job.source_text, "v1");
    assert_eq!(details.sends.len(), 1);
    let attempts = &details.sends[0].attempts;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].http_status, Some(422));
    assert_eq!(attempts[0].outcome, AttemptOutcome::Failed);
    assert_eq!(details.events[0].kind, "retried");
    assert_eq!(db.store.job_details("nope").await.unwrap(), None);
    let one = db.store.send_details(send_id).await.unwrap().unwrap();
    assert_eq!(one.job.id, "a");
}

#[tokio::test]
async fn stats_count_states_and_what_finished_in_the_last_hour_and_day() {
    let db = open_db();
    failed_send(&db, "a").await;
    db.store
        .accept_job(job("b", "v1", &[now() + Duration::hours(1)]), now())
        .await
        .unwrap();
    db.store
        .record_rejection("bad.toml", "oops", now())
        .await
        .unwrap();
    let stats = db.store.stats(now() + Duration::hours(2)).await.unwrap();
    assert_eq!(stats.by_state[0], (SendState::Scheduled, 1));
    assert!(stats.by_state.contains(&(SendState::Failed, 1)));
    assert_eq!(stats.last_hour.failed, 0);
    assert_eq!(stats.last_day.failed, 1);
    assert_eq!(stats.rejections_last_day, 1);
}

#[tokio::test]
async fn a_store_opened_read_only_reads_but_refuses_writes() {
    let db = open_db();
    db.store
        .accept_job(job("a", "v1", &[now()]), now())
        .await
        .unwrap();
    let reader = SqliteStore::open_read_only(&db.path).unwrap();
    assert_eq!(
        reader
            .list_sends(SendFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        reader.cancel_job("a", now()).await,
        Err(StoreError::ReadOnly)
    );
    assert_eq!(job_state(&db, "a"), "active");
}

#[test]
fn opening_read_only_a_file_that_is_not_a_msgspool_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    assert!(matches!(
        SqliteStore::open_read_only(&path),
        Err(StoreError::NotMigrated { found: 0, .. })
    ));
    assert!(matches!(
        SqliteStore::open_read_only(&dir.path().join("missing.db")),
        Err(StoreError::Open { .. })
    ));
}

/// A recurring job with one send per occurrence.
fn cron_job(id: &str, occurrences: &[DateTime<Utc>]) -> crate::store::NewJob {
    crate::store::NewJob {
        kind: JobKind::Cron,
        cron: Some("0 9 * * *".to_owned()),
        timezone: Some("UTC".to_owned()),
        ..job(id, "v1", occurrences)
    }
}

#[tokio::test]
async fn canceling_one_occurrence_of_a_recurring_job_is_refused() {
    let db = open_db();
    db.store
        .accept_job(cron_job("daily", &[now()]), now())
        .await
        .unwrap();
    let send_id = db.number("SELECT id FROM sends");
    assert_eq!(
        db.store.cancel_send(send_id, now()).await.unwrap(),
        CancelOutcome::RecurringSend {
            job_id: "daily".to_owned()
        }
    );
    assert_eq!(send_state(&db, send_id), "scheduled");
}

#[tokio::test]
async fn retrying_a_send_of_a_canceled_job_is_refused() {
    let db = open_db();
    let later = now() + Duration::hours(1);
    db.store
        .accept_job(job("a", "v1", &[now(), later]), now())
        .await
        .unwrap();
    let claimed = db.store.claim_due(now(), 1).await.unwrap();
    let failed = SendUpdate::Failed {
        code: None,
        message: "bad".to_owned(),
        details: None,
        at: now(),
    };
    record_outcome_of(&db, claimed[0].send_id, AttemptOutcome::Failed, failed).await;
    db.store.cancel_job("a", now()).await.unwrap();
    assert_eq!(
        db.store
            .retry_send(claimed[0].send_id, None, now())
            .await
            .unwrap(),
        RetryOutcome::JobCanceled {
            send_id: claimed[0].send_id,
            job_id: "a".to_owned()
        }
    );
}

#[tokio::test]
async fn retrying_an_occurrence_whose_next_occurrence_is_due_is_refused() {
    let db = open_db();
    let (first, next) = (now() - Duration::days(1), now() + Duration::hours(1));
    db.store
        .accept_job(cron_job("daily", &[first, next]), first)
        .await
        .unwrap();
    let claimed = db.store.claim_due(first, 1).await.unwrap();
    let failed = SendUpdate::Failed {
        code: None,
        message: "bad".to_owned(),
        details: None,
        at: first,
    };
    record_outcome_of(&db, claimed[0].send_id, AttemptOutcome::Failed, failed).await;
    let send_id = claimed[0].send_id;
    let after_next = next + Duration::minutes(1);
    assert_eq!(
        db.store
            .retry_send(send_id, None, after_next)
            .await
            .unwrap(),
        RetryOutcome::Overtaken {
            send_id,
            job_id: "daily".to_owned(),
            next
        }
    );
    assert!(matches!(
        db.store.retry_send(send_id, None, now()).await.unwrap(),
        RetryOutcome::Scheduled { .. }
    ));
}
