//! The database as an operator's interface: every ```sql block of the README's section
//! "Inspecting state with sqlite3" runs through the `sqlite3` CLI (`-bail -batch`) without
//! an error against a database the real daemon filled, and gives the answer the doc
//! promises. The queries are read from the
//! doc itself, so the doc and this test cannot drift apart.
//!
//! The daemon fills the database against the fake Bird: a send retried after a 500, one
//! failed by a 422, one held back by a 429, three plain sends, a rejected file, two sends
//! scheduled for later, and one left in `sending` by a kill -9 during a slow request.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use chrono::Utc;
use common::daemon::{Daemon, rfc3339, text_job};
use common::fake_bird::{FakeBird, FakeConfig, Fault, Step};

const LONG: Duration = Duration::from_secs(30);

/// One ```sql block of the doc and the `###` heading above it.
struct DocQuery {
    heading: String,
    sql: String,
}

fn doc_queries() -> Vec<DocQuery> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    // The README's section "Inspecting state with sqlite3", up to the next section.
    let start = readme
        .find("\n## Inspecting state with sqlite3")
        .expect("README has the sqlite3 section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    let text = &rest[..end];
    let mut queries = Vec::new();
    let mut heading = String::new();
    let mut block: Option<String> = None;
    for line in text.lines() {
        match &mut block {
            Some(sql) if line.trim_start().starts_with("```") => {
                queries.push(DocQuery {
                    heading: heading.clone(),
                    sql: std::mem::take(sql),
                });
                block = None;
            }
            Some(sql) => {
                sql.push_str(line);
                sql.push('\n');
            }
            None if line.trim() == "```sql" => block = Some(String::new()),
            None => {
                if let Some(h) = line.strip_prefix("#### ") {
                    heading = h.trim().to_owned();
                }
            }
        }
    }
    assert!(
        block.is_none(),
        "an unclosed ```sql block in the README's sqlite3 section"
    );
    queries
}

/// Runs a query as the doc tells operators to; returns its rows (`|`-separated columns).
fn run(db: &Path, q: &DocQuery) -> Vec<Vec<String>> {
    let out = Command::new("sqlite3")
        .args(["-bail", "-batch"])
        .arg(db)
        .arg(&q.sql)
        .output()
        .expect("the sqlite3 CLI is installed (apt-get install sqlite3)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "query {:?} failed ({}): {stderr}\n{}",
        q.heading,
        out.status,
        q.sql
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('|').map(str::to_owned).collect())
        .collect()
}

fn wait_state(d: &Daemon, job: &str, state: &str) {
    let sql = format!("SELECT state FROM sends WHERE job_id = '{job}'");
    assert!(
        d.eventually(LONG, || d.query(&sql) == [vec![state.to_owned()]]),
        "{job} never became {state}: {:?}\nlog:\n{}",
        d.query(&sql),
        d.log()
    );
}

/// Fills a database through the real daemon (see the module doc); the daemon is killed.
fn filled_database(fake: &FakeBird) -> Daemon {
    // Bird reports every message delivered, except `lost-1`, which WhatsApp could not deliver.
    fake.set_timeline(
        "lost-",
        vec![Step::failed(0, 131026, "Message undeliverable")],
    );
    fake.set_timeline("", vec![Step::to(0, "delivered")]);
    let mut d = Daemon::start(fake, "[delivery]\npoll_start = \"1s\"\n");
    fake.push_fault(Fault::Status(500));
    d.drop_job("order-1234.toml", &text_job(""));
    wait_state(&d, "order-1234", "sent");
    fake.push_fault(Fault::Status(422));
    d.drop_job("order-1235.toml", &text_job(""));
    wait_state(&d, "order-1235", "failed");
    fake.push_fault(Fault::TooManyRequests {
        retry_after: Some(1),
    });
    d.drop_job("newsletter-7.toml", &text_job(""));
    wait_state(&d, "newsletter-7", "sent");
    for i in 1..=3 {
        d.drop_job(&format!("welcome-{i}.toml"), &text_job(""));
    }
    for i in 1..=3 {
        wait_state(&d, &format!("welcome-{i}"), "sent");
    }
    d.drop_job("typo.toml", &text_job("tgas = [\"x\"]"));
    let later = |d: chrono::Duration| format!("scheduledFor = \"{}\"", rfc3339(Utc::now() + d));
    d.drop_job(
        "reminder-soon.toml",
        &text_job(&later(chrono::Duration::minutes(30))),
    );
    d.drop_job(
        "reminder-tomorrow.toml",
        &text_job(&later(chrono::Duration::days(1))),
    );
    wait_state(&d, "reminder-soon", "scheduled");
    wait_state(&d, "reminder-tomorrow", "scheduled");
    assert!(
        d.eventually(LONG, || d.query("SELECT count(*) FROM rejections")
            == [vec!["1".to_owned()]])
    );
    // Valid for 3 s: sent, reported undeliverable, then past its validity.
    d.drop_job(
        "lost-1.toml",
        &text_job("reference = \"lost-1\"\nvalidity = 3"),
    );
    assert!(
        d.eventually(LONG, || d.query("SELECT count(*) FROM undelivered")
            == [vec!["1".to_owned()]]),
        "{:?}\nlog:\n{}",
        d.query("SELECT job_id, state, delivery_status, expires_at FROM sends"),
        d.log()
    );
    assert!(d.eventually(LONG, || d.query(
        "SELECT count(*) FROM sends WHERE state = 'sent' AND delivery_status IS NULL"
    ) == [vec!["0".to_owned()]]));
    // Bird takes a minute to answer this one; the daemon dies meanwhile.
    fake.push_fault(Fault::Slow(Duration::from_secs(60)));
    d.drop_job("stuck.toml", &text_job(""));
    wait_state(&d, "stuck", "sending");
    d.kill9();
    d
}

