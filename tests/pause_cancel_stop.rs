//! During a 429 pause: a send canceled while it waits for a token is never posted, and
//! SIGTERM exits within `shutdown_grace`, putting the waiting sends back with an
//! `interrupted` attempt.

mod common;

use std::time::{Duration, Instant};

use common::daemon::{Daemon, text_job};
use common::fake_bird::{FakeBird, FakeConfig, Fault};

const LONG: Duration = Duration::from_secs(30);
/// `shutdown_grace` in the helper's config.
const GRACE: Duration = Duration::from_secs(5);

/// One POST a second; the first one gets `429 Retry-After: pause`, so the second job is
/// claimed and waits for a token for about `pause` seconds.
fn paused_with_a_waiting_send(fake: &FakeBird, pause: u64) -> Daemon {
    fake.push_fault(Fault::TooManyRequests {
        retry_after: Some(pause),
    });
    let extra = "[retry]\nmax_attempts = 5\ninitial = \"100ms\"\nmax = \"60s\"\n";
    let d = Daemon::start_rated(fake, extra, 1);
    assert!(d.wait_started(LONG), "log:\n{}", d.log());
    d.drop_job("first.toml", &text_job(""));
    d.drop_job("waiting.toml", &text_job(""));
    assert!(
        d.eventually(LONG, || fake.requests().len() == 1
            && d.one("SELECT state FROM sends WHERE job_id = 'waiting'")
                == "sending"),
        "the second send is not waiting; requests {:?}; log:\n{}",
        fake.requests(),
        d.log()
    );
    d
}

#[test]
fn a_send_canceled_while_it_waits_out_a_429_pause_is_never_posted() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let mut d = paused_with_a_waiting_send(&fake, 4);
    let reference = d.one("SELECT reference FROM sends WHERE job_id = 'waiting'");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["cancel", "waiting", "--database"])
        .arg(d.database())
        .output()
        .expect("run msgspool cancel");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The pause ends, the first job is retried and sent; the canceled one never goes.
    assert!(fake.wait_for_blocking(1, LONG), "log:\n{}", d.log());
    std::thread::sleep(Duration::from_secs(3));
    let posted: Vec<String> = fake
        .requests()
        .iter()
        .filter_map(|r| r.body["reference"].as_str().map(str::to_owned))
        .collect();
    assert!(
        !posted.contains(&reference),
        "the canceled send was posted: {posted:?}"
    );
    assert_eq!(
        d.one("SELECT state FROM sends WHERE job_id = 'waiting'"),
        "canceled"
    );
    assert_eq!(d.stop(LONG), Some(0));
}

#[test]
fn sigterm_during_a_long_429_pause_exits_0_within_the_grace_and_puts_the_send_back() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let mut d = paused_with_a_waiting_send(&fake, 50);
    let asked = Instant::now();
    let code = d.stop(GRACE + Duration::from_secs(10));
    let took = asked.elapsed();
    assert_eq!(code, Some(0), "after {took:?}; log:\n{}", d.log());
    assert!(
        took < GRACE + Duration::from_secs(2),
        "took {took:?}; log:\n{}",
        d.log()
    );
    assert_eq!(
        d.one("SELECT state FROM sends WHERE job_id = 'waiting'"),
        "scheduled"
    );
    assert_eq!(
        d.one("SELECT group_concat(a.outcome) FROM attempts a JOIN sends s ON s.id = a.send_id WHERE s.job_id = 'waiting'"
        ),
        "interrupted"
    );
    assert_eq!(fake.requests().len(), 1);
}
