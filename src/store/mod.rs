//! The store: msgspool's state, behind one interface, and every line of SQL.
//!
//! Owns: the [`Backend`] seam ([`backend`]: every operation intake, dispatch and the CLI
//! need) and [`Store`], the handle they all hold; the one SQLite backend,
//! [`SqliteStore`] ([`sqlite`]), with its schema ([`schema`]: pragmas, numbered migrations,
//! views), its one writer thread ([`writer`]: group commit), and its SQL by table:
//! [`jobs`], [`sends`], [`attempts`], [`events`], [`rejections`], each with its one row
//! type. Operations that span tables are split by operation: [`accept`], [`claim`],
//! [`outcome`], [`cron`], [`cancel`], [`retry`], [`details`] (show and stats), [`mode`].
//! Every state and outcome word is in [`words`]. No other module sees a connection.
//!
//! Trusts: its callers for what they store (a job was validated by `job`, a payload is
//! Bird's JSON body) and for the clock: every write takes `now`, so tests can move time.
//! SQLite for durability: WAL with `synchronous = FULL`, so a commit survives power loss.
//!
//! Guarantees: every write runs inside `BEGIN IMMEDIATE` on the writer thread and is
//! answered only after its COMMIT returned, so an `Ok` is on disk. Writes submitted
//! together share one commit but fail alone. A database locked by another writer (an
//! operator's open `sqlite3` transaction) delays writes and never drops them. Reads run on
//! their own read-only connection and see the last commit. Every timestamp is stored as
//! `YYYY-MM-DDTHH:MM:SS.sssZ` text ([`crate::timefmt`]). Dropping a future returned by a
//! write does not cancel the write: once submitted it commits (or fails) whether or not
//! anyone waits for the answer. `tests/conformance.rs` checks the backend contract
//! against the interface alone.

mod accept;
mod attempts;
mod backend;
mod cancel;
mod claim;
mod cron;
mod delivery;
mod details;
mod error;
mod events;
mod jobs;
mod mode;
mod outcome;
pub mod postgres;
mod rejections;
mod retry;
mod schema;
mod sends;
mod sqlite;
mod words;
mod writer;

#[cfg(test)]
mod tests;

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use accept::{AcceptOutcome, NewJob};
pub use attempts::{AttemptRecord, AttemptRow};
pub use backend::{Answer, Answers, Backend};
pub use cancel::CancelOutcome;
pub use cron::{CronJob, FollowUp};
pub use delivery::{
    DeliveryBackend, DeliveryCounts, DeliveryEventRow, DeliveryStatus, DeliveryUpdate, PollDue,
};
pub use details::{FinishedCounts, JobDetails, SendDetails, Stats};
pub use error::{ErrorClass, StoreError};
pub use events::EventRow;
pub use jobs::{JobRow, JobSource};
pub use outcome::SendUpdate;
pub use retry::RetryOutcome;
pub use schema::KNOWN_VERSION;
pub use sends::{ClaimedSend, NewSend, SendFilter, SendRow};
pub use sqlite::SqliteStore;
pub use words::{AttemptOutcome, EventKind, JobKind, JobState, RunMode, SendState};

/// The handle intake, dispatch and the CLI hold: cheap to clone, and every call goes
/// through the [`Backend`] interface (`store.claim_due(..)` is [`Backend::claim_due`]).
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
}

impl Store {
    /// Opens (creating the file, not its folder) and migrates the SQLite database at
    /// `path`, and starts its writer thread.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Ok(Store::on(SqliteStore::open(path)?))
    }

    /// Opens the existing SQLite database at `path` for reading only (see
    /// [`SqliteStore::open_read_only`]).
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        Ok(Store::on(SqliteStore::open_read_only(path)?))
    }

    /// Opens the database `target` names for `role`: an SQLite file as [`Store::open`] or
    /// [`Store::open_read_only`] do, a PostgreSQL database through a pool (migrated for
    /// the daemon and `msgspool migrate`, only checked for operator commands). A
    /// PostgreSQL target must carry its password already
    /// ([`crate::config::DatabaseTarget::with_secrets`]). `node` and `workspace` say who
    /// this daemon is among those sharing the database, and whose rate bucket it shares.
    pub async fn open_target(
        target: &crate::config::DatabaseTarget,
        role: OpenRole,
        node: &str,
        workspace: &str,
    ) -> Result<Store, StoreError> {
        use crate::config::DatabaseTarget;
        match target {
            DatabaseTarget::Sqlite(path) => match role {
                OpenRole::Daemon | OpenRole::Migrate => Store::open(path),
                OpenRole::Read => Store::open_read_only(path),
                OpenRole::Write => {
                    // Checked read-only first: an operator's binary never migrates.
                    drop(Store::open_read_only(path)?);
                    Store::open(path)
                }
            },
            DatabaseTarget::Postgres(pg) => {
                let migrate = matches!(role, OpenRole::Daemon | OpenRole::Migrate);
                let settings = postgres::PgSettings {
                    node: node.to_owned(),
                    lease: pg.lease,
                    // An operator's command makes a few queries one after another.
                    pool_size: if role == OpenRole::Daemon {
                        pg.pool_size
                    } else {
                        2
                    },
                    workspace: workspace.to_owned(),
                    migrate,
                };
                Ok(Store::on(
                    postgres::PgStore::connect(&pg.target, settings).await?,
                ))
            }
        }
    }

    /// A handle on any backend.
    pub fn on(backend: impl Backend + 'static) -> Store {
        Store {
            backend: Arc::new(backend),
        }
    }
}

/// What a database is opened for (see [`Store::open_target`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenRole {
    /// `msgspool run`: migrated, the full pool.
    Daemon,
    /// `msgspool migrate`: migrated, then closed.
    Migrate,
    /// An operator's reading command: at this msgspool's schema, never changed.
    Read,
    /// An operator's writing command: at this msgspool's schema, writes only rows.
    Write,
}

impl Deref for Store {
    type Target = dyn Backend;

    fn deref(&self) -> &Self::Target {
        self.backend.as_ref()
    }
}

/// Knobs the tests turn; the daemon uses the defaults.
#[derive(Debug, Clone, Copy)]
struct Options {
    /// How long SQLite itself waits for a lock before reporting SQLITE_BUSY.
    busy_timeout: Duration,
    /// The most operations one group commit takes.
    max_batch: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            busy_timeout: Duration::from_secs(5),
            max_batch: 1000,
        }
    }
}

/// Reads a stored timestamp, naming the column when it is not one.
fn instant(column: &'static str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    crate::timefmt::parse_utc_text(text).ok_or_else(|| StoreError::BadValue {
        column,
        value: text.to_owned(),
    })
}

/// Reads an optional stored timestamp.
fn optional_instant(
    column: &'static str,
    text: Option<String>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    text.map(|t| instant(column, &t)).transpose()
}
