//! The PostgreSQL database as an operator's interface: its views have the names and the
//! columns (in order) of SQLite's, so a query written for one reads the other; and every
//! ```sql block of the psql section (the README's section
//! "PostgreSQL: reading the queue with psql") runs as written.

#[path = "common/pg.rs"]
mod pg;

use std::path::Path;

use msgspool::store::Store;
use msgspool::store::postgres::{PgSettings, PgStore, PgTarget};
use tokio_postgres::SimpleQueryMessage;

/// The views an operator reads on both backends.
const SHARED_VIEWS: [&str; 5] = [
    "upcoming",
    "failures",
    "recent_activity",
    "undelivered",
    "delivery_today",
];

/// The heading of the psql section.
const SECTION: &str = "## PostgreSQL: reading the queue with psql";

/// A fresh database migrated by msgspool itself; its URL.
async fn migrated_database() -> String {
    let url = pg::cluster().fresh_database().await;
    let target = PgTarget::parse(&url).expect("the test URL parses");
    let settings = PgSettings {
        node: "views".to_owned(),
        lease: std::time::Duration::from_secs(60),
        pool_size: 2,
        workspace: "views".to_owned(),
        migrate: true,
    };
    PgStore::connect(&target, settings)
        .await
        .expect("connect and migrate");
    url
}

/// A view's columns on SQLite, in order.
fn sqlite_columns(db: &Path, view: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("open the SQLite file");
    let mut stmt = conn
        .prepare(&format!(
            "SELECT name FROM pragma_table_info('{view}') ORDER BY cid"
        ))
        .expect("prepare");
    let names = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .expect("query");
    names.map(|n| n.expect("a column name")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_views_have_sqlites_names_and_columns_in_order() {
    if !pg::enabled() {
        eprintln!("MSGSPOOL_PG_TESTS=0: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("views.db");
    drop(Store::open(&db).expect("open and migrate SQLite"));
    let url = migrated_database().await;
    let client = pg::cluster().client(&url).await;

    for view in SHARED_VIEWS {
        let on_sqlite = sqlite_columns(&db, view);
        assert!(!on_sqlite.is_empty(), "SQLite has no view {view}");
        let on_postgres: Vec<String> = client
            .query(
                "SELECT column_name::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1
                 ORDER BY ordinal_position",
                &[&view],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert_eq!(on_postgres, on_sqlite, "the columns of view {view}");
    }
    let views: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.views
             WHERE table_schema = current_schema() ORDER BY table_name",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut expected: Vec<&str> = SHARED_VIEWS.to_vec();
    expected.push("cluster");
    expected.sort_unstable();
    assert_eq!(views, expected, "PostgreSQL adds only `cluster`");
}

/// The README's psql section.
fn psql_section() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let start = text.find(SECTION).expect("the README's psql section");
    let body = &text[start + SECTION.len()..];
    // Up to the next section of the same level.
    let end = body.find("\n## ").map_or(body.len(), |i| i + 1);
    body[..end].to_owned()
}

/// Every ```sql block of `text`, in order.
fn sql_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut block: Option<String> = None;
    for line in text.lines() {
        match block.as_mut() {
            Some(sql) if line.trim_start().starts_with("```") => {
                blocks.push(std::mem::take(sql));
                block = None;
            }
            Some(sql) => {
                sql.push_str(line);
                sql.push('\n');
            }
            None if line.trim() == "```sql" => block = Some(String::new()),
            None => {}
        }
    }
    assert!(
        block.is_none(),
        "an unclosed ```sql block in the psql section"
    );
    blocks
}

/// A little of everything the queries read: a job with a scheduled, a failed, a sent and a
/// claimed send, attempts by two nodes, the two nodes and a leader.
const SAMPLE: &str = "
INSERT INTO jobs (id, channel, kind, source_name, source_text, sha256, created_at, updated_at)
VALUES ('order-1', 'whatsapp', 'once', 'order-1.toml', 'x', 'h', now(), now());
INSERT INTO sends (job_id, occurrence_at, due_at, expires_at, state, next_attempt_at, payload,
                   reference, created_at, updated_at)
VALUES ('order-1', now(), now(), now() + interval '1 day', 'scheduled',
        now() + interval '10 minutes', '{}', 'r1', now(), now());
INSERT INTO sends (job_id, occurrence_at, due_at, expires_at, state, attempts, payload,
                   reference, error_code, error_message, finished_at, created_at, updated_at)
VALUES ('order-1', now() - interval '1 hour', now(), now() + interval '1 day', 'failed', 1,
        '{}', 'r2', 'InvalidPayload', 'receiver is not valid', now(), now(), now());
INSERT INTO sends (job_id, occurrence_at, due_at, expires_at, state, payload, reference,
                   bird_message_id, delivery_status, finished_at, created_at, updated_at)
VALUES ('order-1', now() - interval '2 hours', now(), now() + interval '1 day', 'sent', '{}',
        'r3', 'bird-1', 'delivered', now(), now(), now());
INSERT INTO sends (job_id, occurrence_at, due_at, expires_at, state, next_attempt_at, payload,
                   reference, claimed_at, lease_owner, lease_token, lease_expires_at,
                   created_at, updated_at)
VALUES ('order-1', now() - interval '3 hours', now(), now() + interval '1 day', 'sending',
        now(), '{}', 'r4', now() - interval '5 seconds', 'host-a:/var/spool/msgspool', 42,
        now() + interval '55 seconds', now(), now());
INSERT INTO attempts (send_id, started_at, finished_at, http_status, outcome, node)
SELECT id, now(), now(), 422, 'failed', 'host-a:/var/spool/msgspool' FROM sends
WHERE reference = 'r2';
INSERT INTO attempts (send_id, started_at, finished_at, http_status, outcome, node)
SELECT id, now(), now(), 202, 'sent', 'host-b:/var/spool/msgspool' FROM sends
WHERE reference = 'r3';
INSERT INTO nodes (name, host, pid, spool, started_at, heartbeat_at)
VALUES ('host-a:/var/spool/msgspool', 'host-a', 100, '/var/spool/msgspool', now(), now()),
       ('host-b:/var/spool/msgspool', 'host-b', 200, '/var/spool/msgspool', now(), now());
INSERT INTO leader (name, node, term, elected_at, expires_at)
VALUES ('msgspool', 'host-a:/var/spool/msgspool', 1, now(), now() + interval '30 seconds');
";

/// The rows a query returned.
fn rows(messages: &[SimpleQueryMessage]) -> usize {
    messages
        .iter()
        .filter(|m| matches!(m, SimpleQueryMessage::Row(_)))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_psql_query_of_the_docs_runs_on_a_migrated_database() {
    if !pg::enabled() {
        eprintln!("MSGSPOOL_PG_TESTS=0: skipped");
        return;
    }
    let blocks = sql_blocks(&psql_section());
    assert!(
        (4..=6).contains(&blocks.len()),
        "the psql section has {} ```sql blocks; it promises four to six",
        blocks.len()
    );
    let url = migrated_database().await;
    pg::cluster().exec(&url, SAMPLE).await;
    let client = pg::cluster().client(&url).await;

    let mut answered = Vec::new();
    for sql in &blocks {
        let messages = client
            .simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}\nfails: {e:?}"));
        answered.push(rows(&messages));
    }
    // Each query finds the sample row it is about (none reads an empty table by mistake).
    assert!(
        answered.iter().all(|&n| n > 0),
        "rows per query: {answered:?}"
    );
}
