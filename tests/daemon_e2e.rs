//! End-to-end: the real `msgspool run` binary, a temp spool and database, and the fake
//! Bird on 127.0.0.1.

mod common;

use std::process::Command;
use std::time::Duration;

use chrono::Utc;
use common::daemon::{Daemon, parse_time, rfc3339, text_job};
use common::fake_bird::{FakeBird, FakeConfig, Fault};

const LONG: Duration = Duration::from_secs(30);

fn fake() -> FakeBird {
    FakeBird::start_blocking(FakeConfig::default())
}

fn send_state(d: &Daemon, job: &str) -> Vec<String> {
    d.query(&format!(
        "SELECT state, attempts, COALESCE(bird_message_id,''), COALESCE(error_code,''), COALESCE(error_message,''), COALESCE(error_details,''), expires_at FROM sends WHERE job_id = '{job}'"
    ))
    .into_iter()
    .next()
    .unwrap_or_default()
}

fn wait_state(d: &Daemon, job: &str, state: &str) -> Vec<String> {
    let ok = d.eventually(LONG, || {
        send_state(d, job).first().is_some_and(|s| s == state)
    });
    assert!(
        ok,
        "send of {job} never became {state}: {:?}\nlog:\n{}",
        send_state(d, job),
        d.log()
    );
    send_state(d, job)
}

