//! Only Bird's acceptance counts: a redirect pauses dispatch (never followed), a 2xx
//! without a message id is `unconfirmed` (never posted again), and `Retry-After` of any
//! size or shape is clamped and never crashes the daemon.

mod common;

use std::time::Duration;

use common::daemon::{Daemon, text_job};
use common::fake_bird::{FakeBird, FakeConfig, Fault};

const LONG: Duration = Duration::from_secs(30);

#[test]
fn a_301_pauses_dispatch_names_the_location_and_the_send_stays_scheduled() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let landing = format!("{}/landing", fake.base_url());
    fake.push_fault(Fault::Redirect {
        status: 301,
        location: landing.clone(),
    });
    let d = Daemon::start(&fake, "");
    assert!(d.wait_started(LONG), "log:\n{}", d.log());
    d.drop_job("moved.toml", &text_job(""));
    assert!(
        d.eventually(LONG, || d
            .one("SELECT count(*) FROM attempts WHERE outcome = 'redirected'")
            == "1"),
        "log:\n{}",
        d.log()
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(d.one("SELECT state FROM sends"), "scheduled");
    assert_eq!(d.one("SELECT attempts FROM sends"), "0");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1, "the redirect was followed: {requests:?}");
    assert!(d.log().contains(&landing), "log:\n{}", d.log());
    assert!(d.log().contains("base_url"), "log:\n{}", d.log());
}

#[test]
fn a_200_with_an_html_body_is_recorded_sent_unconfirmed_and_never_posted_again() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    fake.push_fault(Fault::Html(200));
    let d = Daemon::start(&fake, "");
    assert!(d.wait_started(LONG), "log:\n{}", d.log());
    d.drop_job("portal.toml", &text_job(""));
    assert!(
        d.eventually(LONG, || d.one("SELECT state FROM sends") == "sent"),
        "log:\n{}",
        d.log()
    );
    assert_eq!(
        d.one("SELECT bird_status || '/' || COALESCE(bird_message_id, 'null') FROM sends"),
        "unconfirmed/null"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(fake.requests().len(), 1);
    assert!(d.log().contains("unconfirmed"), "log:\n{}", d.log());
}

/// Drops one job behind a 429 with `Retry-After: header`, and returns the gap between the
/// throttled request and the one that was accepted.
fn retry_after_gap(header: &str, extra: &str) -> Duration {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    fake.push_fault(Fault::TooManyRequestsRaw(header.to_owned()));
    let d = Daemon::start(&fake, extra);
    assert!(d.wait_started(LONG), "log:\n{}", d.log());
    d.drop_job("throttled.toml", &text_job(""));
    assert!(
        fake.wait_for_blocking(1, LONG),
        "Retry-After: {header}: never sent; log:\n{}",
        d.log()
    );
    assert!(
        d.eventually(LONG, || d.one("SELECT state FROM sends") == "sent"),
        "log:\n{}",
        d.log()
    );
    assert!(!d.log().contains("panicked"), "log:\n{}", d.log());
    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    (requests[1].arrived_at - requests[0].arrived_at)
        .to_std()
        .unwrap()
}

#[test]
fn a_huge_retry_after_is_clamped_and_the_send_goes_out() {
    for huge in [
        "10000000000000",
        "18446744073709551615",
        "99999999999999999999999",
    ] {
        let gap = retry_after_gap(huge, "");
        // retry.max is 500 ms in the helper's config; the floor is 1 s.
        assert!(gap < Duration::from_secs(10), "{huge}: {gap:?}");
    }
}

#[test]
fn a_zero_retry_after_waits_at_least_a_second_instead_of_retrying_hot() {
    let gap = retry_after_gap("0", "");
    assert!(gap >= Duration::from_millis(900), "{gap:?}");
}

#[test]
fn an_http_date_retry_after_is_waited_for() {
    let at = chrono::Utc::now() + chrono::Duration::seconds(4);
    let header = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let extra = "[retry]\nmax_attempts = 5\ninitial = \"100ms\"\nmax = \"20s\"\n";
    let gap = retry_after_gap(&header, extra);
    // The date has whole seconds and the daemon needs a moment to start: at least ~1.5 s
    // of the 4 are left when the 429 arrives; never the 20 s maximum.
    assert!(
        gap >= Duration::from_millis(1500) && gap < Duration::from_secs(15),
        "{gap:?}"
    );
}
