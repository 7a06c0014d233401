//! `msgspool run`: wires config, store, intake and dispatch together, and answers signals
//! and systemd.
//!
//! Start-up order matters: config and key are checked first (a daemon that cannot send
//! refuses to start, unless dry-run), then the database is opened and sends interrupted
//! by a crash are put back, and only then is READY=1 sent and intake started. SIGHUP
//! reloads the config (a bad one is refused and the old one stays) and rescans;
//! SIGTERM/SIGINT stop claiming, let requests in flight finish within `shutdown_grace`, put
//! back what did not finish, and return so the process exits 0.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sd_notify::NotifyState;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Notify, watch};

mod lock;

pub use lock::{DaemonLocks, LockError, lock_path};

use crate::bird::BirdClient;
use crate::config::{self, Config, ConfigError};
use crate::dispatch::Dispatcher;
use crate::dispatch::transport::Transport;
use crate::spool::Intake;
use crate::store::{RunMode, SendState, Store, StoreError};

/// What `msgspool run` was asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `--config`; when absent, `/etc/msgspool/config.toml` if it exists, else built-in
    /// defaults. A dry run without `--config` always takes the built-in defaults.
    pub config: Option<PathBuf>,
    pub spool: Option<PathBuf>,
    pub database: Option<PathBuf>,
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
        "{} holds sends of a real (not dry) run; a dry run never touches it. Give the dry run its own --database (and --spool)", database.display()
    )]
    DryRunOnLiveDatabase { database: PathBuf },
    #[error(
        "{} was filled by a dry run; its sends were never meant for Bird. Give the real run its own --database, or remove this one", database.display()
    )]
    LiveRunOnDryDatabase { database: PathBuf },
}

/// Loads the config the options name and applies the command-line overrides.
pub fn load_config(opts: &RunOptions) -> Result<Config, ConfigError> {
    load_config_with_default(opts, Path::new(config::DEFAULT_PATH))
}

/// [`load_config`] with the system-wide config at `default`.
fn load_config_with_default(opts: &RunOptions, default: &Path) -> Result<Config, ConfigError> {
    let from_file = match &opts.config {
        Some(p) => Some(Config::load(p)?),
        // A dry run must never pick up the production config, spool and database.
        None if default.exists() && !opts.dry_run => Some(Config::load(default)?),
        None => None,
    };
    let no_file = from_file.is_none();
    let mut cfg = from_file.unwrap_or_else(Config::builtin);
    if let Some(s) = &opts.spool {
        cfg.spool = s.clone();
    }
    match &opts.database {
        Some(d) => cfg.database = d.clone(),
        // Without a config file, keep the database beside the spool folder rather than in
        // /var/lib, so a first dry run works as an ordinary user.
        None if no_file => {
            let parent = cfg.spool.parent().unwrap_or(Path::new("."));
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            cfg.database = parent.join("msgspool.db");
        }
        None => {}
    }
    Ok(cfg)
}

/// The transport the config and key call for.
fn transport_for(cfg: &Config, dry_run: bool) -> Result<Transport, DaemonError> {
    if dry_run {
        return Ok(Transport::DryRun);
    }
    let env = |name: &str| std::env::var(name).ok();
    let key = config::load_access_key(cfg, &env)?.ok_or(DaemonError::NoAccessKey)?;
    let workspace = cfg
        .bird
        .workspace_id
        .as_deref()
        .ok_or(DaemonError::NoWorkspace)?;
    Ok(Transport::Bird(BirdClient::new(&cfg.bird, workspace, key)?))
}