#[test]
fn a_job_due_in_two_seconds_is_not_sent_early_and_ends_sent_with_birds_id() {
    let fake = fake();
    let d = Daemon::start(&fake, "");
    let due = Utc::now() + chrono::Duration::seconds(2);
    d.drop_job(
        "soon.toml",
        &text_job(&format!("scheduledFor = \"{}\"", rfc3339(due))),
    );
    assert!(
        fake.wait_for_blocking(1, LONG),
        "never sent; log:\n{}",
        d.log()
    );
    let req = &fake.accepted()[0];
    assert!(
        req.arrived_at >= due,
        "sent {} before due {}",
        req.arrived_at,
        due
    );
    assert!(
        req.arrived_at < due + chrono::Duration::seconds(10),
        "sent far too late"
    );
    assert!(req.body.get("scheduledFor").is_none());
    assert_eq!(
        req.authorization.as_deref(),
        Some("AccessKey test-access-key")
    );
    let state = wait_state(&d, "soon", "sent");
    assert_eq!(state[2], req.response["id"].as_str().expect("Bird's id"));
    // Operators read the same facts through the sqlite3 CLI.
    let out = Command::new("sqlite3")
        .arg(d.database())
        .arg("SELECT job_id, state, bird_message_id FROM sends;")
        .output()
        .expect("sqlite3 CLI installed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.trim(), format!("soon|sent|{}", state[2]));
    assert!(fake.schema_violations().is_empty());
    assert!(
        !d.log().contains("test-access-key"),
        "the key leaked into the log"
    );
}

#[test]
fn a_500_then_202_is_retried_and_ends_sent() {
    let fake = fake();
    fake.push_fault(Fault::Status(500));
    let d = Daemon::start(&fake, "");
    d.drop_job("retry.toml", &text_job(""));
    let state = wait_state(&d, "retry", "sent");
    assert_eq!(state[1], "2", "two counted attempts");
    let attempts = d.query("SELECT http_status, outcome FROM attempts ORDER BY id");
    assert_eq!(
        attempts,
        [
            vec!["500".to_owned(), "retry".to_owned()],
            vec!["202".to_owned(), "sent".to_owned()]
        ]
    );
    assert_eq!(fake.requests().len(), 2);
}

#[test]
fn a_429_with_retry_after_is_honoured_without_using_an_attempt() {
    let fake = fake();
    fake.push_fault(Fault::TooManyRequests {
        retry_after: Some(1),
    });
    let d = Daemon::start(&fake, "");
    d.drop_job("slow.toml", &text_job(""));
    let state = wait_state(&d, "slow", "sent");
    assert_eq!(state[1], "1", "the 429 did not count as an attempt");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    let gap = reqs[1].arrived_at - reqs[0].arrived_at;
    assert!(
        gap >= chrono::Duration::milliseconds(1000),
        "retried after only {gap}"
    );
}

#[test]
fn a_422_fails_the_send_and_keeps_birds_code_message_and_details() {
    let fake = fake();
    fake.push_fault(Fault::Status(422));
    let d = Daemon::start(&fake, "");
    d.drop_job("bad.toml", &text_job(""));
    let state = wait_state(&d, "bad", "failed");
    let answer = &fake.requests()[0].response;
    assert_eq!(state[3], answer["code"].as_str().expect("code"));
    assert!(state[4].contains(answer["message"].as_str().expect("message")));
    let details: serde_json::Value = serde_json::from_str(&state[5]).expect("details kept as JSON");
    assert_eq!(details, answer["details"]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(fake.requests().len(), 1, "a failed send is not retried");
}

#[test]
fn a_401_pauses_dispatch_and_the_sends_stay_scheduled() {
    let fake = fake();
    fake.set_persistent_status(Some(401));
    let d = Daemon::start(&fake, "");
    for i in 0..3 {
        d.drop_job(&format!("k{i}.toml"), &text_job(""));
    }
    assert!(d.eventually(LONG, || !fake.requests().is_empty()));
    std::thread::sleep(Duration::from_secs(2));
    let n = fake.requests().len();
    assert!(
        n <= 3,
        "dispatch kept sending with a refused key: {n} requests"
    );
    let states = d.query("SELECT state FROM sends");
    assert_eq!(states.len(), 3);
    assert!(states.iter().all(|s| s[0] == "scheduled"), "{states:?}");
    assert!(d.log().contains("refused the access key"));
}

#[test]
fn a_send_whose_validity_runs_out_during_retries_ends_expired_and_nothing_is_sent_after() {
    let fake = fake();
    fake.set_persistent_status(Some(503));
    let d = Daemon::start(
        &fake,
        "[retry]\nmax_attempts = 100\ninitial = \"200ms\"\nmax = \"400ms\"\n",
    );
    d.drop_job("brief.toml", &text_job("validity = 2"));
    let state = wait_state(&d, "brief", "expired");
    let expires = parse_time(&state[6]);
    std::thread::sleep(Duration::from_millis(800));
    let reqs = fake.requests();
    assert!(reqs.len() >= 2, "expected some retries, got {}", reqs.len());
    for r in &reqs {
        assert!(
            r.arrived_at < expires,
            "a request at {} came after expiry {}",
            r.arrived_at,
            expires
        );
    }
    let validity: Vec<u64> = reqs
        .iter()
        .filter_map(|r| r.body["validity"].as_u64())
        .collect();
    assert!(
        validity.iter().all(|v| *v <= 2),
        "validity sent = seconds left: {validity:?}"
    );
}

#[test]
fn an_invalid_file_is_rejected_with_line_and_field_and_the_daemon_keeps_running() {
    let fake = fake();
    let d = Daemon::start(&fake, "");
    d.drop_job("typo.toml", &text_job("tgas = [\"x\"]"));
    let err = d.spool().join("rejected/typo.toml.err");
    assert!(
        d.eventually(LONG, || err.exists()),
        "not rejected; log:\n{}",
        d.log()
    );
    let text = std::fs::read_to_string(&err).expect("err file");
    assert!(
        text.starts_with("typo.toml:1:1: error: tgas: unknown field `tgas`"),
        "{text}"
    );
    assert!(d.spool().join("rejected/typo.toml").exists());
    assert!(!d.spool().join("typo.toml").exists());
    assert_eq!(
        d.query("SELECT file_name FROM rejections"),
        [vec!["typo.toml".to_owned()]]
    );
    d.drop_job("fine.toml", &text_job(""));
    wait_state(&d, "fine", "sent");
}

#[test]
fn a_file_written_in_several_chunks_over_a_second_is_not_rejected() {
    use std::io::Write;
    let fake = fake();
    let d = Daemon::start(&fake, "");
    let text = text_job("tags = [\"chunked\"]");
    let path = d.spool().join("chunks.toml");
    let mut f = std::fs::File::create(&path).expect("create");
    let parts = [&text[..20], &text[20..60], &text[60..]];
    for part in parts {
        f.write_all(part.as_bytes()).expect("write");
        f.flush().expect("flush");
        std::thread::sleep(Duration::from_millis(400));
    }
    drop(f);
    wait_state(&d, "chunks", "sent");
    assert!(
        !d.spool().join("rejected/chunks.toml").exists(),
        "log:\n{}",
        d.log()
    );
}

#[test]
fn kill_9_during_a_burst_loses_nothing_and_posts_nothing_twice() {
    let fake = FakeBird::start_blocking(FakeConfig {
        latency: Duration::from_millis(20),
        ..FakeConfig::default()
    });
    let mut d = Daemon::start(&fake, "");
    const N: usize = 1000;
    for i in 0..N {
        d.drop_job(&format!("burst-{i:04}.toml"), &text_job(""));
    }
    assert!(
        d.eventually(LONG * 2, || fake.accepted_count() >= 200),
        "burst never got going; log:\n{}",
        d.log()
    );
    d.kill9();
    let at_kill = fake.accepted_count();
    assert!(at_kill < N, "the kill came after the burst was over");
    d.spawn();
    // What Bird holds, answered or not: a request cut by the kill may have been stored,
    // and reconciliation finds it instead of posting it again.
    let all = d.eventually(LONG * 4, || {
        let mut refs: Vec<String> = fake
            .stored_messages()
            .into_iter()
            .filter_map(|m| m.reference)
            .collect();
        refs.sort();
        refs.dedup();
        refs.len() == N
    });
    assert!(
        all,
        "not every send arrived after the restart; log:\n{}",
        d.log()
    );
    assert!(d.eventually(
        LONG,
        || d.query("SELECT count(*) FROM sends WHERE state = 'sent'") == [vec![N.to_string()]]
    ));
    let duplicates = fake.stored_messages().len() - N;
    assert_eq!(
        duplicates, 0,
        "duplicates after reconciling the requests in flight (accepted {at_kill} before the kill)"
    );
    assert!(fake.schema_violations().is_empty());
    assert_eq!(d.stop(LONG), Some(0));
}

#[test]
fn a_cron_job_every_two_seconds_sends_at_least_three_times_within_seven_seconds_never_early() {
    let fake = fake();
    let d = Daemon::start(&fake, "");
    // A slow start on a busy machine must not eat into the 7 s being measured.
    assert!(
        d.wait_started(LONG),
        "daemon did not start; log:\n{}",
        d.log()
    );
    let started = Utc::now();
    d.drop_job("tick.toml", &text_job("cron = \"*/2 * * * * *\""));
    std::thread::sleep(Duration::from_secs(7));
    let sent = fake.accepted();
    assert!(
        sent.len() >= 3,
        "only {} sends in 7 s; log:\n{}",
        sent.len(),
        d.log()
    );
    let mut occurrences = Vec::new();
    for r in &sent {
        let reference = r.body["reference"].as_str().expect("reference");
        let ms: i64 = reference
            .rsplit(':')
            .next()
            .and_then(|v| v.parse().ok())
            .expect("occurrence in reference");
        assert!(
            r.arrived_at.timestamp_millis() >= ms,
            "{reference} arrived at {} before its occurrence",
            r.arrived_at
        );
        assert!(ms >= started.timestamp_millis() - 2000);
        occurrences.push(ms);
    }
    let mut unique = occurrences.clone();
    unique.dedup();
    assert_eq!(unique, occurrences, "each occurrence once, in order");
    assert!(occurrences.windows(2).all(|w| w[1] - w[0] >= 2000));
}

#[test]
fn re_dropping_a_job_is_a_no_op_when_identical_replaces_pending_sends_and_conflicts_when_finished()
{
    let fake = fake();
    let d = Daemon::start(&fake, "");
    let later = rfc3339(Utc::now() + chrono::Duration::hours(1));
    let first = text_job(&format!("scheduledFor = \"{later}\""));
    d.drop_job("again.toml", &first);
    assert!(d.eventually(LONG, || d.query("SELECT count(*) FROM sends")
        == [vec!["1".to_owned()]]));
    // Identical content: nothing changes.
    d.drop_job("again.toml", &first);
    assert!(d.eventually(LONG, || !d.spool().join("again.toml").exists()));
    assert_eq!(
        d.query("SELECT count(*) FROM sends"),
        [vec!["1".to_owned()]]
    );
    // Different content while pending: the pending send is replaced, and goes out now.
    d.drop_job("again.toml", &text_job("tags = [\"v2\"]"));
    let state = wait_state(&d, "again", "sent");
    assert_eq!(state[0], "sent");
    assert_eq!(fake.accepted()[0].body["tags"], serde_json::json!(["v2"]));
    // The job is finished: yet another version is a conflict.
    d.drop_job("again.toml", &text_job("tags = [\"v3\"]"));
    let err = d.spool().join("rejected/again.toml.err");
    assert!(d.eventually(LONG, || err.exists()), "log:\n{}", d.log());
    assert_eq!(fake.accepted_count(), 1);
}

#[test]
fn after_downtime_a_cron_job_sends_only_the_latest_missed_occurrence_and_records_the_rest_as_skipped()
 {
    let fake = fake();
    let mut d = Daemon::start(&fake, "");
    assert!(d.wait_started(LONG));
    d.drop_job("beat.toml", &text_job("cron = \"*/2 * * * * *\""));
    assert!(fake.wait_for_blocking(1, LONG), "log:\n{}", d.log());
    assert_eq!(d.stop(LONG), Some(0));
    let stopped = Utc::now();
    let before = fake.accepted_count();
    std::thread::sleep(Duration::from_secs(7));
    let restarted = Utc::now();
    d.spawn();
    assert!(
        d.eventually(LONG, || fake.accepted_count() > before),
        "nothing after the restart; log:\n{}",
        d.log()
    );
    let occurrence = |r: &common::fake_bird::Recorded| -> i64 {
        r.body["reference"]
            .as_str()
            .and_then(|s| s.rsplit(':').next())
            .and_then(|v| v.parse().ok())
            .expect("occurrence")
    };
    let during_downtime: Vec<i64> = fake
        .accepted()
        .iter()
        .map(occurrence)
        .filter(|ms| *ms > stopped.timestamp_millis() && *ms <= restarted.timestamp_millis())
        .collect();
    assert_eq!(
        during_downtime.len(),
        1,
        "only the latest missed occurrence is sent: {during_downtime:?}"
    );
    let latest_missed = during_downtime[0];
    assert!(
        latest_missed > restarted.timestamp_millis() - 2100,
        "{latest_missed} is not the latest one missed"
    );
    let skipped = d.query("SELECT detail FROM events WHERE kind = 'skipped' AND job_id = 'beat'");
    assert_eq!(
        skipped.len(),
        1,
        "one event for the skipped occurrences: {skipped:?}"
    );
    assert!(skipped[0][0].starts_with("skipped "), "{skipped:?}");
}
