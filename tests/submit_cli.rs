//! `msgspool submit` end to end: the real binary checks, hands jobs to the spool
//! atomically, and a running daemon (against the fake Bird) sends what it handed over.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use common::daemon::{Daemon, rfc3339, text_job};
use common::fake_bird::{FakeBird, FakeConfig};

const LONG: Duration = Duration::from_secs(30);

fn submit(args: &[&str], extra: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .arg("submit")
        .args(args)
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("run msgspool submit")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// Every name in the folder, dot names included.
fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

/// A config for a spool with no daemon behind it (submit needs only these keys).
fn offline_config(dir: &Path) -> (PathBuf, PathBuf) {
    let spool = dir.join("spool");
    std::fs::create_dir(&spool).expect("spool");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "spool = {spool:?}\ndatabase = {:?}\n\n[channels.whatsapp]\nid = \"00000000-0000-0000-0000-000000000001\"\nkind = \"transactional\"\n",
            dir.join("never-created.db")
        ),
    )
    .expect("config");
    (config, spool)
}

#[test]
fn valid_files_land_in_the_spool_and_a_running_daemon_sends_them() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let d = Daemon::start(&fake, "");
    assert!(d.wait_started(LONG), "daemon did not start:\n{}", d.log());
    let outside = tempfile::tempdir().expect("temp dir");
    let a = outside.path().join("order-1.toml");
    let b = outside.path().join("order-2.toml");
    std::fs::write(&a, text_job("")).expect("write");
    std::fs::write(&b, text_job("tags = [\"orders\"]")).expect("write");
    let config = d.config_path();
    let out = submit(&["--config", config.to_str().expect("utf-8")], &[&a, &b]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let ids: Vec<&str> = stdout.lines().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(ids, ["order-1", "order-2"], "stdout: {stdout}");
    for line in stdout.lines() {
        let due = line.split(' ').nth(1).expect("a due instant");
        assert!(chrono::DateTime::parse_from_rfc3339(due).is_ok(), "{line}");
    }
    assert!(
        fake.wait_for_blocking(2, LONG),
        "not sent; log:\n{}",
        d.log()
    );
    assert!(d.eventually(LONG, || {
        d.query("SELECT job_id FROM sends WHERE state = 'sent' ORDER BY job_id")
            == vec![vec!["order-1".to_owned()], vec!["order-2".to_owned()]]
    }));
    assert!(d.query("SELECT * FROM rejections").is_empty());
    assert!(fake.schema_violations().is_empty());
}

#[test]
fn an_invalid_file_among_valid_ones_prints_its_error_and_leaves_the_spool_untouched() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, spool) = offline_config(dir.path());
    let good = dir.path().join("good.toml");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&good, text_job("")).expect("write");
    std::fs::write(&bad, text_job("tags = [\"no/slash\"]")).expect("write");
    let out = submit(
        &["--config", config.to_str().expect("utf-8")],
        &[&good, &bad],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:1:", bad.display())) && stderr.contains(": error: tags"),
        "no compiler-style error naming the file, line and field: {stderr}"
    );
    assert!(text(&out.stdout).is_empty());
    assert!(
        names(&spool).is_empty(),
        "spool touched: {:?}",
        names(&spool)
    );
    assert!(!dir.path().join("never-created.db").exists());
}

/// The job a person would write for the quick form below, with `{at}` for its time.
const HAND_WRITTEN: &str = r#"id = "reminder-7"
channel = "whatsapp"
scheduledFor = "{at}"
tags = ["reminders", "dentist"]

[[receiver.contacts]]
identifierKey = "phonenumber"
identifierValue = "+31612345678"

[body]
type = "text"
text.text = "Your appointment is tomorrow at 10:00."
"#;

#[test]
fn the_quick_form_builds_the_hand_written_job_byte_for_byte_and_check_payload_accepts_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, spool) = offline_config(dir.path());
    let config = config.to_str().expect("utf-8");
    // Two days ahead, written with an offset as people do; whole seconds.
    let offset = chrono::FixedOffset::east_opt(3600).expect("+01:00");
    let due =
        chrono::DateTime::from_timestamp(Utc::now().timestamp() + 2 * 86_400, 0).expect("a time");
    let at = due
        .with_timezone(&offset)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    let out = submit(
        &[
            "--config",
            config,
            "--to",
            "+31612345678",
            "--text",
            "Your appointment is tomorrow at 10:00.",
            "--at",
            &at,
            "--channel",
            "whatsapp",
            "--tag",
            "reminders",
            "--tag",
            "dentist",
            "--id",
            "reminder-7",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("reminder-7 {}\n", rfc3339(due)));
    let landed = spool.join("reminder-7.toml");
    assert_eq!(
        std::fs::read_to_string(&landed).expect("landed"),
        HAND_WRITTEN.replace("{at}", &at)
    );
    assert_eq!(
        names(&spool),
        BTreeSet::from(["reminder-7.toml".to_owned()])
    );
    let check = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["check", "--payload", "--config", config])
        .arg(&landed)
        .output()
        .expect("run check");
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    let body: serde_json::Value =
        serde_json::from_str(text(&check.stdout).trim()).expect("one JSON line");
    assert_eq!(
        body["body"]["text"]["text"],
        "Your appointment is tomorrow at 10:00."
    );
    assert_eq!(body["tags"], serde_json::json!(["reminders", "dentist"]));
}

