//! `cargo bench --bench million`: a million job files waiting when the release daemon
//! starts, against the fake Bird on 127.0.0.1. Prints intake files/s per slice, peak and
//! after-intake RSS, database bytes per pending send, restart to READY=1 through a real
//! `NOTIFY_SOCKET`, and the lateness of a few sends due while the million wait.
//! Figures, not assertions: the targets are compared in the README.
//!
//! `MSGSPOOL_BENCH_FILES=100000` runs smaller. Every loop is bounded in count and time;
//! traffic goes only to loopback; the temp folder (files, database) is removed at the end.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/mod.rs"]
mod support;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::daemon::{Daemon, rfc3339, text_job};
use common::fake_bird::{FakeBird, FakeConfig};
use support::{lateness_ms, quantile, usage, wait_within};

/// The longest any one phase may take before the bench gives up on it.
const LIMIT: Duration = Duration::from_secs(900);
/// Sends due after intake, one every [`LATE_STEP`], to measure lateness with a million
/// pending.
const LATE_SENDS: usize = 200;
const LATE_STEP: Duration = Duration::from_millis(50);
const RESTARTS: usize = 3;

fn main() {
    let n: usize = std::env::var("MSGSPOOL_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1_000_000);
    println!(
        "msgspool million benchmark: {n} job files waiting at start (release build, fake Bird on 127.0.0.1)"
    );
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let mut d = Daemon::start(&fake, "");
    // Let it create the database, then stop it and fill the spool.
    if !wait_within(LIMIT, || d.log().contains("msgspool started")) {
        println!("the daemon did not start [TIMED OUT]");
        return;
    }
    d.stop(LIMIT);
    fill(&d.spool(), n);
    // Past the settle time, as files waiting through a restart are.
    std::thread::sleep(Duration::from_millis(1500));

    let sock = NotifySocket::bind(d.dir.path());
    d.env
        .push(("NOTIFY_SOCKET".to_owned(), sock.path.display().to_string()));
    let started = Instant::now();
    d.spawn();
    match sock.wait_ready(LIMIT) {
        Some(at) => println!(
            "start:    READY=1 after {:.1} ms with {n} files waiting",
            ms(at - started)
        ),
        None => println!("start:    no READY=1 [TIMED OUT]"),
    }
    let pid = d.pid().unwrap_or(0);
    intake(&d.database(), n, started, pid);
    std::thread::sleep(Duration::from_secs(3));
    let after = usage(pid);
    println!(
        "memory:   peak RSS {:.1} MiB, RSS {:.1} MiB 3 s after intake",
        after.peak_rss_mib, after.rss_mib
    );
    database_size(&d.database());

    for i in 1..=RESTARTS {
        d.stop(LIMIT);
        let started = Instant::now();
        d.spawn();
        match sock.wait_ready(LIMIT) {
            Some(at) => println!(
                "restart:  #{i} READY=1 after {:.1} ms with {n} pending",
                ms(at - started)
            ),
            None => println!("restart:  #{i} no READY=1 [TIMED OUT]"),
        }
    }
    std::thread::sleep(Duration::from_secs(2));
    lateness(&d, &fake);
    let u = usage(d.pid().unwrap_or(0));
    println!(
        "memory:   restarted daemon peak RSS {:.1} MiB, RSS {:.1} MiB after the sends",
        u.peak_rss_mib, u.rss_mib
    );
    d.stop(LIMIT);
    let cleanup = Instant::now();
    drop(d);
    println!(
        "cleanup:  temp folder removed in {:.1} s",
        cleanup.elapsed().as_secs_f64()
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Writes `n` one-shot jobs due in 30 days straight into the (stopped) daemon's spool.
fn fill(spool: &Path, n: usize) {
    let later = rfc3339(Utc::now() + chrono::Duration::days(30));
    let text = text_job(&format!("scheduledFor = \"{later}\""));
    let started = Instant::now();
    for i in 0..n {
        if started.elapsed() > LIMIT {
            println!("fill:     stopped after {i} files [TIMED OUT]");
            return;
        }
        std::fs::write(spool.join(format!("job-{i:07}.toml")), &text).expect("write a job file");
    }
    let secs = started.elapsed().as_secs_f64();
    // Files that wait through a restart are on disk; without this, every commit's fsync
    // would also flush gigabytes of the fill.
    let synced = Instant::now();
    let ok = std::process::Command::new("sync")
        .status()
        .is_ok_and(|s| s.success());
    println!(
        "fill:     {n} files of {} bytes written in {secs:.1} s, synced to disk in {:.1} s{}",
        text.len(),
        synced.elapsed().as_secs_f64(),
        if ok { "" } else { " [sync FAILED]" }
    );
}

/// Follows intake through the database (highest job rowid: cheap at any size) and prints
/// files/s per slice, with the daemon's CPU time per file (which a busy machine does not
/// inflate, unlike files/s) and its RSS at each slice's end.
fn intake(db: &Path, n: usize, started: Instant, pid: u32) {
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        println!("intake:   cannot open the database");
        return;
    };
    let _ = conn.busy_timeout(Duration::from_secs(5));
    let taken = || -> usize {
        conn.query_row("SELECT coalesce(max(rowid), 0) FROM jobs", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_or(0, |v| usize::try_from(v).unwrap_or(0))
    };
    let slice = (n / 10).clamp(1, 100_000);
    let (mut first, mut marks) = (None, Vec::new());
    let mut next_mark = slice.min(n);
    let deadline = Instant::now() + LIMIT;
    let mut now_taken = 0;
    while now_taken < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        now_taken = taken();
        if first.is_none() && now_taken > 0 {
            first = Some((Instant::now(), now_taken, usage(pid).cpu_seconds));
        }
        while now_taken >= next_mark && next_mark <= n {
            let u = usage(pid);
            marks.push((next_mark, Instant::now(), u.rss_mib, u.cpu_seconds));
            next_mark += slice;
        }
    }
    let Some((first_at, first_count, first_cpu)) = first else {
        println!("intake:   nothing committed [TIMED OUT]");
        return;
    };
    println!(
        "intake:   first commit {:.0} ms after start",
        ms(first_at - started)
    );
    let mut prev = (first_count, first_at, first_cpu);
    for (mark, at, rss, cpu) in &marks {
        let secs = (*at - prev.1).as_secs_f64().max(1e-3);
        let files = mark.saturating_sub(prev.0).max(1) as f64;
        println!(
            "intake:   files {:>7} to {:>7}: {:>7.0} files/s, {:>4.0} µs CPU per file (RSS {rss:.1} MiB)",
            prev.0,
            mark,
            files / secs,
            (cpu - prev.2) * 1e6 / files
        );
        prev = (*mark, *at, *cpu);
    }
    let last = marks.last().map_or(first_at, |m| m.1);
    let secs = (last - first_at).as_secs_f64().max(1e-3);
    println!(
        "intake:   {now_taken} of {n} committed; first to last commit {secs:.1} s ({:.0} files/s){}",
        (now_taken - first_count) as f64 / secs,
        if now_taken >= n { "" } else { " [TIMED OUT]" }
    );
}

fn database_size(db: &Path) {
    let q = |sql: &str| common::daemon::query(db, sql);
    let one = |sql: &str| -> f64 {
        q(sql)
            .first()
            .and_then(|r| r.first())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let bytes = one("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size");
    let sends = one("SELECT count(*) FROM sends WHERE state = 'scheduled'");
    println!(
        "database: {:.0} MiB for {sends:.0} pending sends: {:.0} bytes per pending send",
        bytes / 1048576.0,
        bytes / sends.max(1.0)
    );
}

/// [`LATE_SENDS`] sends due one every [`LATE_STEP`] while the million wait: arrival at the
/// fake minus due time.
fn lateness(d: &Daemon, fake: &FakeBird) {
    let first: DateTime<Utc> = Utc::now() + chrono::Duration::seconds(5);
    let step = chrono::Duration::from_std(LATE_STEP).unwrap_or_default();
    for i in 0..LATE_SENDS {
        let due = first + step * i32::try_from(i).unwrap_or(0);
        let top = format!("scheduledFor = \"{}\"", rfc3339(due));
        d.drop_job(&format!("late-{i:04}.toml"), &text_job(&top));
    }
    let limit = Duration::from_secs(60) + LATE_STEP * LATE_SENDS as u32;
    let done = wait_within(limit, || fake.accepted_count() >= LATE_SENDS);
    let late_ms = lateness_ms(fake);
    let pick = |q: f64| quantile(&late_ms, q);
    let early = late_ms.iter().filter(|v| **v < 0.0).count();
    println!(
        "lateness: {} sends due {} ms apart with the million pending -> arrival minus due: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {early} early{}",
        late_ms.len(),
        LATE_STEP.as_millis(),
        pick(0.5),
        pick(0.99),
        late_ms.last().copied().unwrap_or(f64::NAN),
        if done { "" } else { " [TIMED OUT]" }
    );
}

/// systemd's side of `NOTIFY_SOCKET`: a datagram socket the daemon writes READY=1 to.
struct NotifySocket {
    path: PathBuf,
    socket: UnixDatagram,
}

impl NotifySocket {
    fn bind(dir: &Path) -> NotifySocket {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("read timeout");
        NotifySocket { path, socket }
    }

    /// When the next datagram with a `READY=1` line arrived (older ones are skipped).
    fn wait_ready(&self, limit: Duration) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        let mut buf = vec![0u8; 64 * 1024];
        while Instant::now() < deadline {
            let Ok(n) = self.socket.recv(&mut buf) else {
                continue; // timeout: look at the deadline again
            };
            let at = Instant::now();
            if String::from_utf8_lossy(&buf[..n])
                .lines()
                .any(|l| l == "READY=1")
            {
                return Some(at);
            }
        }
        None
    }
}
