//! End-to-end: what a hostile or careless producer can drop into the spool. The real
//! daemon, a temp spool and the fake Bird: nothing may crash, stall, overwrite or be lost.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::daemon::{Daemon, text_job};
use common::fake_bird::{FakeBird, FakeConfig};

const LONG: Duration = Duration::from_secs(30);

fn fake() -> FakeBird {
    FakeBird::start_blocking(FakeConfig::default())
}

fn rejected(d: &Daemon, name: &str) -> std::path::PathBuf {
    d.spool().join("rejected").join(name)
}

fn wait_for_file(d: &Daemon, path: &Path) {
    assert!(
        d.eventually(LONG, || path.exists()),
        "{} never appeared; log:\n{}",
        path.display(),
        d.log()
    );
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn a_planted_link_at_the_err_name_is_not_followed_and_the_file_is_kept_under_a_free_name() {
    let fake = fake();
    let d = Daemon::start(&fake, "");
    assert!(d.wait_started(LONG));
    let victim = d.dir.path().join("victim.db");
    std::fs::write(&victim, "precious").unwrap();
    std::fs::create_dir_all(d.spool().join("rejected")).unwrap();
    std::os::unix::fs::symlink(&victim, rejected(&d, "bad.toml.err")).unwrap();
    d.drop_job("bad.toml", "recevier = 1\n");
    wait_for_file(&d, &rejected(&d, "bad.1.toml"));
    assert_eq!(read(&victim), "precious");
    assert_eq!(read(&rejected(&d, "bad.1.toml")), "recevier = 1\n");
    assert!(read(&rejected(&d, "bad.1.toml.err")).contains("recevier"));
}

#[test]
fn two_bad_files_with_the_same_name_are_both_kept() {
    let fake = fake();
    let d = Daemon::start(&fake, "");
    d.drop_job("bad.toml", "first = 1\n");
    wait_for_file(&d, &rejected(&d, "bad.toml"));
    d.drop_job("bad.toml", "second = 2\n");
    wait_for_file(&d, &rejected(&d, "bad.1.toml"));
    assert_eq!(read(&rejected(&d, "bad.toml")), "first = 1\n");
    assert_eq!(read(&rejected(&d, "bad.1.toml")), "second = 2\n");
    assert!(read(&rejected(&d, "bad.toml.err")).contains("first"));
    assert!(read(&rejected(&d, "bad.1.toml.err")).contains("second"));
}

#[test]
fn a_fifo_and_a_link_to_dev_zero_do_not_stall_intake_or_shutdown() {
    let fake = fake();
    let mut d = Daemon::start(&fake, "");
    assert!(d.wait_started(LONG));
    let fifo = d.spool().join("fifo.toml");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink("/dev/zero", d.spool().join("zero.toml")).unwrap();
    d.drop_job("ok.toml", &text_job(""));
    assert!(fake.wait_for_blocking(1, LONG), "log:\n{}", d.log());
    wait_for_file(&d, &rejected(&d, "fifo.toml.err"));
    wait_for_file(&d, &rejected(&d, "zero.toml.err"));
    assert!(read(&rejected(&d, "zero.toml.err")).contains("symbolic links"));
    let started = Instant::now();
    assert_eq!(
        d.stop(Duration::from_secs(15)),
        Some(0),
        "log:\n{}",
        d.log()
    );
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn a_huge_validity_is_rejected_naming_validity_and_the_valid_file_beside_it_is_sent() {
    let fake = fake();
    let d = Daemon::start(&fake, "");
    d.drop_job("huge.toml", &text_job("validity = 9000000000000"));
    d.drop_job("ok.toml", &text_job(""));
    assert!(fake.wait_for_blocking(1, LONG), "log:\n{}", d.log());
    wait_for_file(&d, &rejected(&d, "huge.toml.err"));
    let err = read(&rejected(&d, "huge.toml.err"));
    assert!(err.contains("huge.toml:1:1: error: validity: "), "{err}");
    // Later files are still taken in.
    d.drop_job("later.toml", &text_job(""));
    assert!(fake.wait_for_blocking(2, LONG), "log:\n{}", d.log());
}

#[test]
fn instants_outside_years_0000_to_9999_are_rejected_not_retried_forever() {
    let fake = fake();
    let d = Daemon::start(&fake, "");
    d.drop_job(
        "year0.toml",
        &text_job("scheduledFor = \"0000-01-01T00:00:00+01:00\""),
    );
    d.drop_job(
        "year10000.toml",
        &text_job("cron = \"0 9 * * *\"\nuntil = \"9999-12-31T23:59:59-01:00\""),
    );
    wait_for_file(&d, &rejected(&d, "year0.toml.err"));
    wait_for_file(&d, &rejected(&d, "year10000.toml.err"));
    assert!(read(&rejected(&d, "year0.toml.err")).contains("error: scheduledFor: "));
    assert!(read(&rejected(&d, "year10000.toml.err")).contains("error: until: "));
}

#[test]
fn a_never_firing_cron_is_rejected_saying_so() {
    let fake = fake();
    let d = Daemon::start(&fake, "");
    d.drop_job("feb30.toml", &text_job("cron = \"0 0 30 2 *\""));
    wait_for_file(&d, &rejected(&d, "feb30.toml.err"));
    let err = read(&rejected(&d, "feb30.toml.err"));
    assert!(
        err.contains("error: cron: ") && err.contains("never fires"),
        "{err}"
    );
    assert!(d.query("SELECT id FROM jobs").is_empty());
}

#[test]
fn a_file_name_with_a_newline_is_logged_escaped() {
    let fake = fake();
    let d = Daemon::start(&fake, "");
    d.drop_job("evil\nFAKE LINE.toml", "x = \n");
    wait_for_file(&d, &rejected(&d, "evil\nFAKE LINE.toml.err"));
    assert!(d.eventually(LONG, || d.log().contains("job file rejected")));
    let log = d.log();
    assert!(log.contains("evil\\nFAKE LINE.toml"), "{log}");
    assert!(!log.lines().any(|l| l.starts_with("FAKE LINE")), "{log}");
}

#[test]
fn three_hundred_thousand_tags_are_rejected_quickly_with_at_most_twenty_problems() {
    let fake = fake();
    let d = Daemon::start(&fake, "");
    assert!(d.wait_started(LONG));
    let tags = vec!["\"\""; 300_000].join(",");
    let started = Instant::now();
    d.drop_job("tags.toml", &text_job(&format!("tags = [{tags}]")));
    wait_for_file(&d, &rejected(&d, "tags.toml.err"));
    // Generous for a debug build on a busy machine; the quadratic version took minutes.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let err = read(&rejected(&d, "tags.toml.err"));
    assert_eq!(err.lines().count(), 21, "{}", &err[..err.len().min(3000)]);
    assert!(
        err.lines()
            .last()
            .unwrap()
            .contains("... and 299980 more problems")
    );
}

#[test]
fn the_err_json_has_one_object_per_line_matching_the_err() {
    let fake = fake();
    let d = Daemon::start(&fake, "");
    d.drop_job("two.toml", &text_job("validity = -1\ntags = [\"\"]"));
    wait_for_file(&d, &rejected(&d, "two.toml.err.json"));
    wait_for_file(&d, &rejected(&d, "two.toml.err"));
    let human = read(&rejected(&d, "two.toml.err"));
    let json = read(&rejected(&d, "two.toml.err.json"));
    assert_eq!(human.lines().count(), 2, "{human}");
    assert_eq!(json.lines().count(), 2, "{json}");
    for (h, j) in human.lines().zip(json.lines()) {
        let v: serde_json::Value = serde_json::from_str(j).expect("a JSON object per line");
        let expected = format!(
            "{}:{}:{}: {}: {}: {}",
            v["file"].as_str().unwrap(),
            v["line"],
            v["column"],
            v["severity"].as_str().unwrap(),
            v["field"].as_str().unwrap(),
            v["message"].as_str().unwrap()
        );
        assert_eq!(h, expected);
    }
}

#[test]
fn a_slow_writer_whose_partial_file_is_valid_is_taken_in_only_once_complete() {
    let fake = fake();
    // The default settle time (1s) applies.
    let d = Daemon::start(&fake, "");
    assert!(d.wait_started(LONG));
    let mut file = std::fs::File::create(d.spool().join("slow.toml")).unwrap();
    file.write_all(text_job("").as_bytes()).unwrap();
    file.flush().unwrap();
    // Longer than the settle time and two rescans: the first half is a valid job.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        fake.accepted_count(),
        0,
        "sent half a file; log:\n{}",
        d.log()
    );
    file.write_all(b"\n[[receiver.contacts]]\nidentifierKey = \"phonenumber\"\nidentifierValue = \"+31612345679\"\n")
        .unwrap();
    drop(file);
    assert!(fake.wait_for_blocking(1, LONG), "log:\n{}", d.log());
    let body = &fake.accepted()[0].body;
    assert_eq!(
        body["receiver"]["contacts"].as_array().map(Vec::len),
        Some(2),
        "{body}"
    );
    assert!(!rejected(&d, "slow.toml").exists(), "log:\n{}", d.log());
}

#[test]
fn an_unreadable_file_is_rejected_not_retried_forever() {
    let fake = fake();
    let mut d = Daemon::start(&fake, "");
    // Root reads everything: run the daemon as nobody when the tests run as root.
    let as_root = std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    });
    if as_root {
        assert!(d.wait_started(LONG));
        assert_eq!(d.stop(LONG), Some(0), "log:\n{}", d.log());
        let status = Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(d.dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(d.dir.path().join("daemon.log"))
            .unwrap();
        let child = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_msgspool"))
            .args(["run", "--config"])
            .arg(d.config_path())
            .env("MSGSPOOL_ACCESS_KEY", common::daemon::ACCESS_KEY)
            .env("MSGSPOOL_LOG", "info")
            .env_remove("NOTIFY_SOCKET")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        d.child = Some(child);
    }
    assert!(d.wait_started(LONG), "log:\n{}", d.log());
    let path = d.spool().join("secret.toml");
    let tmp = d.spool().join(".secret.tmp");
    std::fs::write(&tmp, text_job("")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o000)).unwrap();
    if as_root {
        // Owned by root, mode 000: nobody cannot read it.
        Command::new("chown")
            .args(["0:0"])
            .arg(&tmp)
            .status()
            .unwrap();
    }
    std::fs::rename(&tmp, &path).unwrap();
    wait_for_file(&d, &rejected(&d, "secret.toml.err"));
    let err = read(&rejected(&d, "secret.toml.err"));
    assert!(err.contains("cannot read the file"), "{err}");
    assert!(rejected(&d, "secret.toml").exists());
    assert_eq!(fake.accepted_count(), 0);
}

