//! Delivery polling end to end: the real binary looks each sent message up at the fake
//! Bird, whose messages move through status timelines, on a schedule started at 1 s.

mod common;

use std::time::{Duration, Instant};

use common::daemon::{Daemon, text_job};
use common::fake_bird::{FakeBird, FakeConfig, Step};

/// Starts the daemon polling from `poll_start`, with `[bird] get_rate_limit`.
fn start(fake: &FakeBird, poll_start: &str, get_rate_limit: u32) -> Daemon {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("spool")).expect("spool");
    let extra = format!("[delivery]\npoll_start = {poll_start:?}\n");
    let text = Daemon::config_text(fake, dir.path(), &extra, 32, 0).replacen(
        "request_timeout = \"5s\"\n",
        &format!("request_timeout = \"5s\"\nget_rate_limit = {get_rate_limit}\n"),
        1,
    );
    std::fs::write(dir.path().join("config.toml"), text).expect("config");
    let mut d = Daemon {
        dir,
        child: None,
        extra_config: extra,
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

fn column(d: &Daemon, reference: &str, column: &str) -> String {
    d.one(&format!(
        "SELECT COALESCE({column}, '') FROM sends WHERE reference = '{reference}'"
    ))
}

fn bird_id(d: &Daemon, reference: &str) -> String {
    column(d, reference, "bird_message_id")
}

fn lookups_of(fake: &FakeBird, id: &str) -> usize {
    let id = id.to_owned();
    fake.lookups()
        .iter()
        .filter(|r| r.path.ends_with(&id))
        .count()
}

#[test]
fn statuses_progress_to_delivered_and_delivery_failed_with_whatsapps_code() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    fake.set_timeline(
        "ok-",
        vec![Step::to(300, "sent"), Step::to(1500, "delivered")],
    );
    fake.set_timeline(
        "bad-",
        vec![
            Step::to(300, "sent"),
            Step::failed(1500, 131026, "Message undeliverable"),
        ],
    );
    let d = start(&fake, "1s", 50);
    for reference in ["ok-1", "ok-2", "bad-1"] {
        d.drop_job(&format!("{reference}.toml"), &job(reference));
    }
    let done = || {
        d.count(
            "SELECT count(*) FROM sends WHERE delivery_status IN ('delivered', 'delivery_failed')",
        ) == 3
    };
    assert!(
        d.eventually(Duration::from_secs(60), done),
        "{:?}; log:\n{}",
        d.query("SELECT reference, state, delivery_status, polls FROM sends"),
        d.log()
    );
    assert_eq!(column(&d, "ok-1", "delivery_status"), "delivered");
    assert_eq!(column(&d, "ok-2", "delivery_status"), "delivered");
    assert_eq!(column(&d, "bad-1", "delivery_status"), "delivery_failed");
    assert_eq!(column(&d, "bad-1", "failure_code"), "131026");
    assert_eq!(column(&d, "bad-1", "failure_source"), "whatsapp");
    assert_eq!(
        column(&d, "bad-1", "failure_reason"),
        "Message undeliverable"
    );
    assert_eq!(column(&d, "ok-1", "failure_code"), "");
    // One row per status reached, from the poll that saw it.
    let events = d.query(
        "SELECT e.status, e.source FROM delivery_events e JOIN sends s ON s.id = e.send_id
         WHERE s.reference = 'bad-1' ORDER BY e.status_at",
    );
    assert_eq!(
        events.last().cloned(),
        Some(vec!["delivery_failed".to_owned(), "poll".to_owned()])
    );
    // "Today" is the UTC day of the query: the two delivered sends count when they finished
    // on it, which a run across midnight can split. One statement, so one `now`.
    let (counted, finished_today) = (
        "COALESCE((SELECT sends FROM delivery_today WHERE delivery_status = 'delivered'), -1)",
        "(SELECT NULLIF(count(*), 0) FROM sends WHERE reference LIKE 'ok-%'
            AND substr(finished_at, 1, 10) = strftime('%Y-%m-%d', 'now'))",
    );
    let agree = d.query(&format!(
        "SELECT {counted}, COALESCE({finished_today}, -1), strftime('%Y-%m-%d', 'now')"
    ));
    assert_eq!(
        agree[0][0], agree[0][1],
        "delivery_today, sends finished today, today: {agree:?}"
    );
}

