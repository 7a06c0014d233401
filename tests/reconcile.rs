//! Reconciliation end to end: the real binary against the fake Bird, whose listing holds
//! every message it took. After an unknown outcome (an answer dropped after Bird stored
//! the message, a timeout, a kill -9 with requests in flight) the daemon asks Bird before
//! posting again: a message Bird has is never posted twice; one it does not have is
//! posted once more.

mod common;

use std::time::Duration;

use common::daemon::{Daemon, text_job};
use common::fake_bird::{FakeBird, FakeConfig, Fault};

/// Delivery polling off: these tests count GETs of the listing only.
const NO_POLLING: &str = "[delivery]\npoll = false\n";

/// Starts the daemon with `bird_keys` added to its `[bird]` table.
fn start_with_bird_keys(fake: &FakeBird, bird_keys: &str, max_in_flight: usize) -> Daemon {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("spool")).expect("spool");
    let text = Daemon::config_text(fake, dir.path(), NO_POLLING, max_in_flight, 0).replacen(
        "request_timeout = \"5s\"\n",
        &format!("request_timeout = \"5s\"\n{bird_keys}"),
        1,
    );
    std::fs::write(dir.path().join("config.toml"), text).expect("config");
    let mut d = Daemon {
        dir,
        child: None,
        extra_config: NO_POLLING.to_owned(),
        env: Vec::new(),
        unset: Vec::new(),
    };
    d.spawn();
    assert!(d.wait_started(Duration::from_secs(30)), "log:\n{}", d.log());
    d
}

fn job(reference: &str) -> String {
    text_job(&format!("reference = {reference:?}"))
}

fn sent(d: &Daemon, reference: &str) -> bool {
    d.count(&format!(
        "SELECT count(*) FROM sends WHERE reference = '{reference}' AND state = 'sent'"
    )) == 1
}

fn outcomes(d: &Daemon, reference: &str) -> Vec<String> {
    d.query(&format!(
        "SELECT a.outcome FROM attempts a JOIN sends s ON s.id = a.send_id
         WHERE s.reference = '{reference}' ORDER BY a.id"
    ))
    .into_iter()
    .map(|r| r[0].clone())
    .collect()
}

fn bird_id(d: &Daemon, reference: &str) -> String {
    d.one(&format!(
        "SELECT bird_message_id FROM sends WHERE reference = '{reference}'"
    ))
}

#[test]
fn an_answer_dropped_after_bird_stored_the_message_is_found_and_not_posted_again() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    fake.push_fault(Fault::AcceptThenDrop);
    let d = start_with_bird_keys(&fake, "", 32);
    d.drop_job("dropped.toml", &job("ref-dropped"));
    assert!(
        d.eventually(Duration::from_secs(30), || sent(&d, "ref-dropped")),
        "log:\n{}",
        d.log()
    );
    assert_eq!(fake.copies_of("ref-dropped"), 1, "Bird got a second copy");
    let stored = &fake.stored_messages()[0];
    assert_eq!(bird_id(&d, "ref-dropped"), stored.id);
    assert_eq!(outcomes(&d, "ref-dropped"), ["unknown", "reconciled"]);
    assert!(!fake.list_requests().is_empty());
    assert!(fake.schema_violations().is_empty());
}

#[test]
fn a_timeout_after_bird_stored_the_message_is_found_and_not_posted_again() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    fake.push_fault(Fault::Slow(Duration::from_secs(8)));
    let d = start_with_bird_keys(&fake, "", 32);
    d.drop_job("slow.toml", &job("ref-slow"));
    assert!(
        d.eventually(Duration::from_secs(40), || sent(&d, "ref-slow")),
        "log:\n{}",
        d.log()
    );
    assert_eq!(fake.copies_of("ref-slow"), 1, "Bird got a second copy");
    assert_eq!(bird_id(&d, "ref-slow"), fake.stored_messages()[0].id);
    assert_eq!(outcomes(&d, "ref-slow"), ["unknown", "reconciled"]);
}

#[test]
fn a_dropped_answer_bird_did_not_store_is_posted_once_more() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    fake.push_fault(Fault::Drop);
    let d = start_with_bird_keys(&fake, "", 32);
    d.drop_job("lost.toml", &job("ref-lost"));
    assert!(
        d.eventually(Duration::from_secs(30), || sent(&d, "ref-lost")),
        "log:\n{}",
        d.log()
    );
    assert_eq!(fake.copies_of("ref-lost"), 1);
    let posts = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 2, "the dropped POST and one re-post");
    assert_eq!(outcomes(&d, "ref-lost"), ["unknown", "not_found", "sent"]);
}

