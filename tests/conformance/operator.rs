//! What operators do and read: cancel, retry, stats, list, show.

use chrono::Duration;
use msgspool::store::{
    AttemptOutcome, CancelOutcome, JobState, RetryOutcome, SendFilter, SendState, SendUpdate,
    Store, StoreError,
};

use crate::fixtures::{attempt, claimed, failed, job, now, one, sent};

/// Job `id` with one send due now that failed for good; its send id.
async fn failed_send(store: &Store, id: &str) -> i64 {
    let send_id = claimed(store, id).await;
    store
        .record_outcome(
            send_id,
            attempt(now(), Some(422), AttemptOutcome::Failed),
            failed(now()),
        )
        .await
        .unwrap();
    send_id
}

pub async fn a_canceled_job_is_never_claimed(store: &Store) {
    let later = now() + Duration::hours(1);
    store
        .accept_job(job("a", "v1", &[now(), later]), now())
        .await
        .unwrap();

    let outcome = store.cancel_job("a", now()).await.unwrap();

    let CancelOutcome::Canceled {
        scheduled,
        in_flight,
        ..
    } = outcome
    else {
        panic!("not canceled: {outcome:?}");
    };
    assert_eq!((scheduled.len(), in_flight.len()), (2, 0));
    assert!(
        store
            .claim_due(later + Duration::days(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.cancel_job("a", now()).await.unwrap(),
        CancelOutcome::AlreadyCanceled {
            job_id: "a".to_owned()
        }
    );
}

pub async fn canceling_an_unknown_job_or_send_says_so(store: &Store) {
    assert_eq!(
        store.cancel_job("nope", now()).await,
        Err(StoreError::NoSuchJob("nope".to_owned()))
    );
    assert_eq!(
        store.cancel_send(4711, now()).await,
        Err(StoreError::NoSuchSend(4711))
    );
    assert!(store.cancel_jobs(None, now()).await.unwrap().is_empty());
}

pub async fn a_failed_send_is_retried_due_now_with_no_attempts(store: &Store) {
    let id = failed_send(store, "a").await;
    assert_eq!(
        store.job_details("a").await.unwrap().unwrap().job.state,
        JobState::Finished
    );

    let later = now() + Duration::minutes(3);
    let outcome = store.retry_send(id, None, later).await.unwrap();

    assert!(
        matches!(
            outcome,
            RetryOutcome::Scheduled {
                extended: false,
                ..
            }
        ),
        "{outcome:?}"
    );
    let send = one(store, id).await;
    assert_eq!(
        (send.state, send.attempts, send.due()),
        (SendState::Scheduled, 0, later)
    );
    assert_eq!(
        store.job_details("a").await.unwrap().unwrap().job.state,
        JobState::Active
    );
    let again = store.claim_due(later, 10).await.unwrap();
    assert_eq!(again.iter().map(|s| s.send_id).collect::<Vec<_>>(), [id]);
}

pub async fn an_expired_send_is_retried_only_with_a_later_expiry(store: &Store) {
    let id = claimed(store, "a").await;
    let expired = SendUpdate::Expired {
        reason: "validity ran out".to_owned(),
        at: now(),
    };
    store
        .record_outcome(id, attempt(now(), None, AttemptOutcome::Expired), expired)
        .await
        .unwrap();
    let past = one(store, id).await.expires_at + Duration::hours(1);

    let refused = store.retry_send(id, None, past).await.unwrap();
    assert!(
        matches!(refused, RetryOutcome::PastExpiry { .. }),
        "{refused:?}"
    );
    assert_eq!(one(store, id).await.state, SendState::Expired);

    let new_expiry = past + Duration::hours(1);
    let outcome = store.retry_send(id, Some(new_expiry), past).await.unwrap();
    assert_eq!(
        outcome,
        RetryOutcome::Scheduled {
            send_id: id,
            job_id: "a".to_owned(),
            expires_at: new_expiry,
            extended: true
        }
    );
    assert_eq!(one(store, id).await.expires_at, new_expiry);
}

pub async fn a_sent_send_is_not_retried(store: &Store) {
    let id = claimed(store, "a").await;
    store
        .record_outcome(
            id,
            attempt(now(), Some(202), AttemptOutcome::Sent),
            sent(now()),
        )
        .await
        .unwrap();

    let answers = store
        .retry_sends(vec![(id, None), (4711, None)], now())
        .await;

    assert_eq!(
        answers,
        [
            Ok(RetryOutcome::NotRetryable {
                send_id: id,
                state: SendState::Sent
            }),
            Err(StoreError::NoSuchSend(4711)),
        ]
    );
}

pub async fn stats_count_every_state_and_what_finished_recently(store: &Store) {
    failed_send(store, "a").await;
    store
        .accept_job(job("b", "v1", &[now() + Duration::hours(1)]), now())
        .await
        .unwrap();
    store
        .record_rejection("bad.toml", "unknown key", now())
        .await
        .unwrap();

    let stats = store.stats(now() + Duration::minutes(1)).await.unwrap();

    let states: Vec<_> = stats.by_state.iter().map(|(s, _)| *s).collect();
    assert_eq!(states, SendState::ALL);
    let count = |state| {
        stats
            .by_state
            .iter()
            .find(|(s, _)| *s == state)
            .map(|(_, n)| *n)
    };
    assert_eq!(count(SendState::Failed), Some(1));
    assert_eq!(count(SendState::Scheduled), Some(1));
    assert_eq!(count(SendState::Sent), Some(0));
    assert_eq!((stats.last_hour.failed, stats.last_day.failed), (1, 1));
    assert_eq!(stats.rejections_last_day, 1);
    let by_word = store.send_states().await.unwrap();
    assert_eq!(
        (
            by_word[&SendState::Failed],
            by_word[&SendState::Scheduled],
            by_word.len()
        ),
        (1, 1, 7)
    );

    let later = store.stats(now() + Duration::days(2)).await.unwrap();
    assert_eq!((later.last_day.failed, later.rejections_last_day), (0, 0));
}

pub async fn listing_filters_by_state_job_prefix_and_due_time(store: &Store) {
    let (soon, late) = (now() + Duration::hours(1), now() + Duration::hours(5));
    store
        .accept_job(job("order-1", "v1", &[soon]), now())
        .await
        .unwrap();
    store
        .accept_job(job("order-2", "v1", &[late]), now())
        .await
        .unwrap();
    store
        .accept_job(job("promo", "v1", &[soon]), now())
        .await
        .unwrap();
    store.cancel_job("promo", now()).await.unwrap();

    let list = |filter: SendFilter| async move {
        let sends = store.list_sends(filter).await.unwrap();
        sends.into_iter().map(|s| s.job_id).collect::<Vec<_>>()
    };
    let scheduled = SendFilter {
        states: vec![SendState::Scheduled],
        ..SendFilter::default()
    };
    assert_eq!(list(scheduled.clone()).await, ["order-1", "order-2"]);
    let prefixed = SendFilter {
        job_prefix: Some("order-".to_owned()),
        due_before: Some(soon + Duration::minutes(1)),
        ..SendFilter::default()
    };
    assert_eq!(list(prefixed).await, ["order-1"]);
    let canceled = SendFilter {
        states: vec![SendState::Canceled],
        job_id: Some("promo".to_owned()),
        limit: Some(5),
        ..SendFilter::default()
    };
    assert_eq!(list(canceled).await, ["promo"]);
    let one_only = SendFilter {
        limit: Some(1),
        ..scheduled
    };
    assert_eq!(list(one_only).await, ["order-1"]);
}

pub async fn show_tells_a_job_with_its_sends_attempts_and_events(store: &Store) {
    let id = failed_send(store, "a").await;
    store.retry_send(id, None, now()).await.unwrap();

    let details = store.job_details("a").await.unwrap().unwrap();
    assert_eq!(
        (details.job.id.as_str(), details.job.source_name.as_str()),
        ("a", "a.toml")
    );
    assert_eq!(details.sends.len(), 1);
    let outcomes: Vec<_> = details.sends[0]
        .attempts
        .iter()
        .map(|a| a.outcome)
        .collect();
    assert_eq!(outcomes, [AttemptOutcome::Failed]);
    assert_eq!(details.sends[0].attempts[0].http_status, Some(422));
    assert!(details.events.iter().any(|e| e.kind == "retried"));

    let by_send = store.send_details(id).await.unwrap().unwrap();
    assert_eq!((by_send.job.id.as_str(), by_send.sends.len()), ("a", 1));
    assert_eq!(store.job_details("nope").await.unwrap(), None);
    assert_eq!(store.send_details(4711).await.unwrap(), None);
    let source = store.job_source("a").await.unwrap().unwrap();
    assert_eq!(
        (source.state, source.source_text.as_str()),
        (JobState::Active, "v1")
    );
}
