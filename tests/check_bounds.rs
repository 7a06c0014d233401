//! Values no arithmetic may overflow on: huge validities, instants outside the years the
//! database stores, schedules that never fire, and the CLI counts and spans. Each is an
//! error naming the field (or a usage error), never a panic.

use std::process::Command;

const CONTACT: &str =
    "[[receiver.contacts]]\nidentifierKey = \"phonenumber\"\nidentifierValue = \"+31612345678\"\n";
const BODY: &str = "[body]\ntype = \"text\"\ntext.text = \"hi\"\n";
const NOW: &str = "2026-12-01T12:00:00Z";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn check(top: &str, extra: &[&str]) -> Out {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("job.toml");
    std::fs::write(&path, format!("{top}{CONTACT}{BODY}")).expect("write job");
    let out = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["check", "--now", NOW])
        .args(extra)
        .arg(&path)
        .output()
        .expect("run msgspool");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn assert_error(top: &str, field: &str, words: &str) {
    for extra in [&[][..], &["--payload"][..], &["--next", "3"][..]] {
        let out = check(top, extra);
        assert_eq!(out.code, 1, "{top} {extra:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!(": error: {field}: ")) && out.stderr.contains(words),
            "{top} {extra:?}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
}

#[test]
fn a_validity_running_past_year_9999_is_an_error_naming_validity() {
    assert_error("validity = 9000000000000\n", "validity", "year 9999");
    assert_error("validity = 9223372036854775807\n", "validity", "year 9999");
}

#[test]
fn a_validity_that_fits_is_still_accepted() {
    let out = check("validity = 315360000\n", &["--payload"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("\"validity\":315360000"),
        "{}",
        out.stdout
    );
}

#[test]
fn instants_outside_years_0000_to_9999_are_errors_naming_the_field() {
    assert_error(
        "scheduledFor = \"0000-01-01T00:00:00+01:00\"\n",
        "scheduledFor",
        "0000 to 9999",
    );
    assert_error(
        "cron = \"0 9 * * *\"\nuntil = \"0000-01-01T00:00:00+01:00\"\n",
        "until",
        "0000 to 9999",
    );
}

#[test]
fn a_cron_that_never_fires_is_an_error() {
    assert_error("cron = \"0 0 30 2 *\"\n", "cron", "never fires");
}

#[test]
fn a_cron_with_until_in_the_past_is_an_error() {
    assert_error(
        "cron = \"0 9 * * *\"\nuntil = \"2026-11-01T00:00:00Z\"\n",
        "until",
        "in the past",
    );
}

#[test]
fn a_cron_whose_next_occurrence_is_after_until_is_an_error() {
    assert_error(
        "cron = \"0 9 1 6 *\"\nuntil = \"2027-01-01T00:00:00Z\"\n",
        "cron",
        "never fires before until",
    );
}

#[test]
fn check_next_is_capped() {
    let out = check("cron = \"* * * * * *\"\n", &["--next", "10001"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("1 to 10000"), "{}", out.stderr);
    let out = check("cron = \"* * * * * *\"\n", &["--next", "10000"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 10_000);
}

#[test]
fn retry_refuses_a_validity_that_cannot_be_stored() {
    let out = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["retry", "1", "--force", "--validity", "99999999d"])
        .output()
        .expect("run msgspool");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("longer than 3650d"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
