//! `msgspool run`: wires config, store, intake and dispatch together, and answers signals
//! and systemd.
//!
//! Start-up order matters: config and key are checked first (a daemon that cannot send
//! refuses to start, unless dry-run), then the database is opened and sends interrupted
//! by a crash are put back, and only then is READY=1 sent and intake started. SIGHUP
//! reloads the config (a bad one is refused and the old one stays) and rescans;
//! SIGTERM/SIGINT stop claiming, let requests in flight finish within `shutdown_grace`, put
//! back what did not finish, and return so the process exits 0.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Notify, watch};

mod housekeeping;
mod lock;
mod notify;
mod open;
mod reload;

pub use lock::{DaemonLocks, LockError, lock_path};

use housekeeping::housekeeping;

use crate::config::{self, Config, ConfigError};
use crate::dispatch::{Dispatcher, Fatal, recurring};
use crate::spool::Intake;
use crate::store::{Store, StoreError};

/// What `msgspool run` was asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `--config`; when absent, `/etc/msgspool/config.toml` if it exists, else built-in
    /// defaults. A dry run without `--config` always takes the built-in defaults.
    pub config: Option<PathBuf>,
    pub spool: Option<PathBuf>,
    /// An SQLite file or a `postgres://` URL.
    pub database: Option<String>,
    pub dry_run: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error(
        "no Bird access key: set MSGSPOOL_ACCESS_KEY, or [bird] access_key_file in the config, or the systemd credential `bird-access-key` (LoadCredential=); or run with --dry-run"
    )]
    NoAccessKey,
    #[error("[bird] workspace_id is not set in the config; set it, or run with --dry-run")]
    NoWorkspace,
    #[error("cannot create the spool folder {path}: {error}")]
    Spool {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Client(#[from] crate::bird::ClientError),
    #[error("cannot listen for signals: {0}")]
    Signals(std::io::Error),
    #[error("{0}")]
    Lock(#[from] LockError),
    #[error(
        "cannot listen for webhooks on {listen}: {error}; free the port or change [webhooks] listen"
    )]
    Webhooks {
        listen: std::net::SocketAddr,
        error: std::io::Error,
    },
    #[error("stopped because msgspool cannot go on: {0}")]
    Fatal(String),
    #[error(
        "{database} holds sends of a real (not dry) run; a dry run never touches it. Give the dry run its own --database (and --spool)"
    )]
    DryRunOnLiveDatabase { database: String },
    #[error(
        "{database} was filled by a dry run; its sends were never meant for Bird. Give the real run its own --database, or remove this one"
    )]
    LiveRunOnDryDatabase { database: String },
}

/// Loads the config the options name and applies the command-line overrides (the
/// shared [`config::Lookup`]; a dry run without `--config` takes the built-in defaults).
pub fn load_config(opts: &RunOptions) -> Result<Config, ConfigError> {
    config::Lookup {
        config: opts.config.clone(),
        spool: opts.spool.clone(),
        database: opts.database.clone(),
        builtin_without_file: opts.dry_run,
    }
    .load()
}

