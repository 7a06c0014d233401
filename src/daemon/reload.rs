//! SIGHUP: the config (and key) read again and applied to the running daemon.
//!
//! Trusts: [`super::load_config`] to validate. Guarantees: a bad config or key is refused
//! and the running one stays; a good one replaces it whole. Everything but the spool and
//! database paths takes effect at once (rate limit, requests in flight, quiet hours,
//! channels, retry, timeouts, the key and base URL); the log names what changed and what
//! waits for a restart. A new transport lifts a pause that a refused key or a redirect
//! imposed, and brings the sends it held back due now.

use std::sync::Arc;

use sd_notify::NotifyState;
use tokio::sync::watch;

use super::{DaemonError, RunOptions, load_config, notify};
use crate::bird::BirdClient;
use crate::config::{self, Config};
use crate::dispatch::transport::Transport;

/// The transport the config and key call for.
pub(super) fn transport_for(cfg: &Config, dry_run: bool) -> Result<Transport, DaemonError> {
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

/// Loads the config again and applies it; keeps the old one if the new one is bad.
/// Returns whether a new config (and transport) is in force.
pub(super) fn reload(
    opts: &RunOptions,
    config_tx: &watch::Sender<Arc<Config>>,
    transport_tx: &watch::Sender<Arc<Transport>>,
) -> bool {
    if let Ok(now) = NotifyState::monotonic_usec_now() {
        notify::notify_state(&[NotifyState::Reloading, now]);
    }
    let old = config_tx.borrow().clone();
    let result = load_config(opts)
        .map_err(DaemonError::from)
        .and_then(|mut new| {
            if new.spool != old.spool || new.database != old.database {
                tracing::warn!(
                    "spool and database paths change only at restart; keeping the current ones until then"
                );
            }
            new.spool = old.spool.clone();
            new.database = old.database.clone();
            let transport = transport_for(&new, opts.dry_run)?;
            Ok((new, transport))
        });
    let applied = match result {
        Ok((cfg, transport)) => {
            let changed = changes(&old, &cfg);
            config_tx.send_replace(Arc::new(cfg));
            transport_tx.send_replace(Arc::new(transport));
            tracing::info!(
                changed = %if changed.is_empty() { "nothing but the key, maybe".to_owned() } else { changed.join(", ") },
                "config reloaded and in force (the key and base_url too)"
            );
            true
        }
        Err(e) => {
            tracing::error!(error = %e, "config reload refused; the previous config stays in force");
            false
        }
    };
    notify::notify_state(&[NotifyState::Ready]);
    applied
}

/// The settings that differ, by name, for the log.
fn changes(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut check = |differs: bool, name: &'static str| {
        if differs {
            changed.push(name);
        }
    };
    check(
        old.bird.rate_limit != new.bird.rate_limit,
        "bird.rate_limit",
    );
    check(
        old.bird.max_in_flight != new.bird.max_in_flight,
        "bird.max_in_flight",
    );
    check(old.bird.base_url != new.bird.base_url, "bird.base_url");
    check(
        old.bird.workspace_id != new.bird.workspace_id,
        "bird.workspace_id",
    );
    check(
        old.bird.request_timeout != new.bird.request_timeout,
        "bird.request_timeout",
    );
    check(old.channels != new.channels, "channels");
    check(old.quiet_hours != new.quiet_hours, "quiet_hours");
    check(old.timezone != new.timezone, "timezone");
    check(old.retry != new.retry, "retry");
    check(old.schedule != new.schedule, "schedule");
    check(
        old.rescan_interval != new.rescan_interval,
        "rescan_interval",
    );
    check(old.shutdown_grace != new.shutdown_grace, "shutdown_grace");
    changed
}
