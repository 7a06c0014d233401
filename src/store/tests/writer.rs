//! The writer thread: group commit under load, a locked database, a full disk.

use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use super::*;
use crate::store::{AcceptOutcome, StoreError};

/// Holds a write transaction from a second connection (an operator in `sqlite3` who typed
/// `BEGIN IMMEDIATE;`) for `hold`; returns once it holds the lock, with a handle that
/// yields the instant it let go.
fn hold_write_lock(db: &Db, hold: std::time::Duration) -> thread::JoinHandle<Instant> {
    let conn = db.raw();
    let (locked, is_locked) = mpsc::channel();
    let holder = thread::spawn(move || {
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        locked.send(()).unwrap();
        thread::sleep(hold);
        conn.execute_batch("ROLLBACK").unwrap();
        Instant::now()
    });
    is_locked.recv().unwrap();
    holder
}

/// Submits `count` jobs at once, each from its own task; returns every answer.
async fn accept_concurrently(
    store: &SqliteStore,
    count: usize,
) -> Vec<Result<AcceptOutcome, StoreError>> {
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .accept_job(job(&format!("job-{i:05}"), "v1", &[now()]), now())
                    .await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(count);
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_thousand_concurrent_accepts_all_commit() {
    let db = open_db();
    let answers = accept_concurrently(&db.store, 5000).await;
    assert!(answers.iter().all(|a| *a == Ok(AcceptOutcome::Inserted)));
    assert_eq!(db.number("SELECT COUNT(*) FROM jobs"), 5000);
    assert_eq!(db.number("SELECT COUNT(*) FROM sends"), 5000);
    assert_eq!(
        db.store.send_states().await.unwrap()[&SendState::Scheduled],
        5000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_wait_while_another_connection_holds_the_write_lock_and_none_is_lost() {
    let db = open_db();
    let holder = hold_write_lock(&db, std::time::Duration::from_secs(2));
    let answers = accept_concurrently(&db.store, 50).await;
    let answered = Instant::now();
    let released = holder.join().unwrap();
    assert!(
        answered >= released,
        "a write was answered while the lock was held"
    );
    assert!(answers.iter().all(|a| *a == Ok(AcceptOutcome::Inserted)));
    assert_eq!(db.number("SELECT COUNT(*) FROM jobs"), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_past_the_busy_timeout_is_retried_until_it_is_released() {
    // `cargo test -- --nocapture` shows the warning an operator would see.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("msgspool=info")
        .with_test_writer()
        .try_init();
    let db = open_db_with(Options {
        busy_timeout: std::time::Duration::from_millis(20),
        ..Options::default()
    });
    let holder = hold_write_lock(&db, std::time::Duration::from_millis(500));
    let (first, second) = tokio::join!(
        accept_concurrently(&db.store, 20),
        db.store.record_rejection("x.toml", "bad", now())
    );
    let released = holder.join().unwrap();
    assert!(Instant::now() >= released);
    assert!(first.iter().all(|a| *a == Ok(AcceptOutcome::Inserted)));
    assert_eq!(second, Ok(()));
    assert_eq!(db.number("SELECT COUNT(*) FROM jobs"), 20);
    assert_eq!(db.number("SELECT COUNT(*) FROM rejections"), 1);
}

#[tokio::test]
async fn an_operation_that_fails_is_rolled_back_alone_and_the_rest_of_its_batch_commits() {
    let db = open_db();
    // One batch (one call_many): each operation stores a rejection row, the middle one
    // then fails. The batch first runs without savepoints, so this also checks that the
    // run again with them keeps nothing twice and nothing of the failed one.
    let works: Vec<_> = ["first", "fails", "third"]
        .into_iter()
        .map(|name| {
            move |conn: &Connection| -> Result<&'static str, StoreError> {
                conn.execute(
                    "INSERT INTO rejections (file_name, rejected_at, error)
                     VALUES (?1, '2026-03-01T10:00:00.000Z', 'test')",
                    [name],
                )?;
                if name == "fails" {
                    return Err(StoreError::Sqlite("this operation fails".to_owned()));
                }
                Ok(name)
            }
        })
        .collect();
    let answers = db.store.inner.writer.call_many(works).await;
    assert_eq!(answers[0], Ok("first"));
    assert!(matches!(&answers[1], Err(StoreError::Sqlite(m)) if m == "this operation fails"));
    assert_eq!(answers[2], Ok("third"));
    assert_eq!(
        db.text("SELECT group_concat(file_name, ',') FROM (SELECT file_name FROM rejections ORDER BY id)"),
        "first,third"
    );
}

#[tokio::test]
async fn a_full_disk_fails_the_whole_batch_and_keeps_nothing_of_it() {
    let db = open_db();
    // SQLite's page limit stands in for a full disk: the next new page fails with SQLITE_FULL.
    let limit_pages = |pages: i64| {
        move |conn: &Connection| -> Result<i64, StoreError> {
            Ok(
                conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |row| {
                    row.get(0)
                })?,
            )
        }
    };
    db.store.inner.writer.call(limit_pages(1)).await.unwrap();
    let small = job("small", "v1", &[now()]);
    let big = job("big", &"x".repeat(200_000), &[now()]);

    let answers = db
        .store
        .accept_jobs(vec![small.clone(), big.clone()], now())
        .await;
    for answer in &answers {
        assert!(matches!(answer, Err(StoreError::Full(_))), "{answer:?}");
    }
    assert_eq!(db.number("SELECT COUNT(*) FROM jobs"), 0);

    db.store
        .inner
        .writer
        .call(limit_pages(1 << 30))
        .await
        .unwrap();
    let answers = db.store.accept_jobs(vec![small, big], now()).await;
    assert_eq!(
        answers,
        [Ok(AcceptOutcome::Inserted), Ok(AcceptOutcome::Inserted)]
    );
}

#[tokio::test]
async fn a_checkpoint_copies_the_wal_into_the_database() {
    let db = open_db();
    db.store
        .accept_job(job("a", "v1", &[now()]), now())
        .await
        .unwrap();
    db.store.checkpoint().await.unwrap();
    assert_eq!(
        db.store.send_states().await.unwrap()[&SendState::Scheduled],
        1
    );
}