/// Runs the daemon until SIGTERM or SIGINT.
pub async fn run(opts: RunOptions) -> Result<(), DaemonError> {
    let cfg = load_config(&opts)?;
    let transport = reload::transport_for(&cfg, opts.dry_run)?;
    std::fs::create_dir_all(&cfg.spool).map_err(|error| DaemonError::Spool {
        path: cfg.spool.clone(),
        error,
    })?;
    let (_locks, store) = open::open(&cfg, opts.dry_run).await?;
    tracing::info!(
        spool = %cfg.spool.display(),
        database = %cfg.database,
        dry_run = opts.dry_run,
        channels = cfg.channels.len(),
        "msgspool started"
    );
    let mut hup = signal(SignalKind::hangup()).map_err(DaemonError::Signals)?;
    let mut term = signal(SignalKind::terminate()).map_err(DaemonError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DaemonError::Signals)?;

    let (config_tx, config_rx) = watch::channel(Arc::new(cfg));
    let (transport_tx, transport_rx) = watch::channel(Arc::new(transport));
    let (stop_tx, stop_rx) = watch::channel(false);
    // Before any task starts: a listener that cannot work stops the start-up cleanly.
    let webhooks_cfg = config_rx.borrow().clone();
    let listener = webhooks_listener(&webhooks_cfg, &store, &stop_rx).await?;
    let waker = Arc::new(Notify::new());
    let rescan = Arc::new(Notify::new());
    // With several daemons on one database: another's intake pokes this dispatch too, and
    // the node's heartbeat, lease renewal and leader election run beside it.
    store.watch_new_sends(waker.clone());
    // Its own stop, sent once dispatch has drained: requests in flight keep their leases
    // renewed through the grace.
    let (cluster_stop, cluster_stop_rx) = watch::channel(false);
    let cluster = store.start_cluster(cluster_stop_rx);

    let intake = Intake {
        spool: config_rx.borrow().spool.clone(),
        store: store.clone(),
        config: config_rx.clone(),
        dispatch_waker: waker.clone(),
    };
    let fatal = Arc::new(Fatal::default());
    let gets = crate::dispatch::GetBudget::new(config_rx.borrow().bird.get_rate_limit);
    let dispatcher = Dispatcher {
        store: store.clone(),
        config: config_rx.clone(),
        transport: transport_rx,
        waker: waker.clone(),
        heartbeat: notify::watchdog_heartbeat(store.clone()),
        fatal: fatal.clone(),
        gets: gets.clone(),
    };
    let mut intake_task = tokio::spawn(intake.run(rescan.clone(), stop_rx.clone()));
    let mut dispatch_task = tokio::spawn(dispatcher.run(stop_rx.clone()));
    let housekeeping = tokio::spawn(housekeeping(
        store.clone(),
        config_rx.clone(),
        stop_rx.clone(),
    ));
    let poller = crate::delivery::poll::Poller {
        store: store.clone(),
        config: config_rx.clone(),
        transport: transport_tx.subscribe(),
        gets,
    };
    let polling = tokio::spawn(poller.run(stop_rx.clone()));
    notify::notify_state(&[NotifyState::Ready]);

    let mut check = tokio::time::interval(Duration::from_secs(1));
    // A task that ended on its own (`None` once awaited) means msgspool cannot go on.
    let (mut intake_live, mut dispatch_live) = (true, true);
    let ended: Result<(), DaemonError> = loop {
        tokio::select! {
            _ = hup.recv() => {
                if reload::reload(&opts, &config_tx, &transport_tx) {
                    // A new key or base_url: what a refusal or redirect held back goes now.
                    if let Err(e) = store.resume_refused(chrono::Utc::now()).await {
                        tracing::warn!(error = %e, "cannot bring sends held back by a refused key forward");
                    }
                    let cfg = config_tx.borrow().clone();
                    recurring::review(&store, &cfg, chrono::Utc::now()).await;
                }
                rescan.notify_one();
                waker.notify_one();
            }
            _ = term.recv() => break Ok(()),
            _ = int.recv() => break Ok(()),
            reason = fatal.raised() => break Err(DaemonError::Fatal(reason)),
            _ = check.tick() => {
                if !store.writer_alive() {
                    break Err(DaemonError::Fatal("the database writer thread has stopped".to_owned()));
                }
            }
            r = &mut dispatch_task, if dispatch_live => {
                dispatch_live = false;
                break Err(DaemonError::Fatal(format!("the dispatch loop ended on its own ({})", task_end(r))));
            }
            r = &mut intake_task, if intake_live => {
                intake_live = false;
                break Err(DaemonError::Fatal(format!("intake ended on its own ({})", task_end(r))));
            }
        }
    };
    tracing::info!("stopping");
    notify::notify_state(&[NotifyState::Stopping]);
    let _ = stop_tx.send(true);
    let grace = config_tx.borrow().shutdown_grace;
    let mut tasks = vec![housekeeping, polling];
    tasks.extend(listener);
    if intake_live {
        tasks.push(intake_task);
    }
    if dispatch_live {
        tasks.push(dispatch_task);
    }
    for task in tasks {
        // Dispatch bounds its own drain by the grace; this bound is for anything else.
        match tokio::time::timeout(grace + Duration::from_secs(1), task).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "a task ended abnormally during shutdown"),
            Err(_) => tracing::error!("a task did not stop within shutdown_grace; leaving it"),
        }
    }
    // Last, after dispatch put back what it held: the node resigns its leadership and
    // removes its row, so another node leads at once rather than after the term.
    let _ = cluster_stop.send(true);
    if let Some(cluster) = cluster {
        match tokio::time::timeout(Duration::from_secs(10), cluster).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "the cluster task ended abnormally"),
            Err(_) => tracing::error!("the cluster task did not stop within 10s; leaving it"),
        }
    }
    ended?;
    tracing::info!("stopped");
    Ok(())
}

/// Starts the `[webhooks]` listener when configured (read once: a reload does not move it).
/// Its key and its port are checked here, so a listener that cannot work stops the start.
async fn webhooks_listener(
    cfg: &Config,
    store: &Store,
    stop: &watch::Receiver<bool>,
) -> Result<Option<tokio::task::JoinHandle<()>>, DaemonError> {
    let Some(hooks) = &cfg.webhooks else {
        return Ok(None);
    };
    let key = config::load_signing_key(hooks, &|name| std::env::var(name).ok())?;
    let serve = crate::webhooks::bind(hooks, key, store.clone(), stop.clone())
        .await
        .map_err(|error| DaemonError::Webhooks {
            listen: hooks.listen,
            error,
        })?;
    Ok(Some(tokio::spawn(serve)))
}

/// How a task ended, for the log: returned, panicked, or was canceled.
fn task_end(r: Result<(), tokio::task::JoinError>) -> String {
    match r {
        Ok(()) => "it returned".to_owned(),
        Err(e) => e.to_string(),
    }
}