#[test]
fn polling_stops_at_a_final_status_and_goes_on_for_one_that_is_not() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    fake.set_timeline("final-", vec![Step::to(0, "delivered")]);
    fake.set_timeline("pending-", vec![Step::to(0, "sent")]);
    let d = start(&fake, "1s", 50);
    d.drop_job("final.toml", &job("final-1"));
    d.drop_job("pending.toml", &job("pending-1"));
    assert!(
        d.eventually(Duration::from_secs(30), || column(
            &d,
            "final-1",
            "delivery_status"
        ) == "delivered"),
        "log:\n{}",
        d.log()
    );
    let (final_id, pending_id) = (bird_id(&d, "final-1"), bird_id(&d, "pending-1"));
    // The schedule from 1 s: looks at +1 s and +5 s; the pending message gets both.
    assert!(
        d.eventually(Duration::from_secs(30), || lookups_of(&fake, &pending_id)
            >= 2),
        "log:\n{}",
        d.log()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        lookups_of(&fake, &final_id),
        1,
        "looked up after a final status"
    );
    assert_eq!(column(&d, "final-1", "next_poll_at"), "");
    assert_ne!(column(&d, "pending-1", "next_poll_at"), "");
    assert_eq!(column(&d, "pending-1", "delivery_status"), "sent");
}

#[test]
fn look_ups_stay_within_the_get_budget() {
    const RATE: u32 = 5;
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let d = start(&fake, "1s", RATE);
    for i in 0..30 {
        d.drop_job(&format!("b{i:02}.toml"), &job(&format!("budget-{i:02}")));
    }
    let began = Instant::now();
    assert!(
        d.eventually(Duration::from_secs(60), || fake.lookups().len() >= 20),
        "log:\n{}",
        d.log()
    );
    let times: Vec<_> = fake.lookups().iter().map(|r| r.arrived_at).collect();
    // Polling's share is four fifths of the budget, plus a burst of one.
    let most_in_a_second = times
        .iter()
        .map(|t| {
            times
                .iter()
                .filter(|u| **u >= *t && **u < *t + chrono::Duration::seconds(1))
                .count()
        })
        .max()
        .unwrap_or(0);
    assert!(
        most_in_a_second <= RATE as usize + 1,
        "{most_in_a_second} look-ups within one second, budget {RATE}/s ({:?} in all)",
        began.elapsed()
    );
}

/// Runs `msgspool ARGS --database DB`; its stdout.
fn msgspool(d: &Daemon, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(args)
        .arg("--database")
        .arg(d.database())
        .output()
        .expect("run msgspool");
    assert!(
        out.status.success(),
        "msgspool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn show_stats_and_list_tell_what_became_of_each_message() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    fake.set_timeline("ok-", vec![Step::to(0, "delivered")]);
    fake.set_timeline(
        "bad-",
        vec![Step::failed(0, 131047, "Re-engagement message")],
    );
    let d = start(&fake, "1s", 50);
    d.drop_job("good.toml", &job("ok-1"));
    d.drop_job("bad.toml", &job("bad-1"));
    let done = || d.count("SELECT count(*) FROM sends WHERE delivery_status IS NOT NULL") == 2;
    assert!(
        d.eventually(Duration::from_secs(30), done),
        "log:\n{}",
        d.log()
    );

    let shown = msgspool(&d, &["show", "bad"]);
    assert!(shown.contains("delivery:"), "{shown}");
    assert!(
        shown.contains("delivery_failed (poll): whatsapp 131047: Re-engagement message"),
        "{shown}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&msgspool(&d, &["show", "good", "--json"])).expect("JSON");
    assert_eq!(json["sends"][0]["delivery"][0]["status"], "delivered");

    let stats: serde_json::Value =
        serde_json::from_str(&msgspool(&d, &["stats", "--json"])).expect("JSON");
    assert_eq!(stats["delivery"]["delivered"], 1);
    assert_eq!(stats["delivery"]["failed"], 1);
    assert_eq!(stats["delivery"]["pending"], 0);
    let text = msgspool(&d, &["stats"]);
    assert!(text.contains("DELIVERY"), "{text}");

    let failed = msgspool(
        &d,
        &[
            "list",
            "--state",
            "all",
            "--delivery",
            "delivery_failed",
            "--json",
        ],
    );
    let jobs: Vec<String> = failed
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON")["job_id"].to_string())
        .collect();
    assert_eq!(jobs, ["\"bad\""]);
}
