//! Tests of the store against real SQLite files in temp folders, with a fixed clock.
//!
//! `raw` opens a second connection the way an operator's `sqlite3` would, to look at what
//! was stored (and to get in the way).

mod accept;
mod delivery;
mod dispatch;
mod operator;
mod schema;
mod writer;

use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;
use tempfile::TempDir;

use super::{Backend, JobKind, NewJob, NewSend, Options, SendState, SqliteStore};
use crate::timefmt::parse_utc_text;

/// A store on a fresh database file; the folder goes when this is dropped.
struct Db {
    store: SqliteStore,
    path: PathBuf,
    _dir: TempDir,
}

fn open_db() -> Db {
    open_db_with(Options::default())
}

fn open_db_with(options: Options) -> Db {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("msgspool.db");
    let store = SqliteStore::open_with(&path, options).unwrap();
    Db {
        store,
        path,
        _dir: dir,
    }
}

impl Db {
    /// A second connection to the same file, like `sqlite3 msgspool.db`.
    fn raw(&self) -> Connection {
        let conn = Connection::open(&self.path).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        conn
    }

    /// One text value from a raw query.
    fn text(&self, sql: &str) -> String {
        self.raw().query_row(sql, [], |row| row.get(0)).unwrap()
    }

    /// One number from a raw query.
    fn number(&self, sql: &str) -> i64 {
        self.raw().query_row(sql, [], |row| row.get(0)).unwrap()
    }
}

/// An instant from RFC 3339 text.
fn at(text: &str) -> DateTime<Utc> {
    parse_utc_text(text).unwrap()
}

/// The tests' "now".
fn now() -> DateTime<Utc> {
    at("2026-03-01T10:00:00Z")
}

/// A send for `occurrence`, due then, valid for 36 hours.
fn send(occurrence: DateTime<Utc>) -> NewSend {
    NewSend {
        occurrence,
        due: occurrence,
        expires: occurrence + Duration::hours(36),
        payload: r#"{"receiver":{"contacts":[{"identifierKey":"phonenumber","identifierValue":"+31612345678"}]},"body":{"type":"text","text":{"text":"hi"}}}"#.to_owned(),
        reference: format!("msgspool-{}", occurrence.timestamp()),
    }
}

/// A one-off job with one send per occurrence; `content` stands for the file's text.
fn job(id: &str, content: &str, occurrences: &[DateTime<Utc>]) -> NewJob {
    NewJob {
        id: id.to_owned(),
        channel: "whatsapp".to_owned(),
        kind: JobKind::Once,
        cron: None,
        timezone: None,
        until: None,
        source_name: format!("{id}.toml"),
        source_text: content.to_owned(),
        sha256: format!("sha256-of-{content}"),
        sends: occurrences.iter().map(|&o| send(o)).collect(),
    }
}

/// The state of a send, read raw.
fn send_state(db: &Db, send_id: i64) -> String {
    db.text(&format!("SELECT state FROM sends WHERE id = {send_id}"))
}

/// The state of a job, read raw.
fn job_state(db: &Db, job_id: &str) -> String {
    db.text(&format!("SELECT state FROM jobs WHERE id = '{job_id}'"))
}
