//! The PostgreSQL backend: one database shared by several daemons, each with its own
//! spool folder. Sends are claimed with `FOR UPDATE SKIP LOCKED` under a lease (owner,
//! token, expiry); every later write of a claimed send names its token, so a daemon whose
//! lease was taken over records its result as an attempt only.
//!
//! Owns: the connection pool ([`deadpool_postgres`], TLS through rustls), the schema
//! ([`schema`]), this daemon's node name and the tokens of the leases it holds. Trusts:
//! PostgreSQL for transactions (READ COMMITTED; every multi-statement write is one
//! transaction, committed before it is answered). Guarantees: the
//! [`Backend`](super::Backend) contract, as `tests/conformance.rs` checks on both backends.

mod accept;
mod backend;
mod bucket;
mod cancel;
mod claim;
mod cluster;
mod cron;
mod delivery;
mod error;
mod history;
mod job_rows;
mod jobs;
mod lease;
mod listen;
mod moves;
mod outcome;
mod reads;
mod retry;
mod rows;
mod schema;
mod target;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

pub use schema::KNOWN_VERSION as PG_KNOWN_VERSION;
pub use target::{BadUrl, PgTarget};

use super::StoreError;

/// How one daemon (or operator command) uses the shared database.
#[derive(Debug, Clone)]
pub struct PgSettings {
    /// This daemon's name among the nodes: unique per host and spool.
    pub node: String,
    /// How long a claim holds a send; longer than a request's timeout, renewed while the
    /// request is in flight.
    pub lease: Duration,
    /// Connections in the pool.
    pub pool_size: usize,
    /// The workspace whose token bucket this daemon shares.
    pub workspace: String,
    /// Whether to migrate the schema (the daemon, `msgspool migrate`) or only check it
    /// (operator commands).
    pub migrate: bool,
}

/// The PostgreSQL store: cheap to clone, every clone shares the pool and the leases.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    target: PgTarget,
    settings: PgSettings,
    /// Lease tokens of the sends this process claimed and has not recorded yet.
    leases: Mutex<HashMap<i64, i64>>,
    /// The workspace's rate, for the shared bucket (0: not set, no limit).
    rate: AtomicU32,
    /// False once the store must not be used any more (the daemon exits).
    alive: AtomicBool,
    /// Whether this node holds the leader's term (set by `cluster`, read by
    /// `cluster_leader`): false until elected, and again once a renewal fails.
    leading: AtomicBool,
    /// Outcomes waiting to be committed together.
    outcomes: outcome::Batcher,
}

impl PgStore {
    /// Connects, and migrates the schema (or, with `settings.migrate` false, checks that
    /// it is at this msgspool's version).
    pub async fn connect(target: &PgTarget, settings: PgSettings) -> Result<PgStore, StoreError> {
        let pool = pool(target, settings.pool_size).map_err(|reason| StoreError::Open {
            path: target.to_string().into(),
            reason,
        })?;
        let store = PgStore {
            inner: Arc::new(Inner {
                pool,
                target: target.clone(),
                settings,
                leases: Mutex::new(HashMap::new()),
                rate: AtomicU32::new(0),
                alive: AtomicBool::new(true),
                leading: AtomicBool::new(false),
                outcomes: outcome::Batcher::default(),
            }),
        };
        let mut client = store.client().await.map_err(|e| StoreError::Open {
            path: target.to_string().into(),
            reason: e.to_string(),
        })?;
        if store.inner.settings.migrate {
            schema::migrate(&mut client, target).await?;
        } else {
            schema::check_version(&client, target).await?;
        }
        Ok(store)
    }

    /// A pooled connection.
    pub(super) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.inner.pool.get().await.map_err(error::from_pool)
    }

    /// This daemon's node name.
    pub(super) fn node(&self) -> &str {
        &self.inner.settings.node
    }

    pub(super) fn settings(&self) -> &PgSettings {
        &self.inner.settings
    }

    pub(super) fn target(&self) -> &PgTarget {
        &self.inner.target
    }

    /// The shared bucket's rate (0: none set).
    pub(super) fn rate(&self) -> u32 {
        self.inner.rate.load(Ordering::Relaxed)
    }

    pub(super) fn set_rate(&self, rate: u32) {
        self.inner.rate.store(rate, Ordering::Relaxed);
    }

    /// The leases this process holds, by send id (the token of each).
    pub(super) fn leases(&self) -> std::sync::MutexGuard<'_, HashMap<i64, i64>> {
        // The map stays meaningful if a panicking task held it.
        self.inner
            .leases
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether this node leads (see `cluster`).
    pub(super) fn leading(&self) -> bool {
        self.inner.leading.load(Ordering::Relaxed)
    }

    pub(super) fn set_leading(&self, leads: bool) {
        self.inner.leading.store(leads, Ordering::Relaxed);
    }

    fn outcomes(&self) -> &outcome::Batcher {
        &self.inner.outcomes
    }

    pub(super) fn alive(&self) -> bool {
        self.inner.alive.load(Ordering::Relaxed)
    }
}

/// A pool of connections to `target`, TLS through rustls when the URL asks for it.
fn pool(target: &PgTarget, size: usize) -> Result<Pool, String> {
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let config = target.config().clone();
    let manager = if target.wants_tls() {
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config()?);
        Manager::from_config(config, tls, manager_config)
    } else {
        Manager::from_config(config, tokio_postgres::NoTls, manager_config)
    };
    Pool::builder(manager)
        .max_size(size.max(1))
        .wait_timeout(Some(Duration::from_secs(10)))
        .create_timeout(Some(Duration::from_secs(10)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| format!("cannot build the connection pool: {e}"))
}

/// rustls with the platform's trusted roots; the provider is named, so that no process-wide
/// default has to be installed (and none can be missing).
fn tls_config() -> Result<rustls::ClientConfig, String> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_platform_verifier()
        .map_err(|e| format!("cannot load the trusted certificates: {e}"))
        .map(|builder| builder.with_no_client_auth())
}
