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
use crate::config::{self, BirdConfig, Config};
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

/// The settings that differ, by name, for the log. Both configs are taken apart field by
/// field, so a setting added to the config does not compile until it is named here.
fn changes(old: &Config, new: &Config) -> Vec<&'static str> {
    let Config {
        spool: _,    // kept until a restart (see `reload`)
        database: _, // kept until a restart
        timezone,
        rescan_interval,
        shutdown_grace,
        settle,
        bird,
        channels,
        schedule,
        quiet_hours,
        retry,
        delivery,
        webhooks,
    } = new;
    let BirdConfig {
        base_url,
        workspace_id,
        access_key_file,
        rate_limit,
        max_in_flight,
        request_timeout,
        claim_ahead,
        reconcile,
        get_rate_limit,
    } = bird;
    let was = &old.bird;
    [
        (was.rate_limit != *rate_limit, "bird.rate_limit"),
        (was.max_in_flight != *max_in_flight, "bird.max_in_flight"),
        (was.base_url != *base_url, "bird.base_url"),
        (was.workspace_id != *workspace_id, "bird.workspace_id"),
        (
            was.access_key_file != *access_key_file,
            "bird.access_key_file",
        ),
        (
            was.request_timeout != *request_timeout,
            "bird.request_timeout",
        ),
        (was.claim_ahead != *claim_ahead, "bird.claim_ahead"),
        (was.reconcile != *reconcile, "bird.reconcile"),
        (was.get_rate_limit != *get_rate_limit, "bird.get_rate_limit"),
        (old.channels != *channels, "channels"),
        (old.quiet_hours != *quiet_hours, "quiet_hours"),
        (old.timezone != *timezone, "timezone"),
        (old.retry != *retry, "retry"),
        (old.schedule != *schedule, "schedule"),
        (old.delivery != *delivery, "delivery"),
        // The listener is bound once at start.
        (old.webhooks != *webhooks, "webhooks (at the next restart)"),
        (old.settle != *settle, "settle"),
        (old.rescan_interval != *rescan_interval, "rescan_interval"),
        (old.shutdown_grace != *shutdown_grace, "shutdown_grace"),
    ]
    .into_iter()
    .filter_map(|(differs, name)| differs.then_some(name))
    .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_reload_log_names_every_setting_that_changed() {
        let old = Config::builtin();
        let mut new = old.clone();
        new.bird.claim_ahead = Duration::from_millis(10);
        new.bird.reconcile = !old.bird.reconcile;
        new.delivery.poll_start = Duration::from_secs(1);
        new.settle = Duration::from_secs(9);
        assert_eq!(
            changes(&old, &new),
            ["bird.claim_ahead", "bird.reconcile", "delivery", "settle"]
        );
        assert!(changes(&old, &old).is_empty());
    }
}
