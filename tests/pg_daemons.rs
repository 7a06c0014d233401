//! Several real daemons, each with its own spool folder, sharing one PostgreSQL database
//! (a throwaway cluster, `tests/common/pg.rs`) and one fake Bird: every send goes out
//! exactly once and never early; a daemon killed with requests in flight has its sends
//! taken over after its leases run out (a duplicate only where it held a request); one
//! leader, replaced when it dies; one rate limit for the workspace across daemons; and a
//! daemon whose connections are cut reconnects and loses nothing.

mod common;
#[path = "common/pg.rs"]
mod pg;
#[path = "common/pg_daemon.rs"]
mod pg_daemon;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::daemon::{Daemon, rfc3339, text_job};
use common::fake_bird::{FakeBird, FakeConfig};
use pg_daemon::{daemon_on, one, rows};

/// Waits (polling every 100 ms, at most `timeout`) until `f` holds.
fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Drops `count` one-send jobs into each daemon's spool, the k-th due at `due(k)`.
fn drop_jobs(daemons: &[Daemon], count: usize, due: impl Fn(usize) -> DateTime<Utc>) {
    for (n, d) in daemons.iter().enumerate() {
        for i in 0..count {
            let k = n * count + i;
            d.drop_job(
                &format!("job-{k:05}.toml"),
                &text_job(&format!("scheduledFor = \"{}\"", rfc3339(due(k)))),
            );
        }
    }
}

/// Each send's due time (ms since the epoch), by its reference.
fn due_by_reference(rt: &tokio::runtime::Runtime, url: &str) -> HashMap<String, i64> {
    rows(
        rt,
        url,
        "SELECT reference, (extract(epoch FROM due_at) * 1000)::BIGINT FROM sends",
    )
    .into_iter()
    .map(|r| (r[0].clone(), r[1].parse().unwrap_or(0)))
    .collect()
}

/// How many times Bird took each reference.
fn posts_by_reference(fake: &FakeBird) -> BTreeMap<String, usize> {
    let mut posts = BTreeMap::new();
    for m in fake.stored_messages() {
        *posts.entry(m.reference.unwrap_or_default()).or_insert(0) += 1;
    }
    posts
}

