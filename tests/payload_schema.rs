//! Every payload msgspool would send validates against Bird's request schema
//! (`../shared/bird/send-message-request.schema.json`): the example schedules, and jobs
//! generated at random from every supported body type.

use std::process::Command;

use chrono::{TimeZone, Utc};
use msgspool::config::Config;
use msgspool::job::{self, JobContext, payload};
use proptest::prelude::*;
use serde_json::Value;

fn validator() -> jsonschema::Validator {
    // `shared/` sits beside the repo (the main checkout, CI), or beside an ancestor of a
    // worktree nested deeper.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("shared/bird/send-message-request.schema.json"))
        .find(|p| p.is_file())
        .expect("Bird's request schema in shared/bird beside the repo");
    let text = std::fs::read_to_string(path).expect("read Bird's request schema");
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles")
}

fn violations(v: &jsonschema::Validator, body: &Value) -> Vec<String> {
    v.iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn every_example_schedule_checks_and_its_payload_validates() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/schedules");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("schedules/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "expected one file per WhatsApp example");
    let out = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["check", "--payload"])
        .args(&files)
        .output()
        .expect("run msgspool check");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), files.len(), "one JSON line per file");
    let v = validator();
    for (line, file) in lines.iter().zip(&files) {
        let body: Value = serde_json::from_str(line).expect("each line is JSON");
        let errs = violations(&v, &body);
        assert!(errs.is_empty(), "{}: {errs:?}", file.display());
        assert!(body.get("scheduledFor").is_none() && body.get("id").is_none());
        assert!(body["validity"].is_u64());
    }
}

#[test]
fn the_schema_check_itself_rejects_a_bad_payload() {
    let v = validator();
    let bad =
        serde_json::json!({"receiver": {"contacts": []}, "body": {"type": "text", "text": {}}});
    assert!(!violations(&v, &bad).is_empty());
}

fn short_text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9 ,.!?'\"\\\\é€-]{{1,{max}}}"))
        .expect("regex")
        .prop_filter("not blank", |s| !s.trim().is_empty())
}

fn url() -> impl Strategy<Value = String> {
    "[a-z]{1,12}".prop_map(|s| format!("https://cdn.example.com/{s}.jpg"))
}

fn actions() -> impl Strategy<Value = Vec<toml::Value>> {
    prop::collection::vec(
        (
            any::<bool>(),
            short_text(20),
            "[a-z]{0,8}",
            prop::option::of(short_text(72)),
        ),
        0..=3,
    )
    .prop_map(|items| {
        items
            .into_iter()
            .map(|(reply, text, payload, label)| {
                let kind = if reply { "reply" } else { "postback" };
                let mut inner = toml::Table::new();
                inner.insert("text".into(), text.into());
                if !reply {
                    inner.insert("payload".into(), payload.into());
                }
                if let Some(label) = label {
                    inner.insert(
                        "metadata".into(),
                        toml::toml! { description = { label = label } }.into(),
                    );
                }
                let mut action = toml::Table::new();
                action.insert("type".into(), kind.into());
                action.insert(kind.into(), inner.into());
                action.into()
            })
            .collect()
    })
}

