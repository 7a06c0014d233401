//! Claim ahead, fire on time, and an in-flight window that grows: the real binary against
//! the fake Bird. Timing assertions are "never before due" and generous upper bounds only.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::daemon::{Daemon, rfc3339, text_job};
use common::fake_bird::{FakeBird, FakeConfig, Recorded};

const LONG: Duration = Duration::from_secs(60);

/// The due instant a send's default reference ends with (`...:<unix ms>`).
fn due_of(r: &Recorded) -> Option<DateTime<Utc>> {
    let ms = r.body["reference"]
        .as_str()?
        .rsplit(':')
        .next()?
        .parse()
        .ok()?;
    DateTime::from_timestamp_millis(ms)
}

/// Sets `[bird] claim_ahead` to its longest (1 s) by a reload, once the daemon is up.
fn with_longest_lead(d: Daemon) -> Daemon {
    reloaded_with(d, |c| {
        c.replace("[bird]\n", "[bird]\nclaim_ahead = \"1s\"\n")
    })
}

/// Rewrites the daemon's config with `edit` and reloads it (SIGHUP), once it is up.
fn reloaded_with(d: Daemon, edit: impl FnOnce(String) -> String) -> Daemon {
    let config = std::fs::read_to_string(d.config_path()).unwrap();
    std::fs::write(d.config_path(), edit(config)).unwrap();
    assert!(d.wait_started(LONG), "log:\n{}", d.log());
    d.signal("HUP");
    assert!(
        d.eventually(LONG, || d.log().contains("config reloaded")),
        "log:\n{}",
        d.log()
    );
    d
}

/// Drops job `id` with one send due at `due`, and waits until it is claimed (`sending`).
fn drop_and_wait_claimed(d: &Daemon, id: &str, due: DateTime<Utc>) {
    d.drop_job(
        &format!("{id}.toml"),
        &text_job(&format!("scheduledFor = \"{}\"", rfc3339(due))),
    );
    let claimed = || d.one(&format!("SELECT state FROM sends WHERE job_id = '{id}'")) == "sending";
    assert!(d.eventually(LONG, claimed), "log:\n{}", d.log());
}

#[test]
fn no_send_arrives_before_its_due_instant_and_each_arrives_soon_after() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let d = Daemon::start_rated(&fake, "", 500);
    assert!(d.wait_started(LONG), "log:\n{}", d.log());
    let first = Utc::now() + chrono::Duration::seconds(3);
    // 30 at distinct instants 37 ms apart, then 40 at one instant.
    let mut dues = Vec::new();
    for i in 0..30 {
        dues.push(first + chrono::Duration::milliseconds(37 * i));
    }
    let together = first + chrono::Duration::milliseconds(37 * 30);
    dues.extend(std::iter::repeat_n(together, 40));
    for (i, due) in dues.iter().enumerate() {
        let job = text_job(&format!("scheduledFor = \"{}\"", rfc3339(*due)));
        d.drop_job(&format!("job-{i:03}.toml"), &job);
    }
    assert!(
        fake.wait_for_blocking(dues.len(), LONG),
        "log:\n{}",
        d.log()
    );
    let accepted = fake.accepted();
    assert_eq!(accepted.len(), dues.len());
    for r in &accepted {
        let due = due_of(r).expect("a default reference ending in the due instant");
        let late = r.arrived_at - due;
        assert!(
            late >= chrono::Duration::zero(),
            "arrived {} µs before its due instant {due}",
            -late.num_microseconds().unwrap_or(i64::MIN)
        );
        assert!(
            late < chrono::Duration::seconds(2),
            "arrived {late} after {due}"
        );
    }
    assert!(fake.schema_violations().is_empty());
}

