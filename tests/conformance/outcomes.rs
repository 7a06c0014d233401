//! Outcomes: recorded once, never over a cancel, and a cron job's next occurrence in the
//! same transaction as the outcome that ends its send.

use chrono::Duration;
use msgspool::store::{AttemptOutcome, FollowUp, JobState, SendState, SendUpdate, Store};

use crate::fixtures::{attempt, claimed, cron_job, failed, job, now, one, send, sent};

pub async fn recording_the_same_outcome_twice_changes_nothing_the_second_time(store: &Store) {
    let id = claimed(store, "a").await;
    let try_once = attempt(now(), Some(202), AttemptOutcome::Sent);
    store
        .record_outcome(id, try_once.clone(), sent(now()))
        .await
        .unwrap();
    let first = store.job_details("a").await.unwrap().unwrap();

    store
        .record_outcome(id, try_once, sent(now()))
        .await
        .unwrap();
    let second = store.job_details("a").await.unwrap().unwrap();

    assert_eq!(first, second);
    assert_eq!(second.sends[0].send.state, SendState::Sent);
    assert_eq!(second.sends[0].send.attempts, 1);
    assert_eq!(second.sends[0].attempts.len(), 1);
    assert_eq!(second.job.state, JobState::Finished);
}

pub async fn a_job_ends_only_when_its_last_send_being_sent_ends(store: &Store) {
    let later = now() + Duration::minutes(1);
    store
        .accept_job(job("a", "v1", &[now(), later]), now())
        .await
        .unwrap();
    let claimed = store.claim_due(later, 10).await.unwrap();
    assert_eq!(claimed.len(), 2, "{claimed:?}");
    let sent_at = later + Duration::seconds(1);
    // The first outcome leaves the other send being sent: the job stays active.
    for (send, job_after) in [
        (&claimed[0], JobState::Active),
        (&claimed[1], JobState::Finished),
    ] {
        store
            .record_outcome(
                send.send_id,
                attempt(sent_at, Some(202), AttemptOutcome::Sent),
                sent(sent_at),
            )
            .await
            .unwrap();
        let details = store.job_details("a").await.unwrap().unwrap();
        assert_eq!(details.job.state, job_after, "after send {}", send.send_id);
    }
    let done = store.job_details("a").await.unwrap().unwrap();
    assert!(done.sends.iter().all(|s| s.send.state == SendState::Sent));
}

