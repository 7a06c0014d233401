//! One daemon per database: a second `msgspool run` on the same database is refused with
//! exit 75 before it touches anything, and a dry run never consumes real work.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use common::daemon::{ACCESS_KEY, Daemon, text_job};
use common::fake_bird::{FakeBird, FakeConfig};

const LONG: Duration = Duration::from_secs(30);

#[test]
fn a_second_daemon_on_the_same_database_exits_75_and_the_first_one_is_undisturbed() {
    let fake = FakeBird::start_blocking(FakeConfig {
        latency: Duration::from_millis(300),
        ..FakeConfig::default()
    });
    let mut d = Daemon::start(&fake, "");
    assert!(d.wait_started(LONG), "log:\n{}", d.log());
    for i in 0..10 {
        d.drop_job(&format!("job-{i}.toml"), &text_job(""));
    }
    // Some sends are in flight (300 ms at the fake) while the second daemon starts.
    assert!(d.eventually(
        LONG,
        || d.count("SELECT count(*) FROM sends WHERE state = 'sending'") > 0
    ));
    let second = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .arg("run")
        .arg("--config")
        .arg(d.config_path())
        .env("MSGSPOOL_ACCESS_KEY", ACCESS_KEY)
        .env_remove("NOTIFY_SOCKET")
        .output()
        .expect("run a second msgspool");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(75), "stderr:\n{stderr}");
    let pid = d.pid().expect("the first daemon runs");
    let wanted = format!(
        "another msgspool (pid {pid}) is running on {}",
        d.database().display()
    );
    assert!(stderr.contains(&wanted), "stderr:\n{stderr}");

    assert!(fake.wait_for_blocking(10, LONG), "log:\n{}", d.log());
    std::thread::sleep(Duration::from_millis(500));
    let mut per_reference: HashMap<String, usize> = HashMap::new();
    for r in fake.requests() {
        let reference = r.body["reference"].as_str().unwrap_or_default().to_owned();
        *per_reference.entry(reference).or_default() += 1;
    }
    assert_eq!(per_reference.len(), 10);
    assert!(
        per_reference.values().all(|&n| n == 1),
        "a send was posted twice: {per_reference:?}"
    );
    assert!(!d.log().contains("interrupted"), "log:\n{}", d.log());
    assert_eq!(d.stop(LONG), Some(0));
}

#[test]
fn a_dry_run_refuses_a_database_that_holds_real_sends() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let mut d = Daemon::start(&fake, "");
    assert!(d.wait_started(LONG), "log:\n{}", d.log());
    d.drop_job("real.toml", &text_job(""));
    assert!(fake.wait_for_blocking(1, LONG));
    assert_eq!(d.stop(LONG), Some(0));
    // A pending real send the dry run must not mark `dry-run`.
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    d.drop_job(
        "later.toml",
        &text_job(&format!(
            "scheduledFor = {:?}",
            common::daemon::rfc3339(later)
        )),
    );
    d.spawn();
    assert!(d.eventually(LONG, || d.count("SELECT count(*) FROM sends") == 2));
    assert_eq!(d.stop(LONG), Some(0));

    let dry = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["run", "--dry-run", "--database"])
        .arg(d.database())
        .arg("--spool")
        .arg(d.dir.path().join("dry-spool"))
        .env_remove("NOTIFY_SOCKET")
        .output()
        .expect("run msgspool --dry-run");
    let stderr = String::from_utf8_lossy(&dry.stderr);
    assert_eq!(dry.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(
        stderr.contains("holds sends of a real (not dry) run"),
        "stderr:\n{stderr}"
    );
    assert_eq!(
        d.count("SELECT count(*) FROM sends WHERE bird_status = 'dry-run'"),
        0
    );
    assert_eq!(
        d.count("SELECT count(*) FROM sends WHERE state = 'scheduled'"),
        1
    );
}

#[test]
fn a_dry_run_on_its_own_database_prints_and_records_dry_run_sends() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["run", "--dry-run", "--spool"])
        .arg(&spool)
        .env_remove("NOTIFY_SOCKET")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    common::daemon::drop_job_into(&spool, "hello.toml", &text_job(""));
    let db = dir.path().join("msgspool.db");
    let deadline = std::time::Instant::now() + LONG;
    let mut done = false;
    while std::time::Instant::now() < deadline && !done {
        done = common::daemon::query(
            &db,
            "SELECT count(*) FROM sends WHERE bird_status = 'dry-run'",
        )
        .first()
        .is_some_and(|r| r[0] == "1");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    assert!(done, "the dry run did not record its send");
}
