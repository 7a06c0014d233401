//! What every benchmark here reads the same way: the daemon's memory and CPU from /proc,
//! a count from the database, a bounded wait, and each accepted send's lateness (the
//! fake's receive time minus the due instant the job put in its `reference`).
#![allow(dead_code)] // Each bench uses its own part.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::fake_bird::FakeBird;

/// Process figures read from /proc: resident memory now and at its peak, CPU time so far.
pub struct Usage {
    pub peak_rss_mib: f64,
    pub rss_mib: f64,
    pub cpu_seconds: f64,
}

pub fn usage(pid: u32) -> Usage {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let (user, system) = cpu_times(&format!("/proc/{pid}/stat"));
    Usage {
        peak_rss_mib: kib("VmHWM:") / 1024.0,
        rss_mib: kib("VmRSS:") / 1024.0,
        cpu_seconds: user + system,
    }
}

/// CPU seconds so far (user, system) from a `stat` file of /proc: a process's
/// (`/proc/PID/stat`) or the calling thread's (`/proc/thread-self/stat`).
pub fn cpu_times(stat: &str) -> (f64, f64) {
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    let mut seconds = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|v| v.parse::<f64>().unwrap_or(0.0) / 100.0); // USER_HZ is 100 on Linux
    (seconds.next().unwrap_or(0.0), seconds.next().unwrap_or(0.0))
}

/// The first number the query answers, 0 when it answers none.
pub fn count(db: &Path, sql: &str) -> usize {
    crate::common::daemon::query(db, sql)
        .first()
        .and_then(|r| r.first())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Polls `f` every 5 ms until it holds or `limit` has passed; whether it held.
pub fn wait_within(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

/// Every accepted send's lateness in ms, sorted; the job's `reference` ends in `:DUE_MS`.
pub fn lateness_ms(fake: &FakeBird) -> Vec<f64> {
    let mut late: Vec<f64> = fake
        .accepted()
        .iter()
        .filter_map(|r| {
            let due = r.body["reference"]
                .as_str()?
                .rsplit(':')
                .next()?
                .parse::<i64>()
                .ok()?;
            Some((r.arrived_at.timestamp_micros() - due * 1000) as f64 / 1000.0)
        })
        .collect();
    late.sort_by(f64::total_cmp);
    late
}

/// The `q` quantile of sorted figures (NaN when there are none).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 - 1.0) * q).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}