pub async fn a_retry_outcome_brings_the_send_back_at_its_next_attempt(store: &Store) {
    let id = claimed(store, "a").await;
    let next = now() + Duration::minutes(2);
    let retry = SendUpdate::Retry {
        next_attempt: next,
        count_attempt: true,
        error: "HTTP 503".to_owned(),
    };
    store
        .record_outcome(id, attempt(now(), Some(503), AttemptOutcome::Retry), retry)
        .await
        .unwrap();

    let send = one(store, id).await;
    assert_eq!((send.state, send.attempts), (SendState::Scheduled, 1));
    assert!(
        store
            .claim_due(next - Duration::seconds(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim_due(next, 10).await.unwrap();
    assert_eq!((again[0].send_id, again[0].attempts), (id, 1));
}

pub async fn cancel_wins_over_a_late_outcome(store: &Store) {
    let id = claimed(store, "a").await;
    store.cancel_job("a", now()).await.unwrap();

    let late = now() + Duration::seconds(1);
    store
        .record_outcome(
            id,
            attempt(late, Some(202), AttemptOutcome::Sent),
            sent(late),
        )
        .await
        .unwrap();
    let retry = SendUpdate::Retry {
        next_attempt: late,
        count_attempt: true,
        error: "HTTP 503".to_owned(),
    };
    store
        .record_outcome(id, attempt(late, Some(503), AttemptOutcome::Retry), retry)
        .await
        .unwrap();

    let send = one(store, id).await;
    assert_eq!(send.state, SendState::Canceled);
    // Bird's id of the late acceptance is kept, so the operator can look it up.
    assert_eq!(send.bird_message_id.as_deref(), Some("bird-1"));
    assert!(
        store
            .claim_due(late + Duration::days(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let job = store.job_details("a").await.unwrap().unwrap().job;
    assert_eq!(job.state, JobState::Canceled);
}

pub async fn the_next_occurrence_commits_with_the_outcome_that_ends_a_send(store: &Store) {
    store
        .accept_job(cron_job("daily", now()), now())
        .await
        .unwrap();
    let claimed = store.claim_due(now(), 10).await.unwrap();
    assert!(claimed[0].recurring);
    let tomorrow = now() + Duration::days(1);
    let follow = FollowUp::Next {
        send: send(tomorrow),
        skipped: None,
    };
    store
        .record_outcome_then(
            claimed[0].send_id,
            attempt(now(), Some(202), AttemptOutcome::Sent),
            sent(now()),
            Some(follow.clone()),
        )
        .await
        .unwrap();

    let details = store.job_details("daily").await.unwrap().unwrap();
    assert_eq!(details.job.state, JobState::Active);
    let states: Vec<_> = details
        .sends
        .iter()
        .map(|s| (s.send.state, s.send.occurrence_at))
        .collect();
    assert_eq!(
        states,
        [(SendState::Sent, now()), (SendState::Scheduled, tomorrow)]
    );
    assert_eq!(store.next_due().await.unwrap(), Some(tomorrow));
    // (job, occurrence) is unique: the same next occurrence again adds nothing.
    assert!(
        !store
            .add_occurrence("daily", send(tomorrow), None, now())
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .job_details("daily")
            .await
            .unwrap()
            .unwrap()
            .sends
            .len(),
        2
    );
}

pub async fn a_cron_job_whose_schedule_ended_is_finished(store: &Store) {
    store
        .accept_job(cron_job("daily", now()), now())
        .await
        .unwrap();
    let claimed = store.claim_due(now(), 10).await.unwrap();
    let follow = FollowUp::End {
        skipped: Some("skipped 2 occurrences".to_owned()),
    };
    store
        .record_outcome_then(
            claimed[0].send_id,
            attempt(now(), Some(422), AttemptOutcome::Failed),
            failed(now()),
            Some(follow),
        )
        .await
        .unwrap();

    let details = store.job_details("daily").await.unwrap().unwrap();
    assert_eq!(details.job.state, JobState::Finished);
    assert_eq!(details.sends.len(), 1);
    assert!(
        details
            .events
            .iter()
            .any(|e| e.kind == "skipped" && e.detail.contains("skipped 2"))
    );
}

pub async fn a_broken_job_gets_no_occurrence_until_it_is_mended(store: &Store) {
    store
        .accept_job(cron_job("daily", now()), now())
        .await
        .unwrap();
    let claimed = store.claim_due(now(), 10).await.unwrap();
    let broken = FollowUp::Broken {
        reason: "channel whatsapp is gone from the config".to_owned(),
    };
    store
        .record_outcome_then(
            claimed[0].send_id,
            attempt(now(), Some(202), AttemptOutcome::Sent),
            sent(now()),
            Some(broken),
        )
        .await
        .unwrap();
    let job = store.job_details("daily").await.unwrap().unwrap().job;
    assert_eq!(job.state, JobState::Broken);
    assert!(job.broken_reason.is_some_and(|r| r.contains("gone")));
    let tomorrow = now() + Duration::days(1);
    assert!(
        !store
            .add_occurrence("daily", send(tomorrow), None, now())
            .await
            .unwrap()
    );

    assert!(store.mend("daily", now()).await.unwrap());
    assert!(!store.mend("daily", now()).await.unwrap());
    assert!(
        store
            .add_occurrence("daily", send(tomorrow), None, now())
            .await
            .unwrap()
    );
    let review = store.cron_jobs().await.unwrap();
    assert_eq!(review.len(), 1);
    assert_eq!(
        (review[0].state, review[0].has_open_send),
        (JobState::Active, true)
    );
    assert_eq!(review[0].last_occurrence, Some(tomorrow));
}