#[test]
fn a_job_on_standard_input_without_an_id_lands_under_a_fresh_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, spool) = offline_config(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["submit", "--config", config.to_str().expect("utf-8"), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run submit");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text_job("").as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = text(&out.stdout).split(' ').next().expect("id").to_owned();
    assert!(id.starts_with("submit-"), "{id}");
    let landed = spool.join(format!("{id}.toml"));
    assert_eq!(
        std::fs::read_to_string(landed).expect("landed"),
        text_job("")
    );
}

#[test]
fn a_missing_spool_folder_exits_75_and_says_what_to_do() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, spool) = offline_config(dir.path());
    std::fs::remove_dir(&spool).expect("remove spool");
    let out = submit(
        &[
            "--config",
            config.to_str().expect("utf-8"),
            "--to",
            "+31612345678",
            "--text",
            "hi",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(75));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&spool.display().to_string()), "{stderr}");
    assert!(stderr.contains("--spool"), "no advice: {stderr}");
}

#[test]
fn a_concurrent_daemon_and_reader_never_see_a_partially_written_submitted_file() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let d = Daemon::start(&fake, "");
    assert!(d.wait_started(LONG), "daemon did not start:\n{}", d.log());
    let spool = d.spool();
    // A reader racing the daemon: every *.toml it manages to open must be a whole job
    // (the long text is last, so a torn file would lack its closing quote or end short).
    let long = "x".repeat(3000);
    let job = text_job("").replace("Hello from a test", &long);
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (stop, spool, job) = (stop.clone(), spool.clone(), job.clone());
        std::thread::spawn(move || {
            let (mut seen, mut torn) = (0usize, Vec::new());
            let mut rounds = 0;
            while !stop.load(Ordering::Relaxed) && rounds < 200_000 {
                rounds += 1;
                for entry in std::fs::read_dir(&spool).into_iter().flatten().flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.starts_with('.') || !name.ends_with(".toml") {
                        continue;
                    }
                    if let Ok(content) = std::fs::read_to_string(entry.path()) {
                        seen += 1;
                        if content != job {
                            torn.push((name, content.len()));
                        }
                    }
                }
            }
            (seen, torn)
        })
    };
    let outside = tempfile::tempdir().expect("temp dir");
    let config = d.config_path();
    let n = 30;
    for i in 0..n {
        let path = outside.path().join(format!("burst-{i}.toml"));
        std::fs::write(&path, &job).expect("write");
        let out = submit(&["--config", config.to_str().expect("utf-8")], &[&path]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    assert!(
        fake.wait_for_blocking(n, LONG),
        "not all sent; log:\n{}",
        d.log()
    );
    stop.store(true, Ordering::Relaxed);
    let (seen, torn) = reader.join().expect("reader");
    assert!(torn.is_empty(), "the reader saw torn files: {torn:?}");
    assert!(seen > 0, "the reader never caught a file in the spool");
    assert!(
        d.query("SELECT * FROM rejections").is_empty(),
        "{}",
        d.log()
    );
    assert!(
        d.eventually(LONG, || names(&spool).iter().all(|n| n == "rejected")),
        "left in the spool: {:?}",
        names(&spool)
    );
}

#[test]
fn a_spool_the_producer_may_not_write_exits_75_names_group_msgspool_and_writes_nothing() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, spool) = offline_config(dir.path());
    // Readable for everyone, the spool writable for no one (as a non-member sees it).
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    // Root writes anywhere: run as nobody then, as a producer outside the group would,
    // from a copy of the binary nobody can reach (the checkout may sit under /root).
    // SAFETY: geteuid has no preconditions.
    let as_root = unsafe { libc::geteuid() } == 0;
    let bin = if as_root {
        let copy = dir.path().join("msgspool");
        std::fs::copy(env!("CARGO_BIN_EXE_msgspool"), &copy).expect("copy binary");
        copy
    } else {
        PathBuf::from(env!("CARGO_BIN_EXE_msgspool"))
    };
    let mut cmd = Command::new(bin);
    cmd.args(["submit", "--config", config.to_str().expect("utf-8")])
        .args(["--to", "+31612345678", "--text", "hi"]);
    if as_root {
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().expect("run submit");
    assert_eq!(out.status.code(), Some(75), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&spool.display().to_string()), "{stderr}");
    assert!(
        stderr.contains("usermod -aG msgspool"),
        "no advice: {stderr}"
    );
    assert!(names(&spool).is_empty());
}
