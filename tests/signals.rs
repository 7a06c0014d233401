//! Signals and operator actions against the running binary: SIGTERM in the middle of a
//! burst loses nothing, SIGHUP with a broken config is refused without stopping anything,
//! and a send canceled by hand (sqlite3, as an operator would) is never sent.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::daemon::{Daemon, rfc3339, text_job};
use common::fake_bird::{FakeBird, FakeConfig};

const LONG: Duration = Duration::from_secs(30);
/// `shutdown_grace` in the helper's config.
const GRACE: Duration = Duration::from_secs(5);

/// The distinct `reference`s the fake accepted (202).
fn accepted_references(fake: &FakeBird) -> HashSet<String> {
    fake.accepted()
        .iter()
        .filter_map(|r| r.body["reference"].as_str().map(str::to_owned))
        .collect()
}

fn started(d: &Daemon) {
    assert!(
        d.eventually(LONG, || d.log().contains("msgspool started")),
        "the daemon did not start; log:\n{}",
        d.log()
    );
}

#[test]
fn sigterm_during_a_burst_exits_0_within_the_grace_and_after_a_restart_all_200_are_sent() {
    const N: usize = 200;
    let fake = FakeBird::start_blocking(FakeConfig {
        latency: Duration::from_millis(200),
        ..FakeConfig::default()
    });
    let mut d = Daemon::start_tuned(&fake, "", 32);
    started(&d);
    for i in 0..N {
        d.drop_job(&format!("burst-{i:03}.toml"), &text_job(""));
    }
    assert!(
        fake.wait_for_blocking(32, LONG),
        "the burst never got going; log:\n{}",
        d.log()
    );
    // The next 32 are on their way now: stop in the middle of their 200 ms.
    std::thread::sleep(Duration::from_millis(100));
    let asked = Instant::now();
    let code = d.stop(GRACE + Duration::from_secs(10));
    let took = asked.elapsed();
    assert_eq!(code, Some(0), "after {took:?}; log:\n{}", d.log());

    // A clean stop: what Bird accepted is recorded, nothing is left claimed.
    let sent = d.count("SELECT count(*) FROM sends WHERE state = 'sent'");
    assert!(
        sent < N,
        "the stop came after the burst was over ({sent} sent)"
    );
    assert_eq!(
        sent,
        accepted_references(&fake).len(),
        "every 202 answered before the stop is recorded as sent"
    );
    assert_eq!(
        d.count("SELECT count(*) FROM sends WHERE state = 'sending'"),
        0,
        "claimed sends were put back; log:\n{}",
        d.log()
    );

    d.spawn();
    let all = d.eventually(LONG * 2, || accepted_references(&fake).len() == N);
    assert!(
        all,
        "{} of {N} references arrived after the restart; log:\n{}",
        accepted_references(&fake).len(),
        d.log()
    );
    assert!(
        d.eventually(LONG, || d
            .count("SELECT count(*) FROM sends WHERE state = 'sent'")
            == N),
        "{:?}",
        d.query("SELECT state, count(*) FROM sends GROUP BY state")
    );
    assert_eq!(fake.accepted_count(), N, "a clean stop sends nothing twice");
    assert!(fake.schema_violations().is_empty());
    assert_eq!(d.stop(LONG), Some(0));
}

#[test]
fn sighup_with_a_broken_config_is_refused_and_the_daemon_keeps_sending_until_a_good_one() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let mut d = Daemon::start(&fake, "");
    started(&d);
    let good = std::fs::read_to_string(d.config_path()).expect("config");
    std::fs::write(d.config_path(), "spool = \"unterminated\n[bird\n").expect("break it");
    d.signal("HUP");
    assert!(
        d.eventually(LONG, || d.log().contains("config reload refused")),
        "no refusal logged; log:\n{}",
        d.log()
    );
    let refusal = d
        .log()
        .lines()
        .find(|l| l.contains("config reload refused"))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(
        refusal.contains("config.toml"),
        "the refusal names the file: {refusal}"
    );
    let child = d.child.as_mut().expect("started");
    assert!(
        matches!(child.try_wait(), Ok(None)),
        "the daemon stopped on a broken config"
    );

    d.drop_job("after-refusal.toml", &text_job(""));
    assert!(
        fake.wait_for_blocking(1, LONG),
        "nothing sent with the old config; log:\n{}",
        d.log()
    );

    std::fs::write(d.config_path(), good).expect("restore the config");
    d.signal("HUP");
    assert!(
        d.eventually(LONG, || d.log().contains("config reloaded")),
        "the restored config was not taken; log:\n{}",
        d.log()
    );
    d.drop_job("after-reload.toml", &text_job(""));
    assert!(fake.wait_for_blocking(2, LONG), "log:\n{}", d.log());
    assert_eq!(d.stop(LONG), Some(0));
}

#[test]
fn a_send_canceled_with_msgspool_cancel_is_never_sent_by_the_running_daemon() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let mut d = Daemon::start(&fake, "");
    started(&d);
    // Two sends due in 2 s; the operator cancels one of them before it is due.
    let due = Utc::now() + chrono::Duration::seconds(2);
    let at = format!("scheduledFor = \"{}\"", rfc3339(due));
    d.drop_job("keep.toml", &text_job(&at));
    d.drop_job("drop-me.toml", &text_job(&at));
    assert!(
        d.eventually(LONG, || d
            .count("SELECT count(*) FROM sends WHERE state = 'scheduled'")
            == 2),
        "not taken in; log:\n{}",
        d.log()
    );
    let canceled_ref =
        d.query("SELECT reference FROM sends WHERE job_id = 'drop-me'")[0][0].clone();
    let kept_ref = d.query("SELECT reference FROM sends WHERE job_id = 'keep'")[0][0].clone();

    // What an operator types, while the daemon runs.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["cancel", "drop-me", "--database"])
        .arg(d.database())
        .output()
        .expect("run msgspool cancel");
    assert!(
        out.status.success(),
        "msgspool cancel failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        d.query("SELECT state FROM sends WHERE job_id = 'drop-me'"),
        [vec!["canceled".to_owned()]],
        "the send was no longer scheduled when canceled (the machine was too slow?)"
    );
    assert!(Utc::now() < due, "the cancel came after the send was due");

    // The other send goes out at its time, so dispatch is running; the canceled one
    // never does, for 5 s past its due time.
    assert!(
        fake.wait_for_blocking(1, LONG),
        "the kept send never went out; log:\n{}",
        d.log()
    );
    while Utc::now() < due + chrono::Duration::seconds(5) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let arrived: Vec<String> = fake
        .requests()
        .iter()
        .filter_map(|r| r.body["reference"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(arrived, [kept_ref], "canceled reference {canceled_ref}");
    assert_eq!(
        d.query("SELECT s.state, j.state, (SELECT count(*) FROM attempts a WHERE a.send_id = s.id) FROM sends s JOIN jobs j ON j.id = s.job_id WHERE s.job_id = 'drop-me'"),
        [vec!["canceled".to_owned(), "canceled".to_owned(), "0".to_owned()]]
    );
    assert_eq!(d.stop(LONG), Some(0));
}