/// Runs the daemon until SIGTERM or SIGINT.
pub async fn run(opts: RunOptions) -> Result<(), DaemonError> {
    let cfg = load_config(&opts)?;
    let transport = transport_for(&cfg, opts.dry_run)?;
    std::fs::create_dir_all(&cfg.spool).map_err(|error| DaemonError::Spool {
        path: cfg.spool.clone(),
        error,
    })?;
    // Before anything reads or writes the database: a second daemon must not recover the
    // first one's sends in flight as interrupted and post them again.
    let _locks = DaemonLocks::take(&cfg.database, &cfg.spool)?;
    let store = Store::open(&cfg.database)?;
    let mode = if opts.dry_run {
        RunMode::DryRun
    } else {
        RunMode::Live
    };
    match store.claim_mode(mode, chrono::Utc::now()).await? {
        None => {}
        Some(RunMode::Live) => {
            return Err(DaemonError::DryRunOnLiveDatabase {
                database: cfg.database.clone(),
            });
        }
        Some(RunMode::DryRun) => {
            return Err(DaemonError::LiveRunOnDryDatabase {
                database: cfg.database.clone(),
            });
        }
    }
    let recovered = store.recover_interrupted(chrono::Utc::now()).await?;
    if recovered > 0 {
        tracing::warn!(
            sends = recovered,
            "put back sends interrupted by a crash; they go out again now"
        );
    }
    tracing::info!(
        spool = %cfg.spool.display(),
        database = %cfg.database.display(),
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
    let waker = Arc::new(Notify::new());
    let rescan = Arc::new(Notify::new());

    let intake = Intake {
        spool: config_rx.borrow().spool.clone(),
        store: store.clone(),
        config: config_rx.clone(),
        dispatch_waker: waker.clone(),
    };
    let dispatcher = Dispatcher {
        store: store.clone(),
        config: config_rx.clone(),
        transport: transport_rx,
        waker: waker.clone(),
        heartbeat: watchdog_heartbeat(store.clone()),
    };
    let intake_task = tokio::spawn(intake.run(rescan.clone(), stop_rx.clone()));
    let dispatch_task = tokio::spawn(dispatcher.run(stop_rx.clone()));
    let housekeeping = tokio::spawn(housekeeping(store.clone(), stop_rx.clone()));
    let _ = sd_notify::notify(&[NotifyState::Ready]);

    loop {
        tokio::select! {
            _ = hup.recv() => {
                reload(&opts, &config_tx, &transport_tx);
                rescan.notify_one();
                waker.notify_one();
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    tracing::info!("stopping");
    let _ = sd_notify::notify(&[NotifyState::Stopping]);
    let _ = stop_tx.send(true);
    for task in [intake_task, dispatch_task, housekeeping] {
        if let Err(e) = task.await {
            tracing::error!(error = %e, "a task ended abnormally during shutdown");
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// SIGHUP: load the config again; keep the old one if the new one is bad.
fn reload(
    opts: &RunOptions,
    config_tx: &watch::Sender<Arc<Config>>,
    transport_tx: &watch::Sender<Arc<Transport>>,
) {
    let _ = sd_notify::NotifyState::monotonic_usec_now()
        .and_then(|now| sd_notify::notify(&[NotifyState::Reloading, now]));
    let result = load_config(opts)
        .map_err(DaemonError::from)
        .and_then(|new| {
            let old = config_tx.borrow().clone();
            if new.spool != old.spool || new.database != old.database {
                tracing::warn!(
                    "spool and database paths change only at restart; keeping the current ones"
                );
            }
            let mut new = new;
            new.spool = old.spool.clone();
            new.database = old.database.clone();
            let transport = transport_for(&new, opts.dry_run)?;
            Ok((new, transport))
        });
    match result {
        Ok((cfg, transport)) => {
            config_tx.send_replace(Arc::new(cfg));
            transport_tx.send_replace(Arc::new(transport));
            tracing::info!("config reloaded");
        }
        Err(e) => {
            tracing::error!(error = %e, "config reload refused; the previous config stays in force")
        }
    }
    let _ = sd_notify::notify(&[NotifyState::Ready]);
}

/// How often the STATUS= line is refreshed when systemd asked for no watchdog.
const STATUS_EVERY: Duration = Duration::from_secs(15);

/// Proof of life for systemd's watchdog, sent from the dispatch loop itself at half the
/// interval (a stuck loop stops the pings), with a STATUS= line of queue counts. Under
/// systemd without a watchdog, only the STATUS= line, every [`STATUS_EVERY`].
fn watchdog_heartbeat(store: Store) -> Arc<dyn Fn() + Send + Sync> {
    let watchdog = sd_notify::watchdog_enabled();
    if watchdog.is_none() && std::env::var_os("NOTIFY_SOCKET").is_none() {
        return Arc::new(|| {});
    }
    let every = watchdog.map_or(STATUS_EVERY, |interval| interval / 2);
    // `None` until the first ping, which goes out on the first call.
    let last: Mutex<Option<Instant>> = Mutex::new(None);
    Arc::new(move || {
        let mut last = last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < every) {
            return;
        }
        *last = Some(Instant::now());
        if watchdog.is_some() {
            let _ = sd_notify::notify(&[NotifyState::Watchdog]);
        }
        let store = store.clone();
        tokio::spawn(async move {
            if let Ok(counts) = store.send_states().await {
                let _ = sd_notify::notify(&[NotifyState::Status(&status_line(&counts))]);
            }
        });
    })
}

/// The STATUS= text, e.g. `12 scheduled, 340 sent, 1 failed`: counts in the order a send
/// moves through its states, leaving out states that have none, except `scheduled` (the
/// queue's length, so the line is never empty).
fn status_line(counts: &BTreeMap<String, i64>) -> String {
    // The states are CHECK-constrained to these words, so no count is left out.
    SendState::ALL
        .iter()
        .map(|state| {
            (
                state.as_str(),
                counts.get(state.as_str()).copied().unwrap_or(0),
            )
        })
        .filter(|&(state, n)| n != 0 || state == "scheduled")
        .map(|(state, n)| format!("{n} {state}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Periodic WAL checkpoints, so a reader left open cannot grow the WAL without bound.
async fn housekeeping(store: Store, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = store.checkpoint().await {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dry_run_without_config_never_reads_the_system_config() {
        let dir = tempfile::tempdir().unwrap();
        let system = dir.path().join("config.toml");
        std::fs::write(
            &system,
            "spool = \"/srv/production-spool\"\ndatabase = \"/srv/production.db\"\n\n[channels.whatsapp]\nid = \"c\"\n",
        )
        .unwrap();
        let live = RunOptions::default();
        let cfg = load_config_with_default(&live, &system).unwrap();
        assert_eq!(cfg.spool, Path::new("/srv/production-spool"));
        let dry = RunOptions {
            dry_run: true,
            ..RunOptions::default()
        };
        let cfg = load_config_with_default(&dry, &system).unwrap();
        assert_eq!(cfg.spool, Config::builtin().spool);
        assert_ne!(cfg.database, Path::new("/srv/production.db"));
    }

    #[test]
    fn the_status_line_lists_states_in_lifecycle_order_without_empty_ones() {
        let counts = |pairs: &[(&str, i64)]| -> BTreeMap<String, i64> {
            pairs.iter().map(|(s, n)| ((*s).to_owned(), *n)).collect()
        };
        let all = counts(&[
            ("canceled", 0),
            ("expired", 0),
            ("failed", 1),
            ("scheduled", 12),
            ("sending", 0),
            ("sent", 340),
        ]);
        assert_eq!(status_line(&all), "12 scheduled, 340 sent, 1 failed");
        assert_eq!(status_line(&counts(&[("sent", 0)])), "0 scheduled");
        let busy = counts(&[("sending", 3), ("canceled", 2), ("scheduled", 0)]);
        assert_eq!(status_line(&busy), "0 scheduled, 3 sending, 2 canceled");
    }
}
