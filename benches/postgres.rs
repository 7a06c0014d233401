//! `cargo bench --bench postgres`: 1 and 3 release daemons sharing one PostgreSQL
//! database (a throwaway cluster on this machine, fsync on), each with its own spool,
//! against the fake Bird on 127.0.0.1. Two loads:
//! - burst: 10,000 sends due at one instant: sends/s from the due instant to the last
//!   arrival (lateness here is queueing: the last send waits for the 9,999 before it);
//! - steady: 3,000 sends due evenly over 10 s (300/s, as a busy hour's traffic):
//!   lateness p50/p99/max.
//!
//! Figures, not assertions (the README compares them with the targets: >= 3,000 sends/s,
//! and p99 lateness <= 50 ms, with 3 daemons).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/pg.rs"]
mod pg;
#[path = "../tests/common/pg_daemon.rs"]
mod pg_daemon;
#[path = "support/mod.rs"]
mod support;

use std::time::Duration;

use chrono::Utc;
use common::daemon::{Daemon, rfc3339, text_job};
use common::fake_bird::{FakeBird, FakeConfig};
use pg_daemon::{daemon_on, one};
use support::{lateness_ms, quantile, usage, wait_within};

/// How a load's sends fall due.
#[derive(Clone, Copy)]
enum Load {
    Burst { sends: usize },
    Steady { sends: usize, over: Duration },
}

fn main() {
    // A durable server, as in production: the tests' cluster turns fsync off.
    // SAFETY: set before any thread of this process reads the environment.
    unsafe { std::env::set_var("MSGSPOOL_PG_DURABLE", "1") };
    println!(
        "msgspool PostgreSQL benchmark (release build, PostgreSQL and fake Bird on this machine)"
    );
    let steady = Load::Steady {
        sends: 3_000,
        over: Duration::from_secs(10),
    };
    for daemons in [1, 3] {
        run(daemons, Load::Burst { sends: 10_000 });
        run(daemons, steady);
    }
}

fn run(n_daemons: usize, load: Load) {
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
    let (sends, spread, label) = match load {
        Load::Burst { sends } => (
            sends,
            Duration::ZERO,
            format!("burst, {sends} sends due at one instant"),
        ),
        Load::Steady { sends, over } => (
            sends,
            over,
            format!("steady, {sends} sends due over {} s", over.as_secs()),
        ),
    };
    let first_due = Utc::now() + chrono::Duration::seconds(40);
    let per = sends.div_ceil(n_daemons);
    let total = per * n_daemons;
    let step = spread.as_secs_f64() / total as f64;
    for (n, d) in daemons.iter().enumerate() {
        for i in 0..per {
            // Daemons' sends interleave, so each daemon's share is spread too.
            let k = i * n_daemons + n;
            let offset = chrono::Duration::microseconds((k as f64 * step * 1e6) as i64);
            // The reference ends in the due instant (ms), which `lateness_ms` reads.
            d.drop_job(
                &format!("bench-{k:05}.toml"),
                &text_job(&format!(
                    "scheduledFor = \"{}\"",
                    rfc3339(first_due + offset)
                )),
            );
        }
    }
    let stored = wait_within(Duration::from_secs(120), || {
        one(&rt, &url, "SELECT count(*) FROM sends")
            .parse::<usize>()
            .unwrap_or(0)
            >= total
    });
    if !stored || Utc::now() >= first_due {
        println!(
            "{n_daemons} daemon(s), {label}: intake did not finish before the due instant [FAILED]"
        );
        return;
    }
    let cpu_before: f64 = daemons
        .iter()
        .map(|d| usage(d.pid().unwrap_or(0)).cpu_seconds)
        .sum();
    std::thread::sleep((first_due - Utc::now()).to_std().unwrap_or(Duration::ZERO));
    let arrived = wait_within(Duration::from_secs(300), || fake.accepted_count() >= total);
    let late = lateness_ms(&fake);
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
    let last = late.last().copied().unwrap_or(f64::NAN);
    let rate = match load {
        // From the due instant to the last arrival (the last send's lateness).
        Load::Burst { .. } => format!(
            "{:.0} sends/s (due to last arrival {:.2} s); ",
            total as f64 / (last / 1000.0).max(1e-3),
            last / 1000.0
        ),
        Load::Steady { .. } => String::new(),
    };
    println!(
        "{n_daemons} daemon(s), {label}: {rate}lateness p50 {:.1} ms, p99 {:.1} ms, max {last:.1} ms; {early} early; daemons' CPU {:.2} s{}",
        quantile(&late, 0.5),
        quantile(&late, 0.99),
        cpu_after - cpu_before,
        if arrived && sent { "" } else { " [TIMED OUT]" }
    );
}
