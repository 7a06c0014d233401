//! The schema as operators see it: tables, views, version, constraints, text timestamps.

use super::*;
use crate::store::{AttemptOutcome, AttemptRecord, KNOWN_VERSION, SendUpdate, StoreError};

#[tokio::test]
async fn a_new_database_has_every_table_and_view_and_the_latest_schema_version() {
    let db = open_db();
    let names: Vec<(String, String)> = {
        let conn = db.raw();
        let mut stmt = conn
            .prepare(
                "SELECT type, name FROM sqlite_schema
                 WHERE type IN ('table', 'view') ORDER BY type, name",
            )
            .unwrap();
        stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let expected = [
        ("table", "attempts"),
        ("table", "delivery_events"),
        ("table", "events"),
        ("table", "jobs"),
        ("table", "meta"),
        ("table", "rejections"),
        ("table", "schema_version"),
        ("table", "sends"),
        ("view", "delivery_today"),
        ("view", "failures"),
        ("view", "recent_activity"),
        ("view", "undelivered"),
        ("view", "upcoming"),
    ];
    let names: Vec<(&str, &str)> = names
        .iter()
        .map(|(t, n)| (t.as_str(), n.as_str()))
        .collect();
    assert_eq!(names, expected);
    assert_eq!(
        db.number("SELECT MAX(version) FROM schema_version"),
        KNOWN_VERSION
    );
    assert_eq!(KNOWN_VERSION, 4);
}

#[tokio::test]
async fn the_database_is_in_wal_mode_with_the_due_index() {
    let db = open_db();
    assert_eq!(db.text("PRAGMA journal_mode"), "wal");
    let plan = query_plan(
        &db,
        "SELECT MIN(next_attempt_at) FROM sends WHERE state = 'scheduled'",
    );
    assert!(plan.contains("sends_by_state_and_next_attempt"), "{plan}");
}

/// SQLite's plan for `sql`, its steps joined by " | ".
fn query_plan(db: &Db, sql: &str) -> String {
    let conn = db.raw();
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let plan: Vec<String> = stmt
        .query_map([], |row| row.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    plan.join(" | ")
}

#[tokio::test]
async fn the_cron_review_at_start_reads_only_cron_jobs_through_their_index() {
    let db = open_db();
    let plan = query_plan(&db, crate::store::jobs::CRON_JOBS);
    // A million one-shot jobs must not make a restart walk them all.
    assert!(plan.contains("SCAN j USING INDEX jobs_cron"), "{plan}");
}

#[tokio::test]
async fn reopening_a_database_keeps_its_data_and_does_not_migrate_again() {
    let db = open_db();
    db.store
        .accept_job(job("a", "v1", &[now()]), now())
        .await
        .unwrap();
    let Db { store, path, _dir } = db;
    drop(store);
    let db = Db {
        store: SqliteStore::open(&path).unwrap(),
        path,
        _dir,
    };
    assert_eq!(
        db.store.send_states().await.unwrap()[&SendState::Scheduled],
        1
    );
    assert_eq!(
        db.number("SELECT COUNT(*) FROM schema_version"),
        KNOWN_VERSION
    );
}

#[tokio::test]
async fn opening_a_database_with_a_newer_schema_version_is_refused() {
    let db = open_db();
    db.raw()
        .execute(
            "INSERT INTO schema_version VALUES (?1, '2030-01-01T00:00:00.000Z', 'msgspool 9', 'future')",
            [KNOWN_VERSION + 1],
        )
        .unwrap();
    match SqliteStore::open(&db.path) {
        Err(StoreError::NewerSchema { found, known, .. }) => {
            assert_eq!((found, known), (KNOWN_VERSION + 1, KNOWN_VERSION));
        }
        Err(other) => panic!("expected NewerSchema, got {other}"),
        Ok(_) => panic!("a newer database was opened"),
    }
    assert_eq!(
        db.number("SELECT MAX(version) FROM schema_version"),
        KNOWN_VERSION + 1
    );
}

#[tokio::test]
async fn migration_two_lets_a_job_be_broken_and_a_send_replaced_and_nothing_else() {
    let db = open_db();
    db.store
        .accept_job(job("a", "v1", &[now()]), now())
        .await
        .unwrap();
    let conn = db.raw();
    conn.execute("UPDATE jobs SET state = 'broken', broken_reason = 'x'", [])
        .unwrap();
    conn.execute("UPDATE sends SET state = 'replaced'", [])
        .unwrap();
    let error = conn
        .execute("UPDATE sends SET state = 'replace'", [])
        .unwrap_err();
    assert!(
        error.to_string().contains("CHECK constraint failed"),
        "{error}"
    );
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

#[tokio::test]
async fn the_database_and_its_wal_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let db = open_db();
    db.store
        .accept_job(job("a", "v1", &[now()]), now())
        .await
        .unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let mut name = db.path.as_os_str().to_owned();
        name.push(suffix);
        let mode = std::fs::metadata(&name).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name:?}");
    }
}

#[tokio::test]
async fn a_check_constraint_rejects_a_bogus_send_state() {
    let db = open_db();
    db.store
        .accept_job(job("a", "v1", &[now()]), now())
        .await
        .unwrap();
    let conn = db.raw();
    let error = conn
        .execute("UPDATE sends SET state = 'pending'", [])
        .unwrap_err();
    assert!(
        error.to_string().contains("CHECK constraint failed"),
        "{error}"
    );
    let error = conn
        .execute("UPDATE jobs SET state = 'Active'", [])
        .unwrap_err();
    assert!(
        error.to_string().contains("CHECK constraint failed"),
        "{error}"
    );
}

