//! The operator commands (`list`, `show`, `cancel`, `retry`, `stats`) seen from outside:
//! the real binary on a temp database filled through the library, the way the daemon
//! fills it (job text → `job::parse` → `spool::plan_job` → `Store::accept_job`, then
//! `claim_due` and `record_outcome` for what dispatch would record).
//!
//! Times are relative to the real clock, since the binary reads it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{DateTime, Duration, Utc};
use msgspool::config::Config;
use msgspool::job::{self, JobContext};
use msgspool::spool::plan_job;
use msgspool::store::{AttemptOutcome, AttemptRecord, NewJob, SendUpdate, Store};
use serde_json::Value;
use tempfile::TempDir;

/// A database in a temp folder, with the store the test fills it through.
struct Db {
    store: Store,
    path: PathBuf,
    dir: TempDir,
}

fn open_db() -> Db {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("msgspool.db");
    let store = Store::open(&path).expect("open store");
    Db { store, path, dir }
}

/// What a run of the binary did.
struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    /// Every stdout line parsed as JSON.
    fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }
}

impl Db {
    /// Runs `msgspool ARGS --database DB`.
    fn msgspool(&self, args: &[&str]) -> Outcome {
        let out = Command::new(env!("CARGO_BIN_EXE_msgspool"))
            .args(args)
            .arg("--database")
            .arg(&self.path)
            .output()
            .expect("run msgspool");
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Accepts a job file's text as intake would at `now`.
    async fn accept(&self, id: &str, extra: &str, now: DateTime<Utc>) {
        self.store
            .accept_job(planned(id, extra, now), now)
            .await
            .expect("accept job");
    }

    /// Claims what is due at `now` and records `update` for each, like dispatch.
    async fn dispatch(&self, now: DateTime<Utc>, status: u16, update: SendUpdate) -> Vec<i64> {
        let claimed = self.store.claim_due(now, 100).await.expect("claim");
        let outcome = match &update {
            SendUpdate::Sent { .. } => AttemptOutcome::Sent,
            SendUpdate::Retry { .. } => AttemptOutcome::Retry,
            SendUpdate::Failed { .. } => AttemptOutcome::Failed,
            SendUpdate::Expired { .. } => AttemptOutcome::Expired,
        };
        for send in &claimed {
            let attempt = AttemptRecord {
                started: now,
                finished: now,
                http_status: Some(status),
                outcome,
                error: Some(format!("Bird answered {status}")),
            };
            self.store
                .record_outcome(send.send_id, attempt, update.clone())
                .await
                .expect("record outcome");
        }
        claimed.iter().map(|s| s.send_id).collect()
    }

    /// The state of a send, read through the library.
    async fn send_state(&self, send_id: i64) -> String {
        let send = self.store.send(send_id).await.expect("read").expect("send");
        send.state.as_str().to_owned()
    }
}

/// A job file with one contact and a text body, plus `extra` lines, planned at `now`.
fn planned(id: &str, extra: &str, now: DateTime<Utc>) -> NewJob {
    let text = format!(
        "id = \"{id}\"\n{extra}\n[[receiver.contacts]]\nidentifierKey = \"phonenumber\"\n\
         identifierValue = \"+31612345678\"\n\n[body]\ntype = \"text\"\ntext.text = \"hello {id}\"\n"
    );
    let config = Config::builtin();
    let name = format!("{id}.toml");
    let ctx = JobContext {
        config: &config,
        now,
    };
    let job = job::parse(&name, id, &text, &ctx).expect("a valid job");
    plan_job(&job, &name, now, &config)
}

/// `scheduledFor = "…"` for a time `hours` from now.
fn scheduled_in(hours: i64) -> String {
    let at = Utc::now() + Duration::hours(hours);
    format!("scheduledFor = \"{}\"", at.to_rfc3339())
}

fn failed() -> SendUpdate {
    SendUpdate::Failed {
        code: Some("InvalidPayload".to_owned()),
        message: "receiver is not valid".to_owned(),
        details: Some(r#"{"receiver":["invalid phone number"]}"#.to_owned()),
        at: Utc::now(),
    }
}

fn sent() -> SendUpdate {
    SendUpdate::Sent {
        bird_message_id: "msg-1".to_owned(),
        bird_status: "accepted".to_owned(),
        at: Utc::now(),
    }
}

#[tokio::test]
async fn list_shows_the_queue_as_an_aligned_table_soonest_first() {
    let db = open_db();
    db.accept("later", &scheduled_in(2), Utc::now()).await;
    db.accept("sooner", &scheduled_in(1), Utc::now()).await;
    db.accept("done", "", Utc::now()).await;
    db.dispatch(Utc::now(), 202, sent()).await;

    let out = db.msgspool(&["list"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert!(lines[0].starts_with("SEND  JOB"), "{}", lines[0]);
    assert!(lines[1].contains("sooner") && lines[2].contains("later"));
    let state_column = lines[0].find("STATE").expect("STATE column");
    assert!(lines[1][state_column..].starts_with("scheduled"));
    assert!(
        !out.stdout.contains("done"),
        "sent sends are not in the queue"
    );
}

#[tokio::test]
async fn list_filters_by_state_and_job_and_prints_json_lines_with_every_column() {
    let db = open_db();
    db.accept("a", "", Utc::now()).await;
    db.accept("b", "", Utc::now()).await;
    db.dispatch(Utc::now(), 422, failed()).await;
    db.accept("c", &scheduled_in(1), Utc::now()).await;

    let out = db.msgspool(&["list", "--state", "failed", "--job", "b", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows = out.json_lines();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["job_id"], "b");
    assert_eq!(row["state"], "failed");
    assert_eq!(row["attempts"], 1);
    assert_eq!(row["error_code"], "InvalidPayload");
    assert_eq!(row["error_details"]["receiver"][0], "invalid phone number");
    assert_eq!(row["payload"]["body"]["text"]["text"], "hello b");
    for column in ["due_at", "expires_at", "reference", "channel", "created_at"] {
        assert!(row.get(column).is_some(), "no {column} in {row}");
    }

    let all = db.msgspool(&["list", "--state", "all", "--json"]);
    assert_eq!(all.json_lines().len(), 3);
    let two = db.msgspool(&["list", "--state", "all", "--limit", "2", "--json"]);
    assert_eq!(two.json_lines().len(), 2);
}

#[tokio::test]
async fn list_due_before_leaves_out_later_sends() {
    let db = open_db();
    db.accept("soon", &scheduled_in(1), Utc::now()).await;
    db.accept("late", &scheduled_in(5), Utc::now()).await;
    let before = (Utc::now() + Duration::hours(3)).to_rfc3339();
    let out = db.msgspool(&["list", "--due-before", &before, "--json"]);
    let jobs: Vec<Value> = out
        .json_lines()
        .iter()
        .map(|r| r["job_id"].clone())
        .collect();
    assert_eq!(jobs, ["soon"]);
    let bad = db.msgspool(&["list", "--due-before", "tomorrow"]);
    assert_eq!(bad.code, 2);
}

#[tokio::test]
async fn show_prints_a_job_with_its_payload_attempts_birds_answers_and_source() {
    let db = open_db();
    db.accept("order-7", "tags = [\"orders\"]", Utc::now())
        .await;
    let retry = SendUpdate::Retry {
        next_attempt: Utc::now(),
        count_attempt: true,
        error: "HTTP 503".to_owned(),
    };
    db.dispatch(Utc::now(), 503, retry).await;
    db.dispatch(Utc::now(), 422, failed()).await;

    let out = db.msgspool(&["show", "order-7"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for expected in [
        "job order-7",
        "channel     default",
        "(failed)",
        "\"text\": \"hello order-7\"",
        "HTTP 503  retry: Bird answered 503",
        "HTTP 422  failed: Bird answered 422",
        "InvalidPayload: receiver is not valid",
        "source order-7.toml:",
        "    tags = [\"orders\"]",
    ] {
        assert!(
            out.stdout.contains(expected),
            "no {expected:?} in:\n{}",
            out.stdout
        );
    }

    let json = db.msgspool(&["show", "order-7", "--json"]).json_lines();
    let attempts = &json[0]["sends"][0]["attempts"];
    assert_eq!(attempts[0]["http_status"], 503);
    assert_eq!(attempts[1]["outcome"], "failed");
    assert_eq!(json[0]["job"]["source_name"], "order-7.toml");

    let send_id = json[0]["sends"][0]["id"].as_i64().expect("send id");
    let one = db.msgspool(&["show", "--send", &send_id.to_string()]);
    assert_eq!(one.code, 0);
    assert!(one.stdout.contains("job order-7"));
}

#[tokio::test]
async fn show_of_an_unknown_job_exits_1_and_says_what_to_do() {
    let db = open_db();
    let out = db.msgspool(&["show", "nope"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no job \"nope\""), "{}", out.stderr);
    assert!(out.stderr.contains("msgspool list"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn a_canceled_job_is_never_claimed_afterwards() {
    let db = open_db();
    db.accept("promo", &scheduled_in(1), Utc::now()).await;
    let out = db.msgspool(&["cancel", "promo"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("job promo canceled: 1 scheduled send(s)"),
        "{}",
        out.stdout
    );
    let much_later = Utc::now() + Duration::days(2);
    assert!(
        db.store
            .claim_due(much_later, 10)
            .await
            .expect("claim")
            .is_empty()
    );

    let again = db.msgspool(&["cancel", "promo"]);
    assert_eq!(again.code, 0);
    assert!(again.stdout.contains("already canceled"));
    let missing = db.msgspool(&["cancel", "nope"]);
    assert_eq!(missing.code, 1);
}

#[tokio::test]
async fn canceling_a_send_being_sent_says_it_cannot_be_stopped() {
    let db = open_db();
    db.accept("now", "", Utc::now()).await;
    let claimed = db.store.claim_due(Utc::now(), 1).await.expect("claim");
    let send_id = claimed[0].send_id.to_string();
    let out = db.msgspool(&["cancel", "--send", &send_id]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("cannot be stopped"), "{}", out.stdout);
    assert_eq!(db.send_state(claimed[0].send_id).await, "canceled");
}

#[tokio::test]
async fn canceling_a_sent_send_is_refused_with_exit_1() {
    let db = open_db();
    db.accept("now", "", Utc::now()).await;
    let ids = db.dispatch(Utc::now(), 202, sent()).await;
    let out = db.msgspool(&["cancel", "--send", &ids[0].to_string()]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("already ended (sent)"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn a_retried_failed_send_is_claimable_again_with_its_attempts_reset() {
    let db = open_db();
    db.accept("order", "", Utc::now()).await;
    let ids = db.dispatch(Utc::now(), 422, failed()).await;
    let out = db.msgspool(&["retry", &ids[0].to_string()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("scheduled again"), "{}", out.stdout);
    let claimed = db.store.claim_due(Utc::now(), 10).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].attempts, 0);

    let not_failed = db.msgspool(&["retry", &ids[0].to_string()]);
    assert_eq!(not_failed.code, 1, "a send being sent is not retried");
}

#[tokio::test]
async fn a_retry_past_expiry_is_refused_without_force_and_extended_with_it() {
    let db = open_db();
    let two_days_ago = Utc::now() - Duration::days(2);
    db.accept("old", "", two_days_ago).await;
    let ids = db.dispatch(Utc::now(), 422, failed()).await;
    let id = ids[0].to_string();

    let refused = db.msgspool(&["retry", &id]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert_eq!(db.send_state(ids[0]).await, "failed");

    let forced = db.msgspool(&["retry", &id, "--force", "--validity", "2h", "--json"]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    let answer = &forced.json_lines()[0];
    assert_eq!(answer["result"], "scheduled");
    assert_eq!(answer["expiry_extended"], true);
    let send = db.store.send(ids[0]).await.expect("read").expect("send");
    let left = send.expires_at - Utc::now();
    assert!(
        left > Duration::minutes(110) && left <= Duration::hours(2),
        "{left}"
    );
}

#[tokio::test]
async fn stats_counts_sends_by_state_and_what_finished_recently() {
    let db = open_db();
    db.accept("a", "", Utc::now()).await;
    db.dispatch(Utc::now(), 202, sent()).await;
    db.accept("b", "", Utc::now()).await;
    db.dispatch(Utc::now(), 422, failed()).await;
    db.accept("c", &scheduled_in(1), Utc::now()).await;
    db.store
        .record_rejection("bad.toml", "unknown field", Utc::now())
        .await
        .expect("rejection");

    let out = db.msgspool(&["stats", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let stats = &out.json_lines()[0];
    assert_eq!(stats["sends_by_state"]["scheduled"], 1);
    assert_eq!(stats["sends_by_state"]["sent"], 1);
    assert_eq!(stats["sends_by_state"]["canceled"], 0);
    assert_eq!(stats["last_hour"]["sent"], 1);
    assert_eq!(stats["last_day"]["failed"], 1);
    assert_eq!(stats["rejections_last_day"], 1);

    let text = db.msgspool(&["stats"]);
    assert!(
        text.stdout
            .contains("rejected job files in the last day: 1")
    );
}

#[tokio::test]
async fn bulk_cancel_and_retry_need_an_explicit_all() {
    let db = open_db();
    db.accept("promo-1", &scheduled_in(1), Utc::now()).await;
    db.accept("promo-2", &scheduled_in(1), Utc::now()).await;
    db.accept("order-1", &scheduled_in(1), Utc::now()).await;

    assert_eq!(db.msgspool(&["cancel"]).code, 2);
    assert_eq!(db.msgspool(&["cancel", "--job-prefix", "promo-"]).code, 2);
    assert_eq!(db.msgspool(&["retry"]).code, 2);
    assert_eq!(db.msgspool(&["retry", "--state", "failed"]).code, 2);

    let out = db.msgspool(&["cancel", "--all", "--job-prefix", "promo-"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("canceled 2 active job(s)"),
        "{}",
        out.stdout
    );
    let left = db.msgspool(&["list", "--json"]).json_lines();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["job_id"], "order-1");
}

#[tokio::test]
async fn bulk_retry_schedules_every_failed_send_again() {
    let db = open_db();
    db.accept("a", "", Utc::now()).await;
    db.accept("b", "", Utc::now()).await;
    db.dispatch(Utc::now(), 422, failed()).await;
    let out = db.msgspool(&["retry", "--all", "--state", "failed"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("scheduled 2 send(s) again"),
        "{}",
        out.stdout
    );
    assert_eq!(
        db.store
            .claim_due(Utc::now(), 10)
            .await
            .expect("claim")
            .len(),
        2
    );
}

#[tokio::test]
async fn list_into_a_closed_pipe_exits_0_quietly() {
    let db = open_db();
    let mut many = planned("many", "", Utc::now());
    let first = many.sends[0].clone();
    many.sends = (0..1500)
        .map(|i| {
            let mut send = first.clone();
            send.occurrence = first.occurrence + Duration::seconds(i);
            send
        })
        .collect();
    db.store.accept_job(many, Utc::now()).await.expect("accept");

    let mut child = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["list", "--limit", "0", "--json", "--database"])
        .arg(&db.path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn msgspool");
    let stdout = child.stdout.take().expect("stdout");
    let mut first_line = String::new();
    BufReader::new(stdout)
        .read_line(&mut first_line)
        .expect("read a line");
    // The reader (and so the pipe) is gone now, with most of the output unwritten.
    assert!(first_line.contains("\"job_id\":\"many\""));
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn a_missing_database_is_reported_and_not_created() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nowhere.db");
    let out = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["list", "--database"])
        .arg(&path)
        .output()
        .expect("run msgspool");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no database"));
    assert!(!path.exists());
}

#[tokio::test]
async fn the_database_is_found_through_the_configs_database_key() {
    let db = open_db();
    db.accept("via-config", &scheduled_in(1), Utc::now()).await;
    let config = write_config(db.dir.path(), &db.path);
    let out = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["list", "--json", "--config"])
        .arg(&config)
        .output()
        .expect("run msgspool");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("via-config"));
}

/// A daemon config naming `database`, written into `dir`.
fn write_config(dir: &Path, database: &Path) -> PathBuf {
    let path = dir.join("config.toml");
    let text = format!(
        "database = \"{}\"\n\n[channels.default]\nid = \"channel-1\"\nkind = \"transactional\"\n",
        database.display()
    );
    std::fs::write(&path, text).expect("write config");
    path
}

#[test]
fn a_file_that_is_not_a_msgspool_database_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("other.db");
    rusqlite::Connection::open(&path)
        .and_then(|c| c.execute_batch("CREATE TABLE notes (text TEXT)"))
        .expect("make another database");
    let out = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["cancel", "--all", "--database"])
        .arg(&path)
        .output()
        .expect("run msgspool");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("schema version 0"));
    let tables: i64 = rusqlite::Connection::open(&path)
        .and_then(|c| c.query_row("SELECT COUNT(*) FROM sqlite_schema", [], |r| r.get(0)))
        .expect("count tables");
    assert_eq!(tables, 1, "nothing was migrated into it");
}
