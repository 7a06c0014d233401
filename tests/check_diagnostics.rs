//! `msgspool check` output formats and the limits on what one file may cost: JSON problems
//! that match the human ones, at most 20 problems, linear time on huge arrays, Bird's
//! documented list without sections.

use std::process::Command;
use std::time::{Duration, Instant};

const CONTACT: &str =
    "[[receiver.contacts]]\nidentifierKey = \"phonenumber\"\nidentifierValue = \"+31612345678\"\n";
const BODY: &str = "[body]\ntype = \"text\"\ntext.text = \"hi\"\n";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn check(text: &str, extra: &[&str]) -> Out {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("job.toml");
    std::fs::write(&path, text).expect("write job");
    let out = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["check", "--now", "2026-12-01T12:00:00Z"])
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

/// `FILE:LINE:COL: SEVERITY: FIELD: MESSAGE` split into its parts (field may be absent).
fn split_human(line: &str) -> (String, u64, u64, String, String) {
    let (place, rest) = line.split_once(": ").expect("place");
    let mut parts = place.rsplitn(3, ':');
    let col = parts.next().unwrap().parse().unwrap();
    let ln = parts.next().unwrap().parse().unwrap();
    let file = parts.next().unwrap().to_owned();
    let (severity, rest) = rest.split_once(": ").expect("severity");
    (file, ln, col, severity.to_owned(), rest.to_owned())
}

#[test]
fn json_problems_parse_line_by_line_and_match_the_human_ones() {
    let text = format!("validity = -1\ntags = [\"A\", \"a\", \"\"]\nrecevier = 1\n{CONTACT}{BODY}");
    let bad = format!("validity = -1\ntags = [\"\", \"x!\"]\n{CONTACT}{BODY}");
    let human = check(&bad, &[]);
    let json = check(&bad, &["--message-format", "json"]);
    assert_eq!((human.code, json.code), (1, 1), "{}", human.stderr);
    let human_lines: Vec<&str> = human.stderr.lines().collect();
    let json_lines: Vec<&str> = json.stderr.lines().collect();
    assert_eq!(human_lines.len(), 3, "{}", human.stderr);
    assert_eq!(human_lines.len(), json_lines.len());
    for (h, j) in human_lines.iter().zip(&json_lines) {
        let v: serde_json::Value = serde_json::from_str(j).expect("each line is JSON");
        let (file, line, col, severity, rest) = split_human(h);
        // Two runs, two temp folders: the names match past the folder.
        let json_file = v["file"].as_str().unwrap();
        assert!(
            file.ends_with("/job.toml") && json_file.ends_with("/job.toml"),
            "{file}"
        );
        assert_eq!(v["line"], line);
        assert_eq!(v["column"], col);
        assert_eq!(v["severity"], severity.as_str());
        let field = v["field"].as_str().unwrap();
        let message = v["message"].as_str().unwrap();
        assert_eq!(rest, format!("{field}: {message}"));
    }
    // A syntax error (unknown key) is one JSON object too.
    let typo = check(&text, &["--message-format", "json"]);
    assert_eq!(typo.code, 1);
    for l in typo.stderr.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("JSON");
        assert_eq!(v["severity"], "error");
        assert_eq!(v["field"], "recevier");
    }
}

#[test]
fn a_duplicate_tag_warning_is_json_too_and_the_file_stays_valid() {
    let out = check(
        &format!("tags = [\"Welcome\", \"welcome\"]\n{CONTACT}{BODY}"),
        &["--message-format", "json", "--payload"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(out.stderr.trim()).expect("JSON");
    assert_eq!(v["severity"], "warning");
    assert_eq!(v["field"], "tags[1]");
    let payload: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("payload");
    assert_eq!(payload["tags"], serde_json::json!(["welcome"]));
}

#[test]
fn three_hundred_thousand_empty_tags_are_refused_within_a_second_with_twenty_problems() {
    let tags = vec!["\"\""; 300_000].join(",");
    let text = format!("tags = [{tags}]\n{CONTACT}{BODY}");
    let started = Instant::now();
    let out = check(&text, &[]);
    let took = started.elapsed();
    assert_eq!(out.code, 1);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        21,
        "{}",
        &out.stderr[..out.stderr.len().min(2000)]
    );
    assert!(
        lines[0].contains("tags[0]: a tag cannot be empty"),
        "{}",
        lines[0]
    );
    assert!(
        lines[20].contains("... and 299980 more problems"),
        "{}",
        lines[20]
    );
    // Generous for a debug build on a busy machine; quadratic work takes minutes.
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn birds_list_without_sections_example_is_accepted_and_sent_as_written() {
    let text = format!(
        "{CONTACT}[body]\ntype = \"list\"\n\n[body.list]\ntext = \"Which one?\"\n\n\
         [[body.list.items]]\n\n[[body.list.items.actions]]\ntype = \"reply\"\n\
         reply.text = \"Option 1\"\n\n[[body.list.items.actions]]\ntype = \"reply\"\n\
         reply.text = \"Option 2\"\n"
    );
    let out = check(&text, &["--payload"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let payload: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("payload");
    let expected = serde_json::json!({
        "type": "list",
        "list": {
            "text": "Which one?",
            "items": [{"actions": [
                {"type": "reply", "reply": {"text": "Option 1"}},
                {"type": "reply", "reply": {"text": "Option 2"}}
            ]}]
        }
    });
    assert_eq!(payload["body"], expected);
}

#[test]
fn two_untitled_list_sections_are_still_refused() {
    let text = format!(
        "{CONTACT}[body]\ntype = \"list\"\n\n[body.list]\ntext = \"Which one?\"\n\n\
         [[body.list.items]]\n[[body.list.items.actions]]\ntype = \"reply\"\nreply.text = \"A\"\n\
         [[body.list.items]]\n[[body.list.items.actions]]\ntype = \"reply\"\nreply.text = \"B\"\n"
    );
    let out = check(&text, &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("more than one section needs a `title`"),
        "{}",
        out.stderr
    );
}
