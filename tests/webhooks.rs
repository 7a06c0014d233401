//! Webhooks end to end: the real binary's `[webhooks]` listener on 127.0.0.1 receives the
//! fake Bird's signed (unsigned, wrongly signed, replayed, malformed) events for a message
//! it sent, and serves `/healthz` and `/metrics`. Polling is off, so only webhooks move a
//! status.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::daemon::{Daemon, text_job};
use common::fake_bird::webhooks::{Signing, get, post_webhook};
use common::fake_bird::{FakeBird, FakeConfig};

const KEY: &str = "whsec-test-signing-key";
const PUBLIC_URL: &str = "https://hooks.example.com/bird/events";

struct Setup {
    fake: FakeBird,
    daemon: Daemon,
    /// Where the listener is (what the TLS proxy would forward to).
    base: String,
    /// Bird's id of the message the daemon sent.
    bird_id: String,
}

impl Setup {
    fn post(&self, body: &serde_json::Value, signing: Signing<'_>) -> u16 {
        let body = serde_json::to_vec(body).unwrap();
        post_webhook(
            &format!("{}/bird/events", self.base),
            PUBLIC_URL,
            &body,
            signing,
        )
    }

    /// The send's delivery columns and its delivery_events, as text.
    fn written(&self) -> (String, usize) {
        let d = &self.daemon;
        let columns = d.one(
            "SELECT COALESCE(delivery_status, '-') || '|' || COALESCE(delivery_status_at, '-')
                    || '|' || COALESCE(read_at, '-') FROM sends",
        );
        (columns, d.count("SELECT count(*) FROM delivery_events"))
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A daemon with the listener on, one message sent (reference `w-1`) and its Bird id known.
fn setup() -> Setup {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("spool")).expect("spool");
    let key_file = dir.path().join("signing.key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let port = free_port();
    let extra = format!(
        "[delivery]\npoll = false\n\n[webhooks]\nlisten = \"127.0.0.1:{port}\"\npublic_url = {PUBLIC_URL:?}\nsigning_key_file = {key_file:?}\n"
    );
    let text = Daemon::config_text(&fake, dir.path(), &extra, 32, 0);
    std::fs::write(dir.path().join("config.toml"), text).expect("config");
    let mut daemon = Daemon {
        dir,
        child: None,
        extra_config: extra,
        env: Vec::new(),
        unset: Vec::new(),
    };
    daemon.spawn();
    assert!(
        daemon.wait_started(Duration::from_secs(30)),
        "log:\n{}",
        daemon.log()
    );
    daemon.drop_job("w-1.toml", &text_job("reference = \"w-1\""));
    let sent = || {
        daemon.count(
            "SELECT count(*) FROM sends WHERE state = 'sent' AND bird_message_id IS NOT NULL",
        ) == 1
    };
    assert!(
        daemon.eventually(Duration::from_secs(30), sent),
        "log:\n{}",
        daemon.log()
    );
    let bird_id = daemon.one("SELECT bird_message_id FROM sends");
    let base = format!("http://127.0.0.1:{port}");
    let up = || get(&format!("{base}/healthz")).0 == 200;
    assert!(
        daemon.eventually(Duration::from_secs(10), up),
        "log:\n{}",
        daemon.log()
    );
    Setup {
        fake,
        daemon,
        base,
        bird_id,
    }
}

#[test]
fn a_correctly_signed_event_updates_the_send() {
    let s = setup();
    let delivered = s
        .fake
        .outbound_event(&s.bird_id, "delivered", "2026-12-02T10:00:01.000Z");
    assert_eq!(s.post(&delivered, Signing::Key(KEY)), 200);
    let d = &s.daemon;
    assert_eq!(
        d.one("SELECT delivery_status || ' ' || delivery_status_at FROM sends"),
        "delivered 2026-12-02T10:00:01.000Z"
    );
    assert_eq!(
        d.count(
            "SELECT count(*) FROM delivery_events WHERE status = 'delivered' AND source = 'webhook'"
        ),
        1
    );
    let read = s.fake.read_event(&s.bird_id, "2026-12-02T10:05:00.000Z");
    assert_eq!(s.post(&read, Signing::Key(KEY)), 200);
    assert_eq!(
        d.one("SELECT delivery_status || ' ' || read_at FROM sends"),
        "read 2026-12-02T10:05:00.000Z"
    );
}

#[test]
fn a_wrong_signature_gets_401_and_nothing_is_written() {
    let s = setup();
    let before = s.written();
    let delivered = s
        .fake
        .outbound_event(&s.bird_id, "delivered", "2026-12-02T10:00:01.000Z");
    assert_eq!(s.post(&delivered, Signing::WrongKey), 401);
    // Signed for another public URL: the URL is part of what Bird signs.
    let body = serde_json::to_vec(&delivered).unwrap();
    let url = format!("{}/bird/events", s.base);
    assert_eq!(
        post_webhook(
            &url,
            "https://elsewhere.example.com/",
            &body,
            Signing::Key(KEY)
        ),
        401
    );
    assert_eq!(s.written(), before);
    assert!(!s.daemon.log().contains(KEY), "the key reached the log");
}

#[test]
fn an_unsigned_event_gets_401_and_nothing_is_written() {
    let s = setup();
    let before = s.written();
    let delivered = s
        .fake
        .outbound_event(&s.bird_id, "delivered", "2026-12-02T10:00:01.000Z");
    assert_eq!(s.post(&delivered, Signing::Unsigned), 401);
    assert_eq!(s.written(), before);
}

#[test]
fn a_replay_of_an_older_status_changes_nothing() {
    let s = setup();
    let delivered = s
        .fake
        .outbound_event(&s.bird_id, "delivered", "2026-12-02T10:00:02.000Z");
    assert_eq!(s.post(&delivered, Signing::Key(KEY)), 200);
    let after_delivered = s.written();
    // Bird retries with the original timestamp; an older status arrives late.
    assert_eq!(s.post(&delivered, Signing::Key(KEY)), 200);
    assert_eq!(s.written(), after_delivered);
    let sent = s
        .fake
        .outbound_event(&s.bird_id, "sent", "2026-12-02T10:00:01.000Z");
    assert_eq!(s.post(&sent, Signing::Key(KEY)), 200);
    assert_eq!(
        s.daemon
            .one("SELECT delivery_status || ' ' || delivery_status_at FROM sends"),
        "delivered 2026-12-02T10:00:02.000Z"
    );
    assert_eq!(
        s.daemon
            .count("SELECT count(*) FROM delivery_events WHERE status = 'delivered'"),
        1
    );
}

#[test]
fn an_unknown_message_id_is_acknowledged_and_not_stored() {
    let s = setup();
    let before = s.written();
    let stranger = s
        .fake
        .outbound_event("not-ours-0000", "delivered", "2026-12-02T10:00:01.000Z");
    assert_eq!(s.post(&stranger, Signing::Key(KEY)), 200);
    assert_eq!(s.written(), before);
    assert!(
        s.daemon.log().contains("not-ours-0000"),
        "log:\n{}",
        s.daemon.log()
    );
}

#[test]
fn a_malformed_body_gets_400() {
    let s = setup();
    let before = s.written();
    let url = format!("{}/bird/events", s.base);
    assert_eq!(
        post_webhook(&url, PUBLIC_URL, b"{\"event\": ", Signing::Key(KEY)),
        400
    );
    let no_id = br#"{"event":"whatsapp.outbound","payload":{"status":"delivered"}}"#;
    assert_eq!(
        post_webhook(&url, PUBLIC_URL, no_id, Signing::Key(KEY)),
        400
    );
    assert_eq!(s.written(), before);
}

#[test]
fn healthz_answers_ok_and_metrics_parse_as_prometheus_text() {
    let s = setup();
    assert_eq!(get(&format!("{}/healthz", s.base)), (200, "ok".to_owned()));
    let delivered = s
        .fake
        .outbound_event(&s.bird_id, "delivered", "2026-12-02T10:00:01.000Z");
    assert_eq!(s.post(&delivered, Signing::Key(KEY)), 200);
    let (status, text) = get(&format!("{}/metrics", s.base));
    assert_eq!(status, 200);
    let samples = parse_prometheus(&text);
    assert_eq!(
        samples[&("msgspool_sends".into(), "state=\"sent\"".into())],
        1.0
    );
    assert_eq!(
        samples[&("msgspool_sends".into(), "state=\"scheduled\"".into())],
        0.0
    );
    assert!(samples[&("msgspool_attempts_total".into(), "outcome=\"sent\"".into())] >= 1.0);
    assert_eq!(
        samples[&("msgspool_delivery".into(), "status=\"delivered\"".into())],
        1.0
    );
    assert!(samples[&("msgspool_lateness_seconds_count".into(), String::new())] >= 1.0);

    // And read by a Prometheus text parser: the families with their types, the histogram
    // with cumulative buckets ending at +Inf equal to its count.
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("Prometheus text format");
    let value_of = |metric: &str, label: &str, word: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == metric && s.labels.get(label) == Some(word))
            .map(|s| s.value.clone())
    };
    assert_eq!(
        value_of("msgspool_sends", "state", "sent"),
        Some(prometheus_parse::Value::Gauge(1.0))
    );
    assert!(matches!(
        value_of("msgspool_attempts_total", "outcome", "sent"),
        Some(prometheus_parse::Value::Counter(n)) if n >= 1.0
    ));
    let lateness = scrape
        .samples
        .iter()
        .find(|s| s.metric == "msgspool_lateness_seconds")
        .expect("the lateness histogram");
    let prometheus_parse::Value::Histogram(buckets) = &lateness.value else {
        panic!("lateness is not a histogram: {:?}", lateness.value);
    };
    assert!(
        buckets
            .windows(2)
            .all(|w| w[0].less_than < w[1].less_than && w[0].count <= w[1].count)
    );
    assert!(
        buckets
            .last()
            .is_some_and(|b| b.less_than.is_infinite() && b.count >= 1.0)
    );
}

