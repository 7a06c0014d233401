//! Accepting jobs: new, unchanged, replaced or a conflict, one answer per job.

use chrono::Duration;
use msgspool::store::{AcceptOutcome, AttemptOutcome, JobState, SendState, Store};

use crate::fixtures::{all_sends, attempt, claimed, cron_job, in_state, job, now, send, sent};

pub async fn an_occurrence_is_stored_once_per_job(store: &Store) {
    store
        .accept_job(cron_job("daily", now()), now())
        .await
        .unwrap();
    let tomorrow = now() + Duration::days(1);

    assert!(
        store
            .add_occurrence("daily", send(tomorrow), None, now())
            .await
            .unwrap()
    );
    assert!(
        !store
            .add_occurrence("daily", send(tomorrow), None, now())
            .await
            .unwrap()
    );
    // An occurrence the job already has from intake is not added either.
    assert!(
        !store
            .add_occurrence("daily", send(now()), None, now())
            .await
            .unwrap()
    );
    // Nor is one for a job that does not exist.
    assert!(
        !store
            .add_occurrence("nope", send(tomorrow), None, now())
            .await
            .unwrap()
    );

    let occurrences: Vec<_> = all_sends(store)
        .await
        .iter()
        .map(|s| s.occurrence_at)
        .collect();
    assert_eq!(occurrences, [now(), tomorrow]);
}

pub async fn an_identical_job_accepted_again_is_unchanged(store: &Store) {
    let first = store
        .accept_job(job("a", "v1", &[now()]), now())
        .await
        .unwrap();
    let again = store
        .accept_job(job("a", "v1", &[now()]), now() + Duration::minutes(1))
        .await
        .unwrap();

    assert_eq!(
        (first, again),
        (AcceptOutcome::Inserted, AcceptOutcome::Unchanged)
    );
    assert_eq!(all_sends(store).await.len(), 1);
    let details = store.job_details("a").await.unwrap().unwrap();
    assert_eq!(details.job.updated_at, now());
}

pub async fn new_content_replaces_the_pending_sends(store: &Store) {
    let (later, latest) = (now() + Duration::hours(1), now() + Duration::hours(2));
    store
        .accept_job(job("a", "v1", &[later, latest]), now())
        .await
        .unwrap();

    let answer = store
        .accept_job(job("a", "v2", &[latest]), now())
        .await
        .unwrap();

    assert_eq!(answer, AcceptOutcome::Replaced { canceled: 2 });
    let scheduled = in_state(store, "a", SendState::Scheduled).await;
    assert_eq!(scheduled.len(), 1);
    assert_eq!(scheduled[0].occurrence_at, latest);
    let details = store.job_details("a").await.unwrap().unwrap();
    assert_eq!(details.job.source_text, "v2");
    assert_eq!(details.job.state, JobState::Active);
    assert!(details.events.iter().any(|e| e.kind == "replaced"));
}

pub async fn new_content_for_a_finished_job_is_a_conflict(store: &Store) {
    let id = claimed(store, "a").await;
    store
        .record_outcome(
            id,
            attempt(now(), Some(202), AttemptOutcome::Sent),
            sent(now()),
        )
        .await
        .unwrap();

    let answer = store
        .accept_job(job("a", "v2", &[now()]), now())
        .await
        .unwrap();

    assert!(
        matches!(answer, AcceptOutcome::Conflict { .. }),
        "{answer:?}"
    );
    let details = store.job_details("a").await.unwrap().unwrap();
    assert_eq!(
        (details.job.source_text.as_str(), details.job.state),
        ("v1", JobState::Finished)
    );
}

pub async fn new_content_while_a_send_is_in_flight_is_a_conflict(store: &Store) {
    let later = now() + Duration::hours(1);
    store
        .accept_job(job("a", "v1", &[now(), later]), now())
        .await
        .unwrap();
    let claimed = store.claim_due(now(), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);

    let answer = store
        .accept_job(job("a", "v2", &[later]), now())
        .await
        .unwrap();

    let AcceptOutcome::Conflict { reason } = answer else {
        panic!("not a conflict: {answer:?}");
    };
    assert!(reason.contains("in flight"), "{reason}");
    assert_eq!(in_state(store, "a", SendState::Scheduled).await.len(), 1);
    assert_eq!(in_state(store, "a", SendState::Sending).await.len(), 1);
}

pub async fn jobs_accepted_together_are_answered_one_by_one(store: &Store) {
    store
        .accept_job(job("old", "v1", &[now()]), now())
        .await
        .unwrap();
    let answers = store
        .accept_jobs(
            vec![job("new", "v1", &[now()]), job("old", "v1", &[now()])],
            now(),
        )
        .await;

    assert_eq!(
        answers,
        [Ok(AcceptOutcome::Inserted), Ok(AcceptOutcome::Unchanged)]
    );
    assert_eq!(all_sends(store).await.len(), 2);
}
