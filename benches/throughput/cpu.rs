//! `cpu`: the daemon's CPU seconds per send, end to end.

use std::time::Instant;

use super::common::daemon::{Daemon, text_job};
use super::common::fake_bird::{FakeBird, FakeConfig};
use super::{count, usage, wait_until};

/// Daemon CPU seconds for `n` sends end to end: files taken in, sent (rate limit off),
/// every outcome recorded; the idle daemon's CPU before the files are dropped is not
/// counted.
pub fn cpu(n: usize) {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let d = Daemon::start_tuned(&fake, "", 256);
    wait_until(|| d.log().contains("msgspool started"));
    let staging = d.dir.path().join("staging");
    std::fs::create_dir_all(&staging).expect("staging");
    for i in 0..n {
        std::fs::write(staging.join(format!("job-{i:05}.toml")), text_job("")).expect("write");
    }
    let pid = d.pid().unwrap_or(0);
    let before = usage(pid);
    let started = Instant::now();
    for i in 0..n {
        let name = format!("job-{i:05}.toml");
        std::fs::rename(staging.join(&name), d.spool().join(&name)).expect("rename");
    }
    let db = d.database();
    let done = wait_until(|| count(&db, "SELECT count(*) FROM sends WHERE state = 'sent'") >= n);
    let secs = started.elapsed().as_secs_f64();
    let after = usage(pid);
    let cpu = after.cpu_seconds - before.cpu_seconds;
    println!(
        "cpu:      {n} sends end to end (intake, dispatch, recording; rate limit off) in {secs:.2} s -> daemon CPU {cpu:.2} s ({:.0} µs per send){}; peak RSS {:.1} MiB",
        cpu * 1e6 / n as f64,
        if done { "" } else { " [TIMED OUT]" },
        after.peak_rss_mib
    );
}