/// A strict reader of Prometheus' text format 0.0.4: `# HELP name text` and
/// `# TYPE name kind` once per family, before its samples; `name{l="v",...} value` with a
/// valid name and labels, the value an f64. Any other line fails the test.
fn parse_prometheus(text: &str) -> BTreeMap<(String, String), f64> {
    let valid_name = |n: &str| {
        let mut chars = n.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let (mut helped, mut typed) = (BTreeSet::new(), BTreeSet::new());
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, _) = rest.split_once(' ').expect("HELP has text");
            assert!(valid_name(name) && helped.insert(name.to_owned()), "{line}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE has a kind");
            assert!(valid_name(name) && typed.insert(name.to_owned()), "{line}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
        } else {
            let (series, value) = line.rsplit_once(' ').expect("sample has a value");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("value in {line}"));
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.strip_suffix('}').expect("labels close")),
                None => (series, ""),
            };
            // A histogram's samples are its family's name plus _bucket, _sum or _count.
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .filter(|base| typed.contains(*base))
                .unwrap_or(name);
            assert!(valid_name(name) && typed.contains(family), "{line}");
            for pair in labels.split(',').filter(|p| !p.is_empty()) {
                let (label, quoted) = pair.split_once('=').expect("label=value");
                assert!(valid_name(label), "{line}");
                assert!(
                    quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'),
                    "{line}"
                );
            }
            assert!(
                samples
                    .insert((name.to_owned(), labels.to_owned()), value)
                    .is_none(),
                "{line}"
            );
        }
    }
    assert!(!samples.is_empty(), "no samples in:\n{text}");
    samples
}

#[test]
fn a_listener_without_a_signing_key_refuses_to_start() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("spool")).expect("spool");
    let extra = format!(
        "[webhooks]\nlisten = \"127.0.0.1:{}\"\npublic_url = {PUBLIC_URL:?}\n",
        free_port()
    );
    let text = Daemon::config_text(&fake, dir.path(), &extra, 32, 0);
    std::fs::write(dir.path().join("config.toml"), text).expect("config");
    let mut daemon = Daemon {
        dir,
        child: None,
        extra_config: extra,
        env: Vec::new(),
        unset: vec!["CREDENTIALS_DIRECTORY".to_owned()],
    };
    daemon.spawn();
    // EX_CONFIG: a restart cannot fix it.
    assert_eq!(
        daemon.wait(Duration::from_secs(30)),
        Some(78),
        "log:\n{}",
        daemon.log()
    );
    assert!(
        daemon.log().contains("no signing key"),
        "log:\n{}",
        daemon.log()
    );
}