#[tokio::test]
async fn a_check_constraint_rejects_a_timestamp_that_is_not_utc_text() {
    let db = open_db();
    db.store
        .accept_job(job("a", "v1", &[now()]), now())
        .await
        .unwrap();
    let error = db
        .raw()
        .execute("UPDATE sends SET due_at = '2026-03-01 11:00:00+01:00'", [])
        .unwrap_err();
    assert!(
        error.to_string().contains("CHECK constraint failed"),
        "{error}"
    );
}

#[tokio::test]
async fn timestamps_are_stored_as_utc_text_with_milliseconds_and_z() {
    let db = open_db();
    let occurrence = at("2026-03-01T12:30:00.250+01:00");
    db.store
        .accept_job(job("a", "v1", &[occurrence]), now())
        .await
        .unwrap();
    assert_eq!(
        db.text("SELECT occurrence_at FROM sends"),
        "2026-03-01T11:30:00.250Z"
    );
    assert_eq!(
        db.text("SELECT due_at FROM sends"),
        "2026-03-01T11:30:00.250Z"
    );
    assert_eq!(
        db.text("SELECT expires_at FROM sends"),
        "2026-03-02T23:30:00.250Z"
    );
    assert_eq!(
        db.text("SELECT created_at FROM jobs"),
        "2026-03-01T10:00:00.000Z"
    );
    assert_eq!(
        db.text("SELECT typeof(next_attempt_at) || ' ' || next_attempt_at FROM sends"),
        "text 2026-03-01T11:30:00.250Z"
    );
}

#[tokio::test]
async fn the_views_answer_upcoming_failures_and_recent_activity() {
    let db = open_db();
    // Attempts in the view are those of the last 24 hours of the real clock.
    let real_now = Utc::now();
    db.store
        .accept_job(
            job("soon", "v1", &[real_now - Duration::seconds(1)]),
            real_now,
        )
        .await
        .unwrap();
    db.store
        .accept_job(
            job("later", "v1", &[real_now + Duration::hours(1)]),
            real_now,
        )
        .await
        .unwrap();
    let claimed = db.store.claim_due(real_now, 10).await.unwrap();
    let attempt = AttemptRecord {
        started: real_now,
        finished: real_now,
        http_status: Some(422),
        outcome: AttemptOutcome::Failed,
        error: Some("invalid receiver".to_owned()),
    };
    let failed = SendUpdate::Failed {
        code: Some("InvalidPayload".to_owned()),
        message: "invalid receiver".to_owned(),
        details: Some(r#"{"receiver":["bad"]}"#.to_owned()),
        at: real_now,
    };
    db.store
        .record_outcome(claimed[0].send_id, attempt, failed)
        .await
        .unwrap();

    assert_eq!(
        db.text("SELECT group_concat(job_id) FROM upcoming"),
        "later"
    );
    assert_eq!(
        db.text("SELECT job_id || ' ' || state || ' ' || error_code FROM failures"),
        "soon failed InvalidPayload"
    );
    assert_eq!(
        db.text("SELECT job_id || ' ' || outcome || ' ' || http_status FROM recent_activity"),
        "soon failed 422"
    );
}

#[tokio::test]
async fn opening_a_database_in_a_missing_folder_names_the_path_and_what_to_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("msgspool.db");
    let Err(error) = SqliteStore::open(&path) else {
        panic!("a database was opened in a missing folder");
    };
    assert!(matches!(error, StoreError::Open { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("missing/msgspool.db") && message.contains("folder exists"),
        "{message}"
    );
}

#[tokio::test]
async fn opening_a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("msgspool.db");
    std::fs::write(
        &path,
        "not a database, just some text that is long enough ".repeat(20),
    )
    .unwrap();
    assert!(matches!(
        SqliteStore::open(&path),
        Err(StoreError::Open { .. })
    ));
}

#[test]
fn a_store_handle_can_be_cloned_and_shared_between_threads() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<SqliteStore>();
    shareable::<crate::store::Store>();
}

#[test]
fn the_schema_allows_every_word_of_every_state_enum_and_no_other() {
    use crate::store::{AttemptOutcome, JobState, SendState};
    let db = open_db();
    let raw = db.raw();
    raw.execute_batch(
        "INSERT INTO jobs (id, channel, kind, source_name, source_text, sha256, created_at, updated_at)
         VALUES ('j', 'c', 'once', 'j.toml', '', 'x', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
         INSERT INTO sends (job_id, occurrence_at, due_at, expires_at, next_attempt_at, payload, reference, created_at, updated_at)
         VALUES ('j', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z',
                 '2026-01-01T00:00:00.000Z', '{}', 'r', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');",
    )
    .unwrap();
    let set = |sql: &str, word: &str| raw.execute(sql, [word]);
    for kind in JobKind::ALL {
        let cron = (kind == JobKind::Cron).then_some("0 9 * * *");
        raw.execute(
            "UPDATE jobs SET kind = ?1, cron = ?2",
            rusqlite::params![kind.as_str(), cron],
        )
        .unwrap();
    }
    for state in JobState::ALL {
        set("UPDATE jobs SET state = ?1", state.as_str()).unwrap();
    }
    for state in SendState::ALL {
        set("UPDATE sends SET state = ?1", state.as_str()).unwrap();
    }
    for outcome in AttemptOutcome::ALL {
        set(
            "INSERT INTO attempts (send_id, started_at, finished_at, outcome)
             VALUES (1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', ?1)",
            outcome.as_str(),
        )
        .unwrap();
    }
    assert!(set("UPDATE jobs SET state = ?1", "paused").is_err());
    assert!(set("UPDATE sends SET state = ?1", "queued").is_err());
}
