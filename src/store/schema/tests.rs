//! Migrations on real database files: what migration 4 changes and what it keeps.

use super::*;

const T: &str = "2026-01-01T00:00:00.000Z";
const DELIVERY: [&str; 11] = [
    "accepted",
    "scheduled",
    "processing",
    "sent",
    "delivered",
    "read",
    "sending_failed",
    "delivery_failed",
    "rejected",
    "skipped",
    "deleted",
];

fn now() -> DateTime<Utc> {
    Utc::now()
}

/// A database file brought to `version` by the shipped steps, as an older msgspool left it.
fn database_at(dir: &Path, version: i64) -> Connection {
    let mut conn = Connection::open(dir.join("state.sqlite")).unwrap();
    let tx = conn.transaction().unwrap();
    tx.execute_batch(CREATE_SCHEMA_VERSION).unwrap();
    for step in MIGRATIONS.iter().filter(|m| m.version <= version) {
        apply(&tx, step, now()).unwrap();
    }
    tx.commit().unwrap();
    conn
}

fn opcodes(conn: &Connection, sql: &str) -> Vec<String> {
    let sql = sql.replace("?1", &format!("'{T}'"));
    let mut stmt = conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
    stmt.query_map([], |row| row.get::<_, String>(1))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

const ROWS: &str = "
INSERT INTO jobs (id, channel, kind, source_name, source_text, sha256, created_at, updated_at)
VALUES ('j', 'c', 'once', 'j.toml', '', 'x', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
INSERT INTO sends (job_id, occurrence_at, due_at, expires_at, next_attempt_at, payload, reference,
                   created_at, updated_at)
VALUES ('j', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z',
        '2026-01-01T00:00:00.000Z', '{}', 'r', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
";

/// The statements every send's accept, claim and outcome run: none may build a temporary
/// b-tree to check a constraint (SQLite does for each `IN` list of three words or more).
#[test]
fn the_writes_of_a_send_check_their_words_without_a_temporary_btree() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Connection::open(dir.path().join("state.sqlite")).unwrap();
    migrate(&mut conn, dir.path(), now()).unwrap();
    conn.execute_batch(ROWS).unwrap();
    for sql in [
        "INSERT INTO jobs (id, channel, kind, source_name, source_text, sha256, created_at, updated_at)
         VALUES ('k', 'c', 'once', 'k.toml', '', 'x', ?1, ?1)",
        "UPDATE jobs SET state = 'finished' WHERE id = 'j'",
        "INSERT INTO sends (job_id, occurrence_at, due_at, expires_at, next_attempt_at, payload,
                            reference, created_at, updated_at)
         VALUES ('j', ?1, ?1, ?1, ?1, '{}', 'r', ?1, ?1)",
        "UPDATE sends SET state = 'sending', claimed_at = ?1 WHERE id = 1",
        "UPDATE sends SET delivery_status = 'delivered', delivery_status_at = ?1 WHERE id = 1",
        "INSERT INTO attempts (send_id, started_at, finished_at, outcome) VALUES (1, ?1, ?1, 'sent')",
        "INSERT INTO delivery_events (send_id, status, status_at, source, recorded_at)
         VALUES (1, 'delivered', ?1, 'poll', ?1)",
    ] {
        let codes = opcodes(&conn, sql);
        assert!(
            !codes.iter().any(|c| c == "OpenEphemeral"),
            "{sql}\nbuilds a temporary b-tree: {codes:?}"
        );
    }
}

#[test]
fn migration_four_keeps_a_version_three_database_and_allows_the_same_words() {
    let dir = tempfile::tempdir().unwrap();
    let old = database_at(dir.path(), 3);
    old.execute_batch(ROWS).unwrap();
    old.execute(
        "INSERT INTO attempts (send_id, started_at, finished_at, outcome) VALUES (1, ?1, ?1, 'retry')",
        [T],
    )
    .unwrap();
    old.execute(
        "INSERT INTO delivery_events (send_id, status, status_at, source, recorded_at)
         VALUES (1, 'accepted', ?1, 'post', ?1)",
        [T],
    )
    .unwrap();
    drop(old);

    let mut conn = Connection::open(dir.path().join("state.sqlite")).unwrap();
    assert_eq!(migrate(&mut conn, dir.path(), now()).unwrap(), 3);
    let number = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(number("SELECT MAX(version) FROM schema_version"), 4);
    assert_eq!(
        number(
            "SELECT (SELECT count(*) FROM jobs) * 1000 + (SELECT count(*) FROM sends) * 100
                  + (SELECT count(*) FROM attempts) * 10 + (SELECT count(*) FROM delivery_events)"
        ),
        1111
    );
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let schema: String = conn
        .query_row(
            "SELECT group_concat(sql, ';') FROM sqlite_schema WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!schema.contains("state IN"), "{schema}");

    let set = |sql: &str, word: &str| conn.execute(sql, [word]);
    let columns = [
        (
            "UPDATE jobs SET state = ?1",
            &["active", "finished", "canceled", "broken"][..],
        ),
        (
            "UPDATE sends SET state = ?1",
            &[
                "scheduled",
                "sending",
                "sent",
                "failed",
                "expired",
                "canceled",
                "replaced",
            ][..],
        ),
        ("UPDATE sends SET delivery_status = ?1", &DELIVERY[..]),
        (
            "UPDATE attempts SET outcome = ?1",
            &[
                "sent",
                "retry",
                "throttled",
                "failed",
                "unauthorized",
                "redirected",
                "expired",
                "interrupted",
                "unknown",
                "reconciled",
                "not_found",
            ][..],
        ),
        ("UPDATE delivery_events SET status = ?1", &DELIVERY[..]),
        (
            "UPDATE delivery_events SET source = ?1",
            &["post", "reconcile", "poll", "webhook"][..],
        ),
    ];
    for (sql, words) in columns {
        for word in words {
            assert_eq!(set(sql, word).unwrap(), 1, "{sql} with {word}");
        }
        for bogus in ["", "Sent", "sent ", "queued"] {
            let error = set(sql, bogus).unwrap_err().to_string();
            assert!(
                error.contains("CHECK constraint failed"),
                "{sql} with {bogus:?}: {error}"
            );
        }
    }
}
