//! The PostgreSQL schema: numbered migrations, applied in one transaction under a
//! transaction-scoped advisory lock (so that daemons starting together migrate once), and
//! refused when the database is newer than this msgspool.

mod v1;
mod v2;

use super::super::StoreError;
use super::PgTarget;

struct Migration {
    version: i64,
    description: &'static str,
    sql: &'static str,
}

/// Every migration, in order; `version` counts up from 1 without gaps.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "initial schema: the tables and views of SQLite's versions 1 to 3, with sends' leases, nodes, leader and rate_buckets; view cluster",
        sql: v1::V1_INITIAL,
    },
    Migration {
        version: 2,
        description: "sends: drop the index on (state, next_attempt_at)",
        sql: v2::V2_DROP_STATE_INDEX,
    },
];

/// The newest PostgreSQL schema version this binary knows.
pub const KNOWN_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

const CREATE_SCHEMA_VERSION: &str = "
CREATE TABLE IF NOT EXISTS schema_version (
    version     BIGINT PRIMARY KEY,
    applied_at  TIMESTAMPTZ NOT NULL,
    applied_by  TEXT NOT NULL,
    description TEXT NOT NULL
)";

/// Held for the migrating transaction only: released at its end, so it works behind a
/// transaction pooler too. The number is "msgspool" in ASCII.
const MIGRATION_LOCK: i64 = 0x6d73_6773_706f_6f6c;

/// Brings the database to [`KNOWN_VERSION`]; returns the version found before.
pub(super) async fn migrate(
    client: &mut deadpool_postgres::Object,
    target: &PgTarget,
) -> Result<i64, StoreError> {
    let failed = |version: i64| {
        move |e: tokio_postgres::Error| StoreError::Migrate {
            path: target.to_string().into(),
            version,
            reason: e.to_string(),
        }
    };
    let tx = client.transaction().await.map_err(failed(KNOWN_VERSION))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(failed(KNOWN_VERSION))?;
    tx.batch_execute(CREATE_SCHEMA_VERSION)
        .await
        .map_err(failed(KNOWN_VERSION))?;
    let found: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_version",
            &[],
        )
        .await
        .map_err(failed(KNOWN_VERSION))?
        .get(0);
    if found > KNOWN_VERSION {
        // Dropping `tx` rolls back: a newer database is left exactly as it was.
        return Err(StoreError::NewerSchema {
            path: target.to_string().into(),
            found,
            known: KNOWN_VERSION,
        });
    }
    let by = format!("msgspool {}", env!("CARGO_PKG_VERSION"));
    for step in MIGRATIONS.iter().filter(|m| m.version > found) {
        tx.batch_execute(step.sql)
            .await
            .map_err(failed(step.version))?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at, applied_by, description)
             VALUES ($1, now(), $2, $3)",
            &[&step.version, &by, &step.description],
        )
        .await
        .map_err(failed(step.version))?;
    }
    tx.commit().await.map_err(failed(KNOWN_VERSION))?;
    Ok(found)
}

/// Checks, without changing anything, that the database is at [`KNOWN_VERSION`].
pub(super) async fn check_version(
    client: &deadpool_postgres::Object,
    target: &PgTarget,
) -> Result<(), StoreError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[])
        .await?
        .get(0);
    let found: i64 = if exists {
        client
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_version",
                &[],
            )
            .await?
            .get(0)
    } else {
        0
    };
    if found > KNOWN_VERSION {
        return Err(StoreError::NewerSchema {
            path: target.to_string().into(),
            found,
            known: KNOWN_VERSION,
        });
    }
    if found < KNOWN_VERSION {
        return Err(StoreError::NotMigrated {
            path: target.to_string().into(),
            found,
            known: KNOWN_VERSION,
        });
    }
    Ok(())
}