#[test]
fn a_send_is_claimed_ahead_of_its_instant_and_posted_only_at_it() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    // The longest lead, so that a busy machine still shows the claim well before the instant.
    let d = with_longest_lead(Daemon::start(&fake, ""));
    let due = Utc::now() + chrono::Duration::seconds(4);
    d.drop_job(
        "ahead.toml",
        &text_job(&format!("scheduledFor = \"{}\"", rfc3339(due))),
    );
    let mut claimed_early = None;
    while Utc::now() < due {
        if d.one("SELECT state FROM sends WHERE job_id = 'ahead'") == "sending" {
            claimed_early = Some(due - Utc::now());
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let before = claimed_early.expect("the send was not claimed before its instant");
    assert!(
        before <= chrono::Duration::seconds(1),
        "claimed {before} early"
    );
    assert!(fake.requests().is_empty(), "posted before its instant");
    assert!(fake.wait_for_blocking(1, LONG), "log:\n{}", d.log());
    assert!(fake.accepted()[0].arrived_at >= due);
}

#[test]
fn a_stop_while_a_claimed_send_waits_for_its_instant_puts_it_back_unsent() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let mut d = with_longest_lead(Daemon::start(&fake, ""));
    let due = Utc::now() + chrono::Duration::seconds(3);
    drop_and_wait_claimed(&d, "waits", due);
    assert!(
        Utc::now() < due,
        "claimed too late for this test to mean anything"
    );
    assert_eq!(d.stop(LONG), Some(0), "log:\n{}", d.log());
    assert_eq!(
        d.one("SELECT state FROM sends WHERE job_id = 'waits'"),
        "scheduled"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(fake.requests().is_empty(), "posted: {:?}", fake.requests());
}

#[test]
fn at_a_long_round_trip_the_shipped_window_grows_past_32_requests_in_flight() {
    let latency = Duration::from_millis(300);
    let fake = FakeBird::start_blocking(FakeConfig {
        latency,
        ..FakeConfig::default()
    });
    // Rate limit off: only the window holds sends back; `max_in_flight` as shipped.
    let d = reloaded_with(Daemon::start(&fake, ""), |c| {
        c.replace("max_in_flight = 32\n", "")
    });
    let n = 400;
    let due = rfc3339(Utc::now() + chrono::Duration::seconds(4));
    for i in 0..n {
        d.drop_job(
            &format!("job-{i:03}.toml"),
            &text_job(&format!("scheduledFor = \"{due}\"")),
        );
    }
    assert!(fake.wait_for_blocking(n, LONG), "log:\n{}", d.log());
    // Each answer takes `latency`: requests arriving within one latency of each other
    // were in flight together.
    let mut arrivals: Vec<DateTime<Utc>> = fake.requests().iter().map(|r| r.arrived_at).collect();
    arrivals.sort();
    let span = chrono::Duration::from_std(latency).unwrap();
    let most = (0..arrivals.len())
        .map(|i| {
            arrivals[i..]
                .iter()
                .take_while(|t| **t - arrivals[i] < span)
                .count()
        })
        .max()
        .unwrap_or(0);
    assert!(
        most > 32,
        "at most {most} requests in flight at once (32: the old fixed default, the initial window)"
    );
}

#[test]
fn a_claim_stuck_on_the_disk_does_not_hold_up_a_send_claimed_before_it() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let d = with_longest_lead(Daemon::start(&fake, ""));
    let first = Utc::now() + chrono::Duration::seconds(4);
    let second = first + chrono::Duration::milliseconds(500);
    for (name, due) in [("first", first), ("second", second)] {
        let job = text_job(&format!("scheduledFor = \"{}\"", rfc3339(due)));
        d.drop_job(&format!("{name}.toml"), &job);
    }
    // `first` is claimed a second ahead; then the write lock is held (as a disk stalling
    // one fsync would hold the commit) across `second`'s claim and `first`'s instant.
    let hold_from = first - chrono::Duration::milliseconds(750);
    std::thread::sleep((hold_from - Utc::now()).to_std().unwrap_or_default());
    assert_eq!(
        d.one("SELECT state FROM sends WHERE job_id = 'first'"),
        "sending",
        "not claimed ahead, so this test would mean nothing; log:\n{}",
        d.log()
    );
    let conn = rusqlite::Connection::open(d.database()).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    conn.execute_batch("COMMIT").unwrap();
    assert!(fake.wait_for_blocking(2, LONG), "log:\n{}", d.log());
    let arrived = fake
        .accepted()
        .into_iter()
        .find(|r| {
            r.body["reference"]
                .as_str()
                .is_some_and(|s| s.contains(":first:"))
        })
        .expect("first was posted");
    let late = arrived.arrived_at - due_of(&arrived).expect("a default reference");
    assert!(
        late >= chrono::Duration::zero(),
        "posted before its instant"
    );
    // Held up by the stuck claim it would arrive about 750 ms late.
    assert!(
        late < chrono::Duration::milliseconds(400),
        "posted {late} after its instant: it waited for another send's claim"
    );
}

#[test]
fn a_send_claimed_ahead_and_left_by_kill_9_goes_out_at_its_instant_not_before() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let mut d = with_longest_lead(Daemon::start(&fake, ""));
    let due = Utc::now() + chrono::Duration::seconds(4);
    drop_and_wait_claimed(&d, "crash", due);
    d.kill9();
    d.spawn();
    assert!(d.wait_started(LONG), "log:\n{}", d.log());
    assert!(
        Utc::now() < due,
        "restarted after the instant, so this test would mean nothing"
    );
    assert!(fake.wait_for_blocking(1, LONG), "log:\n{}", d.log());
    let accepted = fake.accepted();
    assert!(
        accepted[0].arrived_at >= due,
        "posted {} before its instant after the restart",
        due - accepted[0].arrived_at
    );
}
