//! `wan`: sends due at once against a fake that answers after a WAN round trip, on the
//! shipped `[bird]` defaults (or the old fixed window, for `wan32`).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::common::daemon::{Daemon, rfc3339};
use super::common::fake_bird::{FakeBird, FakeConfig};
use super::{count, drop_all, usage, wait_until};

/// A daemon on the shipped `[bird]` defaults (rate limit, window cap, claim-ahead): the
/// helper's config without its `rate_limit` and `max_in_flight` lines; `window` keeps the
/// latter at that value.
fn start_shipped(fake: &FakeBird, window: Option<usize>) -> Daemon {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("spool")).expect("spool");
    let text = Daemon::config_text(fake, dir.path(), "", window.unwrap_or(0), 0)
        .lines()
        .filter(|l| {
            !l.starts_with("rate_limit") && (window.is_some() || !l.starts_with("max_in_flight"))
        })
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    std::fs::write(dir.path().join("config.toml"), text).expect("config");
    let mut d = Daemon {
        dir,
        child: None,
        extra_config: String::new(),
        env: Vec::new(),
        unset: Vec::new(),
    };
    d.spawn();
    d
}

/// `n` sends due at one instant against a fake that answers after `latency` (Bird over
/// the internet), shipped defaults: sends/s between the 10th and 90th percentile of the
/// fake's receive times.
pub fn wan(n: usize, latency: Duration, window: Option<usize>) {
    let fake = FakeBird::start_blocking(FakeConfig {
        latency,
        ..FakeConfig::default()
    });
    let d = start_shipped(&fake, window);
    wait_until(|| d.log().contains("msgspool started"));
    let due: DateTime<Utc> = Utc::now() + chrono::Duration::seconds(15);
    let due_text = rfc3339(due);
    drop_all(&d, n, |_| format!("scheduledFor = \"{due_text}\""));
    let db = d.database();
    if !wait_until(|| count(&db, "SELECT count(*) FROM sends") >= n) {
        println!("wan:      intake did not finish [TIMED OUT]");
        return;
    }
    let done = wait_until(|| fake.accepted_count() >= n);
    let mut arrived: Vec<DateTime<Utc>> = fake.accepted().iter().map(|r| r.arrived_at).collect();
    arrived.sort();
    let at = |q: f64| {
        arrived
            .get(((arrived.len() as f64 - 1.0) * q).round() as usize)
            .copied()
    };
    let (Some(p10), Some(p90), Some(last)) = (at(0.1), at(0.9), arrived.last().copied()) else {
        println!("wan:      nothing arrived [TIMED OUT]");
        return;
    };
    let middle = (p90 - p10).num_microseconds().unwrap_or(0) as f64 / 1e6;
    let sends = (arrived.len() as f64 * 0.8).round();
    let u = usage(d.pid().unwrap_or(0));
    println!(
        "wan:      {n} sends due at one instant, fake answers after {} ms, {} -> {:.0} sends/s between p10 and p90 of receive times; last at due + {:.2} s{}; peak RSS {:.1} MiB, CPU {:.2} s",
        latency.as_millis(),
        window.map_or("shipped defaults".to_owned(), |w| format!(
            "max_in_flight = {w}"
        )),
        sends / middle,
        (last - due).num_milliseconds() as f64 / 1000.0,
        if done { "" } else { " [TIMED OUT]" },
        u.peak_rss_mib,
        u.cpu_seconds
    );
}
