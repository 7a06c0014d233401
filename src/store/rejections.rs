//! The `rejections` table: one row per job file intake turned away. Its SQL only: nothing
//! reads a rejection back but `stats` (a count) and operators with `sqlite3`.
//!
//! Trusts: its caller for the transaction. Guarantees: the error text is the one written
//! into `rejected/NAME.toml.err`, so the two agree.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::StoreError;
use crate::timefmt::utc_text;

/// Appends a rejected job file to `rejections`.
pub(super) fn insert(
    conn: &Connection,
    file_name: &str,
    error: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO rejections (file_name, rejected_at, error) VALUES (?1, ?2, ?3)",
    )?;
    stmt.execute(params![file_name, utc_text(at), error])?;
    Ok(())
}

/// The number of job files rejected at or after `since`.
pub(super) fn count_since(conn: &Connection, since: DateTime<Utc>) -> Result<i64, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT COUNT(*) FROM rejections WHERE rejected_at >= ?1")?;
    Ok(stmt.query_row([utc_text(since)], |row| row.get(0))?)
}
