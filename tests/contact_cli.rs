//! `msgspool contact`: the real binary asks the fake Bird on 127.0.0.1 about a contact's
//! WhatsApp service window, and says what the answer means; the access key is never printed.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use chrono::Utc;
use common::daemon::{ACCESS_KEY, rfc3339};
use common::fake_bird::{FakeBird, FakeConfig};

const CONTACT: &str = "5d0b4c3e-2a1f-4e6d-9c8b-7a6f5e4d3c2b";

/// The fake and a config pointing at it, in a temp folder.
struct Setup {
    fake: FakeBird,
    _dir: tempfile::TempDir,
    config: PathBuf,
}

fn setup() -> Setup {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = fake.config();
    let text = format!(
        "spool = {:?}\ndatabase = {:?}\n\n[bird]\nbase_url = {:?}\nworkspace_id = {:?}\nrequest_timeout = \"10s\"\n\n[channels.whatsapp]\nid = {:?}\nkind = \"conversational\"\n",
        dir.path().join("spool"),
        dir.path().join("msgspool.db"),
        fake.base_url(),
        cfg.workspace_id,
        cfg.channel_id,
    );
    let config = dir.path().join("config.toml");
    std::fs::write(&config, text).expect("write config");
    Setup {
        fake,
        _dir: dir,
        config,
    }
}

/// Runs `msgspool contact ARGS --config CONFIG` with `key` in `MSGSPOOL_ACCESS_KEY`.
fn contact(s: &Setup, key: &str, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .arg("contact")
        .args(args)
        .arg("--config")
        .arg(&s.config)
        .env("MSGSPOOL_ACCESS_KEY", key)
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .expect("run msgspool contact");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(key), "the access key was printed:\n{all}");
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_open_service_window_is_reported_open_until_its_end_and_exits_0() {
    let s = setup();
    let until = Utc::now() + chrono::Duration::hours(2);
    s.fake.set_contact(CONTACT, Some(rfc3339(until)));
    let out = contact(
        &s,
        ACCESS_KEY,
        &[
            CONTACT,
            "--identifier",
            "+31612345678",
            "--channel",
            "whatsapp",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("open until {}", rfc3339(until))),
        "{text}"
    );
    assert!(text.contains("from now)"), "{text}");
    assert!(text.contains("permanent session: no"), "{text}");
    assert!(
        text.contains(&format!("contact:           {CONTACT}")),
        "{text}"
    );
    // The identifier travels as Bird's query parameter, and the key only in the header.
    let req = &s.fake.requests()[0];
    assert_eq!(req.method, "GET");
    assert!(
        req.path.ends_with(&format!("/contacts/{CONTACT}")),
        "{}",
        req.path
    );
    assert_eq!(
        req.query.as_deref(),
        Some("contactIdentifierValue=%2B31612345678")
    );
    assert_eq!(
        req.authorization.as_deref(),
        Some(format!("AccessKey {ACCESS_KEY}").as_str())
    );
}

#[test]
fn a_service_window_that_ended_is_reported_closed_and_exits_0() {
    let s = setup();
    let ended = Utc::now() - chrono::Duration::hours(3);
    s.fake.set_contact(CONTACT, Some(rfc3339(ended)));
    // One channel in the config: --channel may be left out.
    let out = contact(&s, ACCESS_KEY, &[CONTACT]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("closed since {}", rfc3339(ended))),
        "{text}"
    );
    assert!(text.contains("ago)"), "{text}");
    assert!(text.contains("Only template messages"), "{text}");
    assert_eq!(
        s.fake.requests()[0].query,
        None,
        "no --identifier, no query"
    );
}

#[test]
fn an_unknown_contact_is_reported_as_unknown_to_bird_and_exits_1() {
    let s = setup();
    let out = contact(&s, ACCESS_KEY, &["no-such-contact"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    let text = stderr(&out);
    assert!(
        text.contains("Bird knows no contact no-such-contact on channel whatsapp"),
        "{text}"
    );
}

#[test]
fn a_wrong_key_is_explained_without_printing_it_and_exits_1() {
    let s = setup();
    s.fake.set_contact(CONTACT, Some(rfc3339(Utc::now())));
    let wrong = "wrong-key-0123456789abcdef";
    let out = contact(&s, wrong, &[CONTACT]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.contains("Bird refused the access key (HTTP 401"),
        "{text}"
    );
    assert!(text.contains("MSGSPOOL_ACCESS_KEY"), "{text}");
    assert_eq!(
        s.fake.requests()[0].authorization.as_deref(),
        Some(format!("AccessKey {wrong}").as_str()),
        "the key went to Bird, in the header"
    );
}

#[test]
fn a_contact_id_that_would_change_the_url_is_refused_before_asking_bird() {
    let s = setup();
    let out = contact(&s, ACCESS_KEY, &["../../messages"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("give Bird's id of the contact"));
    assert!(s.fake.requests().is_empty());
}