#[test]
fn every_query_in_the_readme_runs_in_sqlite3_and_answers_what_it_promises() {
    let queries = doc_queries();
    assert!(
        queries.len() >= 12,
        "the README's sqlite3 section has {} ```sql blocks; it promises twelve questions",
        queries.len()
    );
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let d = filled_database(&fake);
    let db = d.database();
    let soon_due = d.query("SELECT due_at FROM sends WHERE job_id = 'reminder-soon'")[0][0].clone();

    for q in &queries {
        let rows = run(&db, q);
        let text = rows
            .iter()
            .map(|r| r.join("|"))
            .collect::<Vec<_>>()
            .join("\n");
        let number = q.heading.split('.').next().unwrap_or_default();
        let col = |i: usize| rows.iter().map(|r| r[i].clone()).collect::<Vec<_>>();
        let why = format!("{:?} answered:\n{text}", q.heading);
        match number {
            "1" => assert_eq!(col(1), ["reminder-soon"], "{why}"),
            "2" => {
                assert_eq!(col(0), ["order-1235"], "{why}");
                assert!(text.contains("InvalidPayload"), "{why}");
                assert!(text.contains("identifierValue"), "Bird's details: {why}");
            }
            "3" => {
                assert_eq!(col(2), ["500", "202"], "{why}");
                assert_eq!(col(3), ["retry", "sent"], "{why}");
            }
            "4" => assert_eq!(col(1), ["stuck"], "{why}"),
            "5" => {
                assert_eq!(col(1), ["typo.toml"], "{why}");
                assert!(text.contains("unknown field `tgas`"), "{why}");
            }
            "6" => assert_eq!(text, "scheduled|2\nsending|1\nsent|6\nfailed|1", "{why}"),
            "7" => {
                assert_eq!(rows.len(), 6, "{why}");
                assert_eq!(rows[0][0], "newsletter-7", "the 429 held it ≥ 1 s: {why}");
                let late: f64 = rows[0][4].parse().expect("late_seconds");
                assert!(late >= 1.0, "{why}");
            }
            "8" => {
                let mut jobs = col(0);
                jobs.sort();
                assert_eq!(
                    jobs,
                    [
                        "lost-1",
                        "newsletter-7",
                        "order-1234",
                        "order-1235",
                        "welcome-1",
                        "welcome-2",
                        "welcome-3"
                    ],
                    "{why}"
                );
                assert!(col(1).iter().all(|s| s == "finished"), "{why}");
            }
            "9" => {
                assert_eq!(col(0), ["429", "500"], "{why}");
                assert_eq!(col(1), ["1", "1"], "{why}");
            }
            "10" => assert_eq!(
                text,
                format!("whatsapp|{soon_due}|reminder-soon|2"),
                "{why}"
            ),
            "11" => {
                assert_eq!(col(0), ["lost-1"], "{why}");
                assert_eq!(col(2), ["delivery_failed"], "{why}");
                assert_eq!(col(3), ["whatsapp"], "{why}");
                assert_eq!(col(4), ["131026"], "{why}");
                assert_eq!(col(5), ["Message undeliverable"], "{why}");
            }
            "12" => assert_eq!(text, "delivered|5\ndelivery_failed|1", "{why}"),
            _ => {} // further examples only need to run
        }
    }
    assert!(fake.schema_violations().is_empty());
}
