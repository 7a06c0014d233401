use super::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn send() -> ClaimedSend {
    ClaimedSend {
        send_id: 1,
        job_id: "j".into(),
        channel: "whatsapp".into(),
        payload: "{}".into(),
        reference: "ref-1".into(),
        due: utc("2026-12-02T10:00:00Z"),
        occurrence: utc("2026-12-02T10:00:00Z"),
        recurring: false,
        ignore_quiet_hours: false,
        expires: utc("2026-12-03T10:00:00Z"),
        attempts: 1,
        reconcile_from: Some(utc("2026-12-02T10:00:00Z")),
    }
}

fn run(search: Search) -> Settled {
    let now = utc("2026-12-02T10:01:00Z");
    settle(
        &send(),
        search,
        (now, now),
        &RetryConfig::default(),
        0.5,
        None,
    )
}

#[test]
fn a_message_found_by_reference_is_sent_with_birds_id_and_not_posted() {
    let found = MessageInfo {
        id: "bird-1".into(),
        reference: Some("ref-1".into()),
        status: "sent".into(),
        last_status_at: None,
        reason: None,
        failure_code: None,
        failure_source: None,
    };
    let Settled::Record(d) = run(Search::Found(found)) else {
        panic!("found must not post");
    };
    assert_eq!(d.attempt.outcome, AttemptOutcome::Reconciled);
    assert!(
        matches!(d.update, SendUpdate::Sent { ref bird_message_id, .. } if bird_message_id == "bird-1")
    );
}

#[test]
fn nothing_found_after_a_complete_search_posts_again() {
    let Settled::Post(a) = run(Search::NotFound { pages: 3 }) else {
        panic!("not found must post");
    };
    assert_eq!(a.outcome, AttemptOutcome::NotFound);
}

#[test]
fn a_failed_search_posts_nothing_and_counts_no_attempt() {
    for failed in [
        SendResult::Throttled { retry_after: None },
        SendResult::ServerError {
            http_status: 503,
            detail: "down".into(),
        },
    ] {
        let Settled::Record(d) = run(Search::Failed(failed)) else {
            panic!("a failed search must not post");
        };
        assert!(matches!(
            d.update,
            SendUpdate::Retry {
                count_attempt: false,
                ..
            }
        ));
    }
}