#[test]
fn a_job_the_database_refuses_for_its_own_reason_is_rejected_and_the_rest_go_on() {
    let fake = fake();
    let d = Daemon::start(&fake, "");
    assert!(d.wait_started(LONG));
    let out = common::daemon::sqlite3(
        &d.database(),
        "CREATE TRIGGER poison BEFORE INSERT ON jobs WHEN NEW.id = 'poison' \
         BEGIN SELECT RAISE(ABORT, 'poisoned row'); END;",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    d.drop_job("poison.toml", &text_job(""));
    d.drop_job("ok.toml", &text_job(""));
    assert!(fake.wait_for_blocking(1, LONG), "log:\n{}", d.log());
    wait_for_file(&d, &rejected(&d, "poison.toml.err"));
    let err = read(&rejected(&d, "poison.toml.err"));
    assert!(
        err.contains("the database refused this job") && err.contains("poisoned row"),
        "{err}"
    );
}

#[test]
fn a_different_file_renamed_over_an_accepted_one_with_equal_size_and_mtime_is_taken_in() {
    let fake = fake();
    let d = Daemon::start(&fake, "");
    assert!(d.wait_started(LONG));
    // Hold the write lock so the daemon has read job-a but cannot commit it yet.
    let db = d.database();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        std::thread::sleep(Duration::from_secs(4));
        conn.execute_batch("COMMIT").unwrap();
    });
    std::thread::sleep(Duration::from_millis(500));
    let path = d.spool().join("x.toml");
    d.drop_job("x.toml", &text_job("id = \"job-a\""));
    std::thread::sleep(Duration::from_millis(1500));
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let other = d.spool().join(".x.next");
    std::fs::write(&other, text_job("id = \"job-b\"")).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&other)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    std::fs::rename(&other, &path).unwrap();
    let _ = holder.join();
    assert!(fake.wait_for_blocking(2, LONG), "log:\n{}", d.log());
    let ids = d.query("SELECT id FROM jobs ORDER BY id");
    assert_eq!(ids, [["job-a"], ["job-b"]], "log:\n{}", d.log());
}

#[test]
fn a_database_refusing_everything_keeps_the_files_and_logs_once_each_way() {
    let fake = fake();
    let d = Daemon::start(&fake, "");
    assert!(d.wait_started(LONG));
    // Every insert into jobs now fails to prepare: the database, not the file, is at fault.
    let out = common::daemon::sqlite3(
        &d.database(),
        "CREATE TRIGGER broken BEFORE INSERT ON jobs BEGIN INSERT INTO missing VALUES (1); END;",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    d.drop_job("wait.toml", &text_job(""));
    std::thread::sleep(Duration::from_secs(5));
    assert!(d.spool().join("wait.toml").exists(), "log:\n{}", d.log());
    assert!(!rejected(&d, "wait.toml").exists());
    let refusals = |log: &str| log.matches("the database refuses jobs").count();
    assert_eq!(refusals(&d.log()), 1, "log:\n{}", d.log());
    let out = common::daemon::sqlite3(&d.database(), "CREATE TABLE missing (x);");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(fake.wait_for_blocking(1, LONG), "log:\n{}", d.log());
    assert_eq!(refusals(&d.log()), 1, "log:\n{}", d.log());
    assert_eq!(d.log().matches("the database takes jobs again").count(), 1);
}
