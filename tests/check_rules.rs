//! The error format, seen the way a user sees it: `msgspool check` on a bad file exits 1 and
//! names the file, the line and the field. Each rule itself is unit-tested beside it, in
//! src/job/rules/tests.rs; these cover what only the binary shows (serde's errors mapped to
//! lines, a rule's problem mapped to its line, warnings, several files, exit codes).

use std::process::Command;

const CONTACT: &str =
    "[[receiver.contacts]]\nidentifierKey = \"phonenumber\"\nidentifierValue = \"+31612345678\"\n";
const TEXT_BODY: &str = "[body]\ntype = \"text\"\ntext.text = \"hi\"\n";

struct Outcome {
    code: i32,
    stderr: String,
}

fn check(text: &str, extra: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("job.toml");
    std::fs::write(&path, text).expect("write job");
    let out = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .arg("check")
        .args(extra)
        .arg(&path)
        .output()
        .expect("run msgspool");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Asserts exit 1 and an error line `job.toml:LINE:COL: error: FIELD: ...`.
fn assert_rejected(text: &str, field: &str, line: usize) {
    assert_rejected_with(text, &[], field, line);
}

fn assert_rejected_with(text: &str, extra: &[&str], field: &str, line: usize) {
    let out = check(text, extra);
    assert_eq!(out.code, 1, "expected exit 1, stderr: {}", out.stderr);
    let found = out.stderr.lines().any(|l| {
        let Some((place, rest)) = l.split_once(": error: ") else {
            return false;
        };
        // place is PATH:LINE:COL
        let line_ok = place.rsplit(':').nth(1) == Some(line.to_string().as_str());
        let field_ok = field.is_empty() || rest.starts_with(&format!("{field}: "));
        place.contains("job.toml:") && line_ok && field_ok
    });
    assert!(
        found,
        "no error for field `{field}` at line {line}; stderr was:\n{}",
        out.stderr
    );
}

fn job(parts: &[&str]) -> String {
    parts.concat()
}

#[test]
fn a_valid_file_passes_with_exit_zero() {
    let out = check(&job(&[CONTACT, TEXT_BODY]), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.is_empty());
}

#[test]
fn a_rule_problem_names_the_file_the_line_and_the_field() {
    let text = "[[receiver.contacts]]\nidentifierKey = \"phonenumber\"\nidentifierValue = \"0612345678\"\n";
    assert_rejected(
        &job(&[text, TEXT_BODY]),
        "receiver.contacts[0].identifierValue",
        3,
    );
    let long = "x".repeat(4097);
    let text = job(&[
        CONTACT,
        &format!("[body]\ntype = \"text\"\ntext.text = \"{long}\"\n"),
    ]);
    assert_rejected(&text, "body.text.text", 6);
}

#[test]
fn a_typo_in_a_top_level_key_names_the_key_and_its_line() {
    assert_rejected(
        &job(&["id = \"x\"\ntgas = [\"a\"]\n", CONTACT, TEXT_BODY]),
        "tgas",
        2,
    );
    let out = check(&job(&["tgas = [\"a\"]\n", CONTACT, TEXT_BODY]), &[]);
    assert!(
        out.stderr.contains("unknown field `tgas`"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_typo_in_a_nested_table_names_the_key_and_its_line() {
    let text = job(&[
        CONTACT,
        "[body]\ntype = \"text\"\n[body.text]\ntext = \"hi\"\nactoins = []\n",
    ]);
    assert_rejected(&text, "body.text.actoins", 8);
}

#[test]
fn a_typo_inside_an_array_of_tables_names_the_key() {
    let text = job(&[
        "[[receiver.contacts]]\nidentifierKye = \"phonenumber\"\n",
        TEXT_BODY,
    ]);
    assert_rejected(&text, "receiver.contacts[0].identifierKye", 2);
}

#[test]
fn a_value_of_the_wrong_type_names_the_field() {
    assert_rejected(
        &job(&["validity = \"ten\"\n", CONTACT, TEXT_BODY]),
        "validity",
        1,
    );
}

#[test]
fn duplicate_tags_after_lower_casing_are_dropped_with_a_warning() {
    let text = job(&["tags = [\"Orders\", \"orders\"]\n", CONTACT, TEXT_BODY]);
    let out = check(&text, &["--payload"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("job.toml:1:19: warning: tags[1]: tag \"orders\" repeats an earlier tag"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_unknown_channel_is_rejected() {
    assert_rejected(
        &job(&["channel = \"sms\"\n", CONTACT, TEXT_BODY]),
        "channel",
        1,
    );
}

#[test]
fn every_problem_in_a_file_is_reported_not_just_the_first() {
    let text = job(&["tags = [\"a\", \"\"]\nvalidity = -5\n", CONTACT, TEXT_BODY]);
    let out = check(&text, &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("tags[1]") && out.stderr.contains("validity"),
        "{}",
        out.stderr
    );
}

#[test]
fn check_keeps_going_past_a_bad_file_and_exits_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = dir.path().join("good.toml");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&good, job(&[CONTACT, TEXT_BODY])).expect("write");
    std::fs::write(&bad, "tgas = 1\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["check", "--payload"])
        .arg(&bad)
        .arg(&good)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn a_usage_error_exits_two() {
    let out = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["check", "--next", "x", "a.toml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}
