//! `cargo bench --bench throughput [-- intake|dispatch|lateness|wan|cpu|floor ...]`: the release
//! daemon against the fake Bird on 127.0.0.1, printing intake, dispatch, lateness, WAN
//! throughput and CPU figures (and `floor`, the least the same work costs without msgspool) with the daemon's peak RSS and CPU seconds. No name runs
//! them all. Figures, not assertions: the targets are compared in the README.
//!
//! Every loop here is bounded in count and time; traffic goes only to loopback.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::daemon::{Daemon, rfc3339, text_job};
use common::fake_bird::{FakeBird, FakeConfig};
use support::{count, lateness_ms, quantile, usage, wait_within};

#[path = "throughput/cpu.rs"]
mod cpu;
#[path = "throughput/floor.rs"]
mod floor;
#[path = "throughput/wan.rs"]
mod wan;

use cpu::cpu;
use floor::floor;
use wan::wan;

const LIMIT: Duration = Duration::from_secs(300);

/// `wan32` is `wan` with the old fixed window (`max_in_flight = 32`), for comparison.
const SCENARIOS: [&str; 7] = [
    "intake", "dispatch", "lateness", "wan", "cpu", "floor", "wan32",
];

fn main() {
    // `cargo bench` passes `--bench`; every other argument names a scenario.
    let asked: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if let Some(unknown) = asked.iter().find(|a| !SCENARIOS.contains(&a.as_str())) {
        eprintln!(
            "unknown scenario `{unknown}`; choose from {}",
            SCENARIOS.join(", ")
        );
        std::process::exit(2);
    }
    let runs = |name: &str| asked.is_empty() || asked.iter().any(|a| a == name);
    println!("msgspool throughput benchmark (release build, fake Bird on 127.0.0.1)");
    if runs("intake") {
        intake(10_000);
        intake_waiting(100_000);
    }
    if runs("dispatch") {
        dispatch(10_000);
    }
    if runs("lateness") {
        lateness(1_000, Duration::from_secs(10));
    }
    if runs("wan") {
        wan(10_000, Duration::from_millis(150), None);
        wan(10_000, Duration::from_millis(400), None);
    }
    if asked.iter().any(|a| a == "wan32") {
        wan(10_000, Duration::from_millis(150), Some(32));
        wan(10_000, Duration::from_millis(400), Some(32));
    }
    if runs("cpu") {
        cpu(10_000);
    }
    if runs("floor") {
        floor(20_000);
    }
}

fn wait_until(f: impl FnMut() -> bool) -> bool {
    wait_within(LIMIT, f)
}

/// Writes `n` job files into a staging folder beside the spool, then renames them all in.
fn drop_all(d: &Daemon, n: usize, top: impl Fn(usize) -> String) -> Instant {
    let staging = d.dir.path().join("staging");
    std::fs::create_dir_all(&staging).expect("staging");
    for i in 0..n {
        std::fs::write(staging.join(format!("job-{i:05}.toml")), text_job(&top(i))).expect("write");
    }
    let started = Instant::now();
    for i in 0..n {
        let name = format!("job-{i:05}.toml");
        std::fs::rename(staging.join(&name), d.spool().join(&name)).expect("rename");
    }
    started
}

fn intake(n: usize) {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let d = Daemon::start(&fake, "");
    std::thread::sleep(Duration::from_millis(500));
    let later = rfc3339(Utc::now() + chrono::Duration::days(30));
    let started = drop_all(&d, n, |_| format!("scheduledFor = \"{later}\""));
    let db = d.database();
    let done = wait_until(|| count(&db, "SELECT count(*) FROM jobs") >= n);
    let secs = started.elapsed().as_secs_f64();
    let u = usage(d.pid().unwrap_or(0));
    println!(
        "intake:   {n} files dropped at once -> all committed in {secs:.2} s ({:.0} files/s){}; peak RSS {:.1} MiB, CPU {:.2} s",
        n as f64 / secs,
        if done { "" } else { " [TIMED OUT]" },
        u.peak_rss_mib,
        u.cpu_seconds
    );
}