fn body() -> impl Strategy<Value = toml::Table> {
    prop_oneof![
        (short_text(300), actions()).prop_map(|(text, actions)| {
            let mut t = toml::toml! { type = "text" text = { text = text } };
            if !actions.is_empty() {
                t["text"].as_table_mut().expect("table").insert("actions".into(), actions.into());
            }
            t
        }),
        (prop::collection::vec(url(), 1..4), prop::option::of(short_text(100)), actions())
            .prop_map(|(urls, text, actions)| {
                let images: Vec<toml::Value> = urls
                    .into_iter()
                    .map(|u| toml::Value::from(toml::toml! { mediaUrl = u }))
                    .collect();
                let mut image = toml::Table::new();
                image.insert("images".into(), images.into());
                if let Some(text) = text {
                    image.insert("text".into(), text.into());
                }
                if !actions.is_empty() {
                    image.insert("actions".into(), actions.into());
                }
                toml::toml! { type = "image" image = image }
            }),
        (prop::collection::vec("[a-z]{1,8}", 1..4), actions()).prop_map(|(names, actions)| {
            let files: Vec<toml::Value> = names
                .into_iter()
                .map(|n| {
                    toml::Value::from(toml::toml! {
                        mediaUrl = (format!("https://cdn.example.com/{n}.pdf"))
                        contentType = "application/pdf"
                        filename = (format!("{n}.pdf"))
                    })
                })
                .collect();
            let mut file = toml::Table::new();
            file.insert("files".into(), files.into());
            if !actions.is_empty() {
                file.insert("actions".into(), actions.into());
            }
            toml::toml! { type = "file" file = file }
        }),
        (-90.0f64..=90.0, -180.0f64..=180.0, short_text(40)).prop_map(|(lat, lon, label)| {
            toml::toml! {
                type = "location"
                location = { coordinates = { latitude = lat, longitude = lon }, location = { label = label } }
            }
        }),
        (short_text(100), 1usize..=4, 1usize..=2).prop_map(|(text, sections, rows)| {
            let items: Vec<toml::Value> = (0..sections)
                .map(|i| {
                    let actions: Vec<toml::Value> = (0..rows)
                        .map(|j| {
                            toml::Value::from(toml::toml! { type = "reply" reply = { text = (format!("row {i}.{j}")) } })
                        })
                        .collect();
                    toml::Value::from(toml::toml! { title = (format!("Section {i}")) actions = actions })
                })
                .collect();
            toml::toml! { type = "list" list = { text = text, items = items } }
        }),
        (2usize..=10, short_text(200)).prop_map(|(cards, text)| {
            let items: Vec<toml::Value> = (0..cards)
                .map(|i| {
                    toml::Value::from(toml::toml! {
                        title = (format!("Card {i}"))
                        description = "d"
                        mediaUrl = (format!("https://cdn.example.com/c{i}.jpg"))
                        actions = [{ type = "link", link = { text = "Buy", url = "https://shop.example.com" } }]
                    })
                })
                .collect();
            toml::toml! { type = "carousel" carousel = { text = text, items = items } }
        }),
    ]
}

fn tags() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[A-Za-z0-9_-][A-Za-z0-9 _-]{0,20}", 0..=10).prop_map(|tags| {
        let mut seen = Vec::new();
        tags.into_iter()
            .filter(|t| {
                let lower = t.to_lowercase();
                let fresh = !seen.contains(&lower);
                seen.push(lower);
                fresh
            })
            .collect()
    })
}

fn job_table() -> impl Strategy<Value = toml::Table> {
    (
        prop_oneof![body().prop_map(Some), Just(None)],
        tags(),
        prop::option::of(0i64..2_000_000),
        prop::option::of("[a-z0-9-]{1,30}"),
        any::<bool>(),
        "[1-9][0-9]{7,14}",
    )
        .prop_map(|(body, tags, validity, reference, reply_to, digits)| {
            let mut t = toml::toml! {
                receiver = { contacts = [{ identifierKey = "phonenumber", identifierValue = (format!("+{digits}")) }] }
            };
            match body {
                Some(b) => {
                    t.insert("body".into(), b.into());
                }
                None => {
                    t.insert(
                        "template".into(),
                        toml::toml! {
                            projectId = "4b2a3e4f-0000-4000-8000-000000000001"
                            version = "latest"
                            locale = "en"
                            parameters = [{ type = "string", key = "name", value = "Alice" }]
                        }
                        .into(),
                    );
                }
            }
            if !tags.is_empty() {
                t.insert("tags".into(), tags.into());
            }
            if let Some(v) = validity {
                t.insert("validity".into(), v.into());
            }
            if let Some(r) = reference {
                t.insert("reference".into(), r.into());
            }
            if reply_to {
                t.insert("replyTo".into(), toml::toml! { id = "m-1" type = "message" }.into());
            }
            t
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn generated_valid_jobs_are_accepted_and_their_payloads_validate(table in job_table()) {
        let text = toml::to_string(&table).expect("serialise");
        let config = Config::builtin();
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        let ctx = JobContext { config: &config, now };
        let job = match job::parse("gen.toml", "gen", &text, &ctx) {
            Ok(j) => j,
            Err(e) => return Err(TestCaseError::fail(format!("{e}\n---\n{text}"))),
        };
        let body = payload::with_validity(payload::body_without_validity(&job, now), job.validity.as_secs());
        let errs = violations(&VALIDATOR, &body);
        prop_assert!(errs.is_empty(), "{errs:?}\n{body}");
        if let Some(tags) = body.get("tags").and_then(Value::as_array) {
            prop_assert!(tags.iter().all(|t| t.as_str().is_some_and(|s| s == s.to_lowercase())));
        }
    }
}

static VALIDATOR: std::sync::LazyLock<jsonschema::Validator> = std::sync::LazyLock::new(validator);
