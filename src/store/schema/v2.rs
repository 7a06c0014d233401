//! Migration 2 and the one tool it needs: rewriting CHECK constraints in place.
//!
//! SQLite cannot alter a CHECK constraint; the documented `writable_schema` procedure
//! edits the stored `CREATE TABLE` text when every existing row stays valid (a list of
//! allowed words only grows, or says the same words another way), bumps the schema cookie
//! and checks integrity, all inside the migration's transaction, so it is all or nothing.

use rusqlite::params;

/// Version 2: the run mode a database was first used in (a dry run and a real run never
/// share one), and why a recurring job is `broken`.
pub(super) const V2_FAULTS: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
ALTER TABLE jobs ADD COLUMN broken_reason TEXT;
";

/// Rewrites CHECK constraints in the stored schema, then bumps the schema cookie so every
/// connection reloads it. Refuses (and so rolls the migration back) when the old text is
/// not found: the schema was edited by hand.
pub(super) fn rewrite_checks(
    tx: &rusqlite::Transaction<'_>,
    checks: &[(&str, &str, &str)],
) -> rusqlite::Result<()> {
    if checks.is_empty() {
        return Ok(());
    }
    tx.execute_batch("PRAGMA writable_schema = ON")?;
    for (table, old, new) in checks {
        let changed = tx.execute(
            "UPDATE sqlite_schema SET sql = replace(sql, ?2, ?3)
             WHERE type = 'table' AND name = ?1 AND instr(sql, ?2) > 0",
            params![table, old, new],
        )?;
        if changed != 1 {
            tx.execute_batch("PRAGMA writable_schema = OFF")?;
            return Err(rusqlite::Error::InvalidParameterName(format!(
                "table {table} does not have the constraint {old} this migration rewrites"
            )));
        }
    }
    let cookie: i64 = tx.query_row("PRAGMA schema_version", [], |row| row.get(0))?;
    tx.execute_batch(&format!(
        "PRAGMA schema_version = {}",
        cookie.saturating_add(1)
    ))?;
    tx.execute_batch("PRAGMA writable_schema = OFF")?;
    let check: String = tx.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
    if check != "ok" {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "integrity check after rewriting constraints: {check}"
        )));
    }
    Ok(())
}
