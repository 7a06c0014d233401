//! The schema's history: every numbered migration, in order, and how one step is applied.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{v1, v2, v3, v4};
use crate::timefmt::utc_text;

/// One step of the schema's history.
pub(super) struct Migration {
    pub(super) version: i64,
    pub(super) description: &'static str,
    pub(super) sql: &'static str,
    /// Rewrites CHECK constraints in place (SQLite's documented `writable_schema` procedure
    /// for a change that leaves every stored row valid: a word list that grows, or the same
    /// words said another way): `(table, old text, new text)`.
    pub(super) checks: &'static [(&'static str, &'static str, &'static str)],
}

/// Every migration, in order; `version` counts up from 1 without gaps.
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "initial schema: jobs, sends, attempts, rejections, events; views upcoming, failures, recent_activity",
        sql: v1::V1_INITIAL,
        checks: &[],
    },
    Migration {
        version: 2,
        description: "one daemon per database: meta (run mode); jobs may be broken (broken_reason); sends may be replaced; attempts may be redirected",
        sql: v2::V2_FAULTS,
        checks: &[
            (
                "jobs",
                "CHECK (state IN ('active', 'finished', 'canceled'))",
                "CHECK (state IN ('active', 'finished', 'canceled', 'broken'))",
            ),
            (
                "sends",
                "CHECK (state IN ('scheduled', 'sending', 'sent', 'failed', 'expired', 'canceled'))",
                "CHECK (state IN ('scheduled', 'sending', 'sent', 'failed', 'expired', 'canceled', 'replaced'))",
            ),
            (
                "attempts",
                "('sent', 'retry', 'throttled', 'failed', 'unauthorized', 'expired', 'interrupted')",
                "('sent', 'retry', 'throttled', 'failed', 'unauthorized', 'redirected', 'expired', 'interrupted')",
            ),
        ],
    },
    Migration {
        version: 3,
        description: "delivery: sends.reconcile_from (look up before re-posting), delivery status columns, delivery_events; views undelivered, delivery_today; attempts may be unknown, reconciled, not_found",
        sql: v3::V3_DELIVERY,
        checks: &[(
            "attempts",
            "('sent', 'retry', 'throttled', 'failed', 'unauthorized', 'redirected', 'expired', 'interrupted')",
            "('sent', 'retry', 'throttled', 'failed', 'unauthorized', 'redirected', 'expired', 'interrupted', 'unknown', 'reconciled', 'not_found')",
        )],
    },
    Migration {
        version: 4,
        description: "the CHECK constraints' word lists as OR chains: the same values allowed, without a temporary b-tree per check",
        sql: "",
        checks: v4::V4_CHECKS,
    },
];

/// One migration step and its `schema_version` row, inside the caller's transaction.
pub(super) fn apply(
    tx: &rusqlite::Transaction<'_>,
    step: &Migration,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    tx.execute_batch(step.sql)?;
    v2::rewrite_checks(tx, step.checks)?;
    tx.execute(
        "INSERT INTO schema_version (version, applied_at, applied_by, description)
         VALUES (?1, ?2, ?3, ?4)",
        params![
            step.version,
            utc_text(now),
            concat!("msgspool ", env!("CARGO_PKG_VERSION")),
            step.description
        ],
    )?;
    Ok(())
}
