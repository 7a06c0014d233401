//! `cargo bench --bench postgres`: 10,000 sends due at one instant, dispatched by 1 and
//! by 3 release daemons sharing one PostgreSQL database (a throwaway cluster on this
//! machine, fsync on) against the fake Bird on 127.0.0.1: sends/s from the due instant to
//! the last arrival, and lateness p50/p99/max. Figures, not assertions (README compares
//! them with the targets: >= 3,000 sends/s and p99 <= 50 ms with 3 daemons).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/pg.rs"]
mod pg;
#[path = "../tests/common/pg_daemon.rs"]
mod pg_daemon;
#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use common::daemon::{Daemon, rfc3339, text_job};
use common::fake_bird::{FakeBird, FakeConfig};
use pg_daemon::{daemon_on, one};
use support::{lateness_ms, quantile, usage, wait_within};

const SENDS: usize = 10_000;

fn main() {
    // A durable server, as in production: the tests' cluster turns fsync off.
    // SAFETY: set before any thread of this process reads the environment.
    unsafe { std::env::set_var("MSGSPOOL_PG_DURABLE", "1") };
    println!(
        "msgspool PostgreSQL benchmark (release build, PostgreSQL and fake Bird on this machine)"
    );
    for daemons in [1, 3] {
        run(daemons);
    }
}

fn run(n_daemons: usize) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let url = rt.block_on(pg::cluster().fresh_database());
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let daemons: Vec<Daemon> = (0..n_daemons)
        .map(|_| daemon_on(&fake, &url, 0, 256))
        .collect();
    for d in &daemons {
        if !d.wait_started(Duration::from_secs(60)) {
            println!("{n_daemons} daemon(s): did not start [FAILED]\n{}", d.log());
            return;
        }
    }
    let due = Utc::now() + chrono::Duration::seconds(40);
    let due_text = rfc3339(due);
    let per = SENDS.div_ceil(n_daemons);
    for (n, d) in daemons.iter().enumerate() {
        for i in 0..per {
            let k = n * per + i;
            // The reference ends in the due instant (ms), which `lateness_ms` reads.
            d.drop_job(
                &format!("bench-{k:05}.toml"),
                &text_job(&format!("scheduledFor = \"{due_text}\"")),
            );
        }
    }
    let total = per * n_daemons;
    let stored = wait_within(Duration::from_secs(120), || {
        one(&rt, &url, "SELECT count(*) FROM sends")
            .parse::<usize>()
            .unwrap_or(0)
            >= total
    });
    if !stored || Utc::now() >= due {
        println!("{n_daemons} daemon(s): intake did not finish before the due instant [FAILED]");
        return;
    }
    let cpu_before: f64 = daemons
        .iter()
        .map(|d| usage(d.pid().unwrap_or(0)).cpu_seconds)
        .sum();
    std::thread::sleep((due - Utc::now()).to_std().unwrap_or(Duration::ZERO));
    let started = Instant::now();
    let arrived = wait_within(Duration::from_secs(300), || fake.accepted_count() >= total);
    let late = lateness_ms(&fake);
    let last = late.last().copied().unwrap_or(f64::NAN);
    let rate =
        total as f64 / (last / 1000.0).max(started.elapsed().as_secs_f64().min(last / 1000.0));
    let sent = wait_within(Duration::from_secs(120), || {
        one(&rt, &url, "SELECT count(*) FROM sends WHERE state = 'sent'")
            .parse::<usize>()
            .unwrap_or(0)
            >= total
    });
    let cpu_after: f64 = daemons
        .iter()
        .map(|d| usage(d.pid().unwrap_or(0)).cpu_seconds)
        .sum();
    let early = late.iter().filter(|v| **v < 0.0).count();
    println!(
        "{n_daemons} daemon(s): {total} sends due at one instant -> {rate:.0} sends/s (due to last arrival {:.2} s); lateness p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {early} early; daemons' CPU {:.2} s{}",
        last / 1000.0,
        quantile(&late, 0.5),
        quantile(&late, 0.99),
        last,
        cpu_after - cpu_before,
        if arrived && sent { "" } else { " [TIMED OUT]" }
    );
}