#[test]
fn a_listing_that_answers_429_then_three_pages_finds_the_message_on_the_third() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    for i in 0..4 {
        fake.seed_message(&format!("other-{i}"));
    }
    fake.set_list_page_size(2);
    fake.push_fault(Fault::AcceptThenDrop);
    fake.push_fault(Fault::TooManyRequests {
        retry_after: Some(1),
    });
    let d = start_with_bird_keys(&fake, "", 32);
    d.drop_job("paged.toml", &job("ref-paged"));
    assert!(
        d.eventually(Duration::from_secs(40), || sent(&d, "ref-paged")),
        "log:\n{}",
        d.log()
    );
    let lists = fake.list_requests();
    let statuses: Vec<Option<u16>> = lists.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(429), Some(200), Some(200), Some(200)]);
    let third = lists[3].query.clone().unwrap_or_default();
    assert!(third.contains("pageToken=p4"), "{third}");
    assert!(third.contains("direction=outgoing"), "{third}");
    assert_eq!(fake.copies_of("ref-paged"), 1);
    assert_eq!(
        outcomes(&d, "ref-paged"),
        ["unknown", "throttled", "reconciled"]
    );
}

#[test]
fn a_kill_with_32_requests_in_flight_leaves_no_duplicate_after_the_restart() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    for _ in 0..32 {
        fake.push_fault(Fault::Slow(Duration::from_secs(30)));
    }
    let mut d = start_with_bird_keys(&fake, "", 32);
    for i in 0..32 {
        d.drop_job(&format!("k{i:02}.toml"), &job(&format!("ref-kill-{i:02}")));
    }
    let in_flight = d.eventually(Duration::from_secs(30), || {
        fake.stored_messages().len() == 32
    });
    assert!(in_flight, "log:\n{}", d.log());
    d.kill9();
    fake.clear_faults();
    d.spawn();
    let all_sent = || d.count("SELECT count(*) FROM sends WHERE state = 'sent'") == 32;
    assert!(
        d.eventually(Duration::from_secs(60), all_sent),
        "{:?}; log:\n{}",
        d.query("SELECT state, count(*) FROM sends GROUP BY state"),
        d.log()
    );
    for i in 0..32 {
        assert_eq!(
            fake.copies_of(&format!("ref-kill-{i:02}")),
            1,
            "ref-kill-{i:02}"
        );
    }
    assert_eq!(fake.stored_messages().len(), 32, "0 duplicates");
    assert_eq!(
        d.count("SELECT count(*) FROM attempts WHERE outcome = 'reconciled'"),
        32
    );
}

#[test]
fn with_reconcile_off_an_unknown_outcome_is_posted_again_without_looking() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    fake.push_fault(Fault::AcceptThenDrop);
    let d = start_with_bird_keys(&fake, "reconcile = false\n", 32);
    d.drop_job("blind.toml", &job("ref-blind"));
    assert!(
        d.eventually(Duration::from_secs(30), || sent(&d, "ref-blind")),
        "log:\n{}",
        d.log()
    );
    assert!(fake.list_requests().is_empty(), "listing is off");
    assert_eq!(
        fake.copies_of("ref-blind"),
        2,
        "the blind re-post Bird took twice"
    );
    assert_eq!(outcomes(&d, "ref-blind"), ["unknown", "not_found", "sent"]);
}

#[test]
fn a_refused_connection_never_reached_bird_and_is_retried_without_a_look_up() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    // Nothing listens on a port that was just bound and released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("spool")).expect("spool");
    let text = Daemon::config_text(&fake, dir.path(), NO_POLLING, 32, 0)
        .replace(&fake.base_url(), &format!("http://127.0.0.1:{port}"));
    std::fs::write(dir.path().join("config.toml"), text).expect("config");
    let mut d = Daemon {
        dir,
        child: None,
        extra_config: NO_POLLING.to_owned(),
        env: Vec::new(),
        unset: Vec::new(),
    };
    d.spawn();
    d.drop_job("refused.toml", &job("ref-refused"));
    assert!(
        d.eventually(Duration::from_secs(30), || outcomes(&d, "ref-refused")
            .len()
            >= 2),
        "log:\n{}",
        d.log()
    );
    let seen = outcomes(&d, "ref-refused");
    assert!(seen.iter().all(|o| o == "retry"), "{seen:?}");
    assert_eq!(
        d.one("SELECT COALESCE(reconcile_from, 'none') FROM sends"),
        "none"
    );
}