/// `n` files already waiting when the daemon starts: time to the first commit, files/s and
/// peak RSS (memory must not grow with the number of waiting files).
fn intake_waiting(n: usize) {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let mut d = Daemon::start(&fake, "");
    // Let it create the database, then stop it and fill the spool.
    wait_until(|| d.log().contains("msgspool started"));
    d.stop(LIMIT);
    let later = rfc3339(Utc::now() + chrono::Duration::days(30));
    let spool = d.spool();
    for i in 0..n {
        let name = format!("job-{i:06}.toml");
        let tmp = spool.join(format!(".{name}"));
        std::fs::write(&tmp, text_job(&format!("scheduledFor = \"{later}\""))).expect("write");
        std::fs::rename(&tmp, spool.join(&name)).expect("rename");
    }
    // Past the settle time, as files waiting through a restart are.
    std::thread::sleep(Duration::from_millis(1500));
    let db = d.database();
    let started = Instant::now();
    d.spawn();
    let first = wait_until(|| count(&db, "SELECT count(*) FROM jobs") >= 1);
    let to_first = started.elapsed().as_secs_f64();
    let done = wait_until(|| count(&db, "SELECT count(*) FROM jobs") >= n);
    let secs = started.elapsed().as_secs_f64();
    let u = usage(d.pid().unwrap_or(0));
    println!(
        "intake:   {n} files waiting at start -> first commit after {to_first:.2} s{}, all in {secs:.2} s ({:.0} files/s){}; peak RSS {:.1} MiB, CPU {:.2} s",
        if first { "" } else { " [TIMED OUT]" },
        n as f64 / secs,
        if done { "" } else { " [TIMED OUT]" },
        u.peak_rss_mib,
        u.cpu_seconds
    );
}

fn dispatch(n: usize) {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let d = Daemon::start_tuned(&fake, "", 64);
    let due: DateTime<Utc> = Utc::now() + chrono::Duration::seconds(20);
    let due_text = rfc3339(due);
    drop_all(&d, n, |_| format!("scheduledFor = \"{due_text}\""));
    let db = d.database();
    if !wait_until(|| count(&db, "SELECT count(*) FROM sends") >= n) {
        println!("dispatch: intake did not finish [TIMED OUT]");
        return;
    }
    let before = usage(d.pid().unwrap_or(0));
    let wait = (due - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    std::thread::sleep(wait);
    let started = Instant::now();
    let all_arrived = wait_until(|| fake.accepted_count() >= n);
    let arrived = started.elapsed().as_secs_f64();
    let all_sent =
        wait_until(|| count(&db, "SELECT count(*) FROM sends WHERE state = 'sent'") >= n);
    let secs = started.elapsed().as_secs_f64();
    let u = usage(d.pid().unwrap_or(0));
    println!(
        "dispatch: {n} sends due at one instant -> all at the fake in {arrived:.2} s, all `sent` in the database in {secs:.2} s ({:.0} sends/s){}; peak RSS {:.1} MiB, CPU {:.2} s during dispatch; schema violations: {}",
        n as f64 / secs,
        if all_arrived && all_sent {
            ""
        } else {
            " [TIMED OUT]"
        },
        u.peak_rss_mib,
        u.cpu_seconds - before.cpu_seconds,
        fake.schema_violations().len()
    );
}

fn lateness(n: usize, over: Duration) {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let d = Daemon::start(&fake, "");
    let first: DateTime<Utc> = Utc::now() + chrono::Duration::seconds(15);
    let step = over / n as u32;
    let due_of = |i: usize| first + chrono::Duration::from_std(step * i as u32).unwrap_or_default();
    drop_all(&d, n, |i| {
        format!("scheduledFor = \"{}\"", rfc3339(due_of(i)))
    });
    let done = wait_until(|| fake.accepted_count() >= n);
    let late_ms = lateness_ms(&fake);
    let pick = |q: f64| quantile(&late_ms, q);
    let early = late_ms.iter().filter(|v| **v < 0.0).count();
    let u = usage(d.pid().unwrap_or(0));
    println!(
        "lateness: {n} sends due at distinct instants over {:.0} s -> arrival minus due: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms; {early} early{}; peak RSS {:.1} MiB, CPU {:.2} s",
        over.as_secs_f64(),
        pick(0.5),
        pick(0.99),
        pick(0.999),
        late_ms.last().copied().unwrap_or(f64::NAN),
        if done { "" } else { " [TIMED OUT]" },
        u.peak_rss_mib,
        u.cpu_seconds
    );
}
