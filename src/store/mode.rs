//! The run mode a database belongs to: a dry run and a real run never share one.
//!
//! Owns: the `mode` row of the `meta` table. Trusts: the writer to run [`claim`] in one
//! transaction. Guarantees: the first daemon to use a database records its mode (an old
//! database that already holds sends counts as `live`, since those sends came from a real
//! run or from before dry runs were told apart); later daemons of the other mode are told.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{EventKind, RunMode, StoreError, events};

/// Records `mode` as the database's if it has none; returns the database's other mode
/// when it already belongs to it (then nothing is written).
pub(super) fn claim(
    conn: &Connection,
    mode: RunMode,
    now: DateTime<Utc>,
) -> Result<Option<RunMode>, StoreError> {
    let stored: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'mode'", [], |row| {
            row.get(0)
        })
        .optional()?;
    let stored = match stored {
        Some(word) => RunMode::read(word)?,
        None => {
            let has_sends: bool =
                conn.query_row("SELECT EXISTS (SELECT 1 FROM sends)", [], |row| row.get(0))?;
            let first = if has_sends { RunMode::Live } else { mode };
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('mode', ?1)",
                params![first.as_str()],
            )?;
            let detail = format!("this database belongs to {} runs", first.as_str());
            events::insert(conn, now, EventKind::Mode, None, &detail)?;
            first
        }
    };
    Ok((stored != mode).then_some(stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn_with_schema() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut conn =
            super::super::schema::open_writer(&path, std::time::Duration::from_secs(1)).unwrap();
        super::super::schema::migrate(&mut conn, &path, Utc::now()).unwrap();
        (dir, conn)
    }

    #[test]
    fn the_first_mode_sticks_and_the_other_one_is_told() {
        let (_dir, conn) = conn_with_schema();
        assert_eq!(claim(&conn, RunMode::DryRun, Utc::now()).unwrap(), None);
        assert_eq!(claim(&conn, RunMode::DryRun, Utc::now()).unwrap(), None);
        assert_eq!(
            claim(&conn, RunMode::Live, Utc::now()).unwrap(),
            Some(RunMode::DryRun)
        );
    }

    #[test]
    fn an_unmarked_database_with_sends_belongs_to_real_runs() {
        let (_dir, conn) = conn_with_schema();
        conn.execute_batch(
            "INSERT INTO jobs (id, channel, kind, source_name, source_text, sha256, created_at, updated_at)
             VALUES ('j', 'c', 'once', 'j.toml', '', 'x', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
             INSERT INTO sends (job_id, occurrence_at, due_at, expires_at, next_attempt_at, payload, reference, created_at, updated_at)
             VALUES ('j', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z',
                     '2026-01-01T00:00:00.000Z', '{}', 'r', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');",
        )
        .unwrap();
        assert_eq!(
            claim(&conn, RunMode::DryRun, Utc::now()).unwrap(),
            Some(RunMode::Live)
        );
    }
}