fn log_tails(daemons: &[Daemon]) -> String {
    daemons
        .iter()
        .map(|d| {
            let log = d.log();
            let lines: Vec<&str> = log.lines().rev().take(15).collect();
            lines.into_iter().rev().collect::<Vec<_>>().join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n----\n")
}

fn setup() -> Option<(tokio::runtime::Runtime, String)> {
    if !pg::enabled() {
        eprintln!("MSGSPOOL_PG_TESTS=0: skipped");
        return None;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let url = rt.block_on(pg::cluster().fresh_database());
    Some((rt, url))
}

#[test]
fn three_daemons_send_three_thousand_sends_each_exactly_once_and_never_early() {
    let Some((rt, url)) = setup() else { return };
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let daemons: Vec<Daemon> = (0..3).map(|_| daemon_on(&fake, &url, 0, 64)).collect();
    for d in &daemons {
        assert!(d.wait_started(Duration::from_secs(60)), "{}", d.log());
    }
    // 3,000 sends due within 10 s, starting once every file can have been taken in.
    let start = Utc::now() + chrono::Duration::seconds(20);
    drop_jobs(&daemons, 1000, |k| {
        start + chrono::Duration::milliseconds((k as i64 * 10_000) / 3000)
    });
    let all_sent = || one(&rt, &url, "SELECT count(*) FROM sends WHERE state = 'sent'") == "3000";
    assert!(
        eventually(Duration::from_secs(120), all_sent),
        "not all sent: {:?}\n{}",
        rows(
            &rt,
            &url,
            "SELECT state, count(*) FROM sends GROUP BY state"
        ),
        log_tails(&daemons)
    );
    let due = due_by_reference(&rt, &url);
    assert_eq!(due.len(), 3000, "one send per job file");
    let posts = posts_by_reference(&fake);
    let twice: Vec<_> = posts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    assert_eq!(posts.len(), 3000);
    for r in fake.accepted() {
        let reference = r.body["reference"].as_str().unwrap_or_default();
        let due_ms = due[reference];
        assert!(
            r.arrived_at.timestamp_millis() >= due_ms,
            "{reference} arrived at {} before its due time {due_ms} ms",
            r.arrived_at
        );
    }
    // Every daemon took part: the work was shared, not done by one.
    let by_node = rows(
        &rt,
        &url,
        "SELECT node, count(*) FROM attempts WHERE outcome = 'sent' GROUP BY node",
    );
    assert_eq!(by_node.len(), 3, "sends by node: {by_node:?}");
}

#[test]
fn a_killed_daemons_sends_are_taken_over_after_its_leases_expire() {
    let Some((rt, url)) = setup() else { return };
    // Slow answers keep requests in flight when the daemon is killed.
    let fake = FakeBird::start_blocking(FakeConfig {
        latency: Duration::from_millis(1500),
        ..FakeConfig::default()
    });
    let mut daemons: Vec<Daemon> = (0..3).map(|_| daemon_on(&fake, &url, 0, 16)).collect();
    for d in &daemons {
        assert!(d.wait_started(Duration::from_secs(60)), "{}", d.log());
    }
    let at = Utc::now() + chrono::Duration::seconds(8);
    drop_jobs(&daemons, 100, |_| at);
    let victim_spool = daemons[0].spool().display().to_string();
    let held_by_victim = format!(
        "SELECT reference FROM sends WHERE state = 'sending' AND lease_owner LIKE '%{victim_spool}%'"
    );
    assert!(
        eventually(Duration::from_secs(60), || !rows(
            &rt,
            &url,
            &held_by_victim
        )
        .is_empty()),
        "the victim never held a send: {}",
        log_tails(&daemons)
    );
    daemons[0].kill9();
    let held: Vec<String> = rows(&rt, &url, &held_by_victim)
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert!(!held.is_empty());
    let all_sent = || one(&rt, &url, "SELECT count(*) FROM sends WHERE state = 'sent'") == "300";
    assert!(
        eventually(Duration::from_secs(90), all_sent),
        "not all sent after the kill: {:?}\n{}",
        rows(
            &rt,
            &url,
            "SELECT state, lease_owner, count(*) FROM sends GROUP BY 1, 2"
        ),
        log_tails(&daemons)
    );
    // Taken over: the victim's sends went out through another node, after an
    // `interrupted` attempt recorded for the lease that ran out.
    let interrupted = one(
        &rt,
        &url,
        "SELECT count(DISTINCT send_id) FROM attempts WHERE outcome = 'interrupted'",
    );
    assert!(
        interrupted.parse::<usize>().unwrap_or(0) >= 1,
        "no take-over recorded"
    );
    let posts = posts_by_reference(&fake);
    let mut duplicates = 0;
    for (reference, n) in &posts {
        if *n > 1 {
            duplicates += n - 1;
            assert!(
                held.contains(reference),
                "{reference} sent {n} times but the killed daemon did not hold it"
            );
            println!("duplicate: {reference} ({n} posts): in flight at the killed daemon");
        }
    }
    assert!(
        duplicates <= held.len(),
        "{duplicates} duplicates, {} in flight",
        held.len()
    );
    assert_eq!(posts.len(), 300);
}

#[test]
fn one_leader_at_a_time_and_another_takes_over_when_it_dies() {
    let Some((rt, url)) = setup() else { return };
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let mut daemons: Vec<Daemon> = (0..3).map(|_| daemon_on(&fake, &url, 0, 8)).collect();
    for d in &daemons {
        assert!(d.wait_started(Duration::from_secs(60)), "{}", d.log());
    }
    let leaders = "SELECT node FROM leader WHERE expires_at > now()";
    assert!(
        eventually(Duration::from_secs(30), || rows(&rt, &url, leaders).len()
            == 1),
        "no leader: {}",
        log_tails(&daemons)
    );
    let alive = "SELECT count(*) FROM nodes WHERE heartbeat_at > now() - interval '30 seconds'";
    assert!(eventually(Duration::from_secs(30), || one(
        &rt, &url, alive
    ) == "3"));
    let first = one(&rt, &url, leaders);
    let index = daemons
        .iter()
        .position(|d| first.contains(&d.spool().display().to_string()))
        .unwrap_or_else(|| panic!("leader {first} is none of the daemons"));
    daemons[index].kill9();
    let next = || {
        let now = rows(&rt, &url, leaders);
        now.len() == 1 && now[0][0] != first
    };
    assert!(
        eventually(Duration::from_secs(60), next),
        "no new leader after {first} died: {:?}",
        rows(&rt, &url, "SELECT * FROM leader")
    );
}

#[test]
fn three_daemons_share_one_rate_limit() {
    let Some((rt, url)) = setup() else { return };
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let daemons: Vec<Daemon> = (0..3).map(|_| daemon_on(&fake, &url, 200, 32)).collect();
    for d in &daemons {
        assert!(d.wait_started(Duration::from_secs(60)), "{}", d.log());
    }
    let at = Utc::now() + chrono::Duration::seconds(10);
    drop_jobs(&daemons, 400, |_| at);
    let all_sent = || one(&rt, &url, "SELECT count(*) FROM sends WHERE state = 'sent'") == "1200";
    assert!(
        eventually(Duration::from_secs(120), all_sent),
        "not all sent: {:?}\n{}",
        rows(
            &rt,
            &url,
            "SELECT state, count(*) FROM sends GROUP BY state"
        ),
        log_tails(&daemons)
    );
    let mut arrivals: Vec<i64> = fake
        .accepted()
        .iter()
        .map(|r| r.arrived_at.timestamp_millis())
        .collect();
    arrivals.sort_unstable();
    // The busiest one-second window, sliding over every arrival.
    let mut busiest = 0;
    let mut from = 0;
    for to in 0..arrivals.len() {
        while arrivals[to] - arrivals[from] >= 1000 {
            from += 1;
        }
        busiest = busiest.max(to - from + 1);
    }
    println!("busiest second: {busiest} requests (limit 200/s, burst 20)");
    // 200 per second plus one burst, with room for timestamps taken at the fake.
    assert!(
        busiest <= 250,
        "{busiest} requests in one second with a shared limit of 200/s"
    );
    let span = arrivals.last().unwrap_or(&0) - arrivals.first().unwrap_or(&0);
    assert!(span >= 4000, "1,200 sends at 200/s took only {span} ms");
}

#[test]
fn a_daemon_whose_connections_are_cut_reconnects_and_loses_nothing() {
    let Some((rt, url)) = setup() else { return };
    let fake = FakeBird::start_blocking(FakeConfig {
        latency: Duration::from_millis(50),
        ..FakeConfig::default()
    });
    let daemons = vec![daemon_on(&fake, &url, 0, 32)];
    assert!(
        daemons[0].wait_started(Duration::from_secs(60)),
        "{}",
        daemons[0].log()
    );
    let start = Utc::now() + chrono::Duration::seconds(10);
    drop_jobs(&daemons, 600, |k| {
        start + chrono::Duration::milliseconds(k as i64 * 10)
    });
    let sent = || one(&rt, &url, "SELECT count(*) FROM sends WHERE state = 'sent'");
    assert!(
        eventually(Duration::from_secs(60), || sent()
            .parse::<usize>()
            .unwrap_or(0)
            >= 100),
        "{}",
        log_tails(&daemons)
    );
    let cut = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
               WHERE datname = current_database() AND pid <> pg_backend_pid()";
    let cut_count = one(&rt, &url, cut);
    println!("cut {cut_count} connections");
    assert!(
        eventually(Duration::from_secs(90), || sent() == "600"),
        "not all sent after the cut: {:?}\n{}",
        rows(
            &rt,
            &url,
            "SELECT state, count(*) FROM sends GROUP BY state"
        ),
        log_tails(&daemons)
    );
    let mut d = daemons;
    assert!(
        d[0].wait(Duration::from_millis(10)).is_none(),
        "the daemon exited: {}",
        d[0].log()
    );
    // A result whose recording was cut is recorded on retry or reconciled; a re-post only
    // where an attempt was interrupted or unknown.
    let explained: Vec<String> = rows(
        &rt,
        &url,
        "SELECT DISTINCT s.reference FROM attempts a JOIN sends s ON s.id = a.send_id
         WHERE a.outcome IN ('interrupted', 'unknown')",
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    for (reference, n) in posts_by_reference(&fake) {
        assert!(
            n == 1 || explained.contains(&reference),
            "{reference} sent {n} times"
        );
    }
    assert_eq!(
        d[0].stop(Duration::from_secs(20)),
        Some(0),
        "{}",
        d[0].log()
    );
}
