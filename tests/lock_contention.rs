//! An operator's `sqlite3` holding a write transaction open on the live database: the
//! daemon waits for the lock, says so in its log, and afterwards takes in and sends every
//! job dropped meanwhile; nothing is rejected, lost or sent twice.

mod common;

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::daemon::{Daemon, rfc3339, text_job};
use common::fake_bird::{FakeBird, FakeConfig};

const LONG: Duration = Duration::from_secs(30);
/// How long the operator keeps the write transaction open.
const HOLD: Duration = Duration::from_secs(5);
const JOBS: usize = 20;

/// Whether another connection holds the database's write lock right now.
fn write_locked(db: &Path) -> bool {
    let Ok(conn) = rusqlite::Connection::open(db) else {
        return false;
    };
    let _ = conn.busy_timeout(Duration::ZERO);
    match conn.execute_batch("BEGIN IMMEDIATE") {
        Ok(()) => {
            let _ = conn.execute_batch("ROLLBACK");
            false
        }
        Err(e) => e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy),
    }
}

#[test]
fn jobs_dropped_while_sqlite3_holds_a_write_transaction_are_all_taken_in_and_sent_after() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let mut d = Daemon::start(&fake, "");
    assert!(
        d.eventually(LONG, || d.log().contains("msgspool started")),
        "log:\n{}",
        d.log()
    );

    // The operator: `sqlite3 DB`, BEGIN IMMEDIATE, a write, and then a pause.
    let mut operator = Command::new("sqlite3")
        .arg("-batch")
        .arg(d.database())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sqlite3 CLI is installed");
    let mut stdin = operator.stdin.take().expect("piped stdin");
    stdin
        .write_all(
            b".timeout 5000\nBEGIN IMMEDIATE;\n\
              INSERT INTO events (at, kind, detail) \
              VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'operator', 'looking around');\n",
        )
        .expect("write to sqlite3");
    stdin.flush().expect("flush");
    assert!(
        d.eventually(LONG, || write_locked(&d.database())),
        "sqlite3 never took the write lock"
    );
    let locked_at = Instant::now();

    // Meanwhile 20 jobs: half due at once, half due in 1 to 3 s.
    for i in 0..JOBS {
        let top = if i % 2 == 0 {
            String::new()
        } else {
            let due = Utc::now() + chrono::Duration::milliseconds(1000 + 200 * i as i64);
            format!("scheduledFor = \"{}\"", rfc3339(due))
        };
        d.drop_job(&format!("locked-{i:02}.toml"), &text_job(&top));
    }
    std::thread::sleep(HOLD.saturating_sub(locked_at.elapsed()));
    assert!(write_locked(&d.database()), "the lock went away early");
    let released_at = Utc::now();
    stdin
        .write_all(b"ROLLBACK;\n.quit\n")
        .expect("write to sqlite3");
    drop(stdin);
    let out = operator.wait_with_output().expect("sqlite3 ends");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "sqlite3: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let references = || -> HashSet<String> {
        fake.accepted()
            .iter()
            .filter_map(|r| r.body["reference"].as_str().map(str::to_owned))
            .collect()
    };
    assert!(
        d.eventually(LONG, || references().len() == JOBS),
        "{} of {JOBS} sent; log:\n{}",
        references().len(),
        d.log()
    );
    assert!(
        d.eventually(LONG, || d
            .query("SELECT count(*) FROM sends WHERE state = 'sent'")
            == [vec![JOBS.to_string()]]),
        "{:?}",
        d.query("SELECT state, count(*) FROM sends GROUP BY state")
    );
    assert_eq!(fake.accepted_count(), JOBS, "nothing sent twice");
    assert!(
        fake.requests().iter().all(|r| r.arrived_at >= released_at),
        "a send went out while the database was locked"
    );
    assert_eq!(
        d.query("SELECT count(*) FROM rejections"),
        [vec!["0".to_owned()]]
    );
    assert!(
        !d.spool().join("rejected").exists() || {
            std::fs::read_dir(d.spool().join("rejected")).map_or(0, Iterator::count) == 0
        }
    );
    assert_eq!(
        d.query("SELECT count(*) FROM events WHERE kind = 'operator'"),
        [vec!["0".to_owned()]],
        "the operator's transaction was rolled back"
    );
    let log = d.log();
    assert!(
        log.contains("locked by another writer"),
        "the log does not say the daemon waited for the lock:\n{log}"
    );
    assert_eq!(d.stop(LONG), Some(0));
}
