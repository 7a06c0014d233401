//! `cargo bench --bench delivery`: 10,000 sends due at one instant, the release daemon
//! against the fake Bird on 127.0.0.1, once with delivery polling off and once on (schedule
//! started at 1 s so that look-ups overlap the sends). Prints the POST rate reached in
//! each run and the GETs per second polling used. Figures, not assertions.
//!
//! Every loop here is bounded in count and time; traffic goes only to loopback.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::daemon::{Daemon, rfc3339, text_job};
use common::fake_bird::{FakeBird, FakeConfig, Step};
use support::{count, wait_within};

const LIMIT: Duration = Duration::from_secs(300);
const SENDS: usize = 10_000;
/// After the last send, how long look-ups are counted for.
const AFTER: Duration = Duration::from_secs(10);

fn main() {
    println!("msgspool delivery benchmark (release build, fake Bird on 127.0.0.1, {SENDS} sends)");
    let off = run("[delivery]\npoll = false\n");
    let on = run("[delivery]\npoll_start = \"1s\"\n");
    if let (Some(off), Some(on)) = (off, on) {
        println!(
            "POST rate with polling on is {:.1} % of the rate with polling off",
            on / off * 100.0
        );
    }
}

fn wait_until(f: impl FnMut() -> bool) -> bool {
    wait_within(LIMIT, f)
}

/// One run; returns the POST rate reached (sends/s), `None` if it timed out.
fn run(extra: &str) -> Option<f64> {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    fake.set_timeline("", vec![Step::to(500, "sent"), Step::to(3000, "delivered")]);
    let d = Daemon::start_tuned(&fake, extra, 64);
    let due: DateTime<Utc> = Utc::now() + chrono::Duration::seconds(20);
    let due_text = rfc3339(due);
    let staging = d.dir.path().join("staging");
    std::fs::create_dir_all(&staging).expect("staging");
    for i in 0..SENDS {
        let text = text_job(&format!("scheduledFor = \"{due_text}\""));
        std::fs::write(staging.join(format!("job-{i:05}.toml")), text).expect("write");
    }
    for i in 0..SENDS {
        let name = format!("job-{i:05}.toml");
        std::fs::rename(staging.join(&name), d.spool().join(&name)).expect("rename");
    }
    let db = d.database();
    if !wait_until(|| count(&db, "SELECT count(*) FROM sends") >= SENDS) {
        println!("{extra:?}: intake did not finish [TIMED OUT]");
        return None;
    }
    std::thread::sleep((due - Utc::now()).to_std().unwrap_or(Duration::ZERO));
    let started = Instant::now();
    let arrived = wait_until(|| fake.accepted_count() >= SENDS);
    let secs = started.elapsed().as_secs_f64();
    let gets_during = fake.lookups().len();
    std::thread::sleep(AFTER);
    let gets = fake.lookups().len();
    let rate = SENDS as f64 / secs;
    println!(
        "{}: {SENDS} POSTs in {secs:.2} s ({rate:.0} POST/s){}; GETs: {gets_during} during the sends ({:.1}/s), {gets} by {} s later ({:.1}/s over the whole run)",
        extra.lines().nth(1).unwrap_or(extra),
        if arrived { "" } else { " [TIMED OUT]" },
        gets_during as f64 / secs,
        AFTER.as_secs(),
        gets as f64 / (secs + AFTER.as_secs_f64()),
    );
    arrived.then_some(rate)
}
