//! The daemon's config (`/etc/msgspool/config.toml`, DESIGN.md §7).
//!
//! Owns the validated [`Config`] and how it is read: TOML is first deserialized into private
//! raw structs (`raw`), then checked and converted into the plain types below, so nothing
//! downstream re-checks a value. Trusts nothing in the file: unknown keys are refused (typos
//! must not pass silently) and every error names the file, line, column and key, says what is
//! wrong and what to do (`error`). Guarantees that a [`Config`] built by [`Config::parse`]
//! has at least one channel, a `base_url` that is https (or http to a loopback host) without
//! a trailing slash, `max_in_flight >= 1`, `max_attempts >= 1`, `retry.initial <= retry.max`
//! and quiet hours whose start differs from their end. The Bird access key is not part of
//! the config; [`load_access_key`] finds it and [`AccessKey`] keeps it out of every log.

mod access_key;
mod base_url;
mod channel;
mod database;
mod error;
mod lookup;
mod raw;
#[cfg(test)]
mod tests;
mod webhooks;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveTime;
use chrono_tz::Tz;

pub use access_key::{ACCESS_KEY_ENV, AccessKey, CREDENTIAL_NAME, load_access_key};
pub use channel::{Channel, ChannelKind, ChannelLookupError, ChannelQuietHours};
pub(crate) use database::hostname;
pub use database::{DatabaseTarget, PG_PASSWORD_CREDENTIAL, PgDatabase};
pub use error::{ConfigError, Place};
pub use lookup::Lookup;
pub use webhooks::{
    DeliveryConfig, SIGNING_KEY_CREDENTIAL, SigningKey, WebhooksConfig, load_signing_key,
};

/// Where the daemon looks for its config when none is given.
pub const DEFAULT_PATH: &str = "/etc/msgspool/config.toml";

/// The validated daemon config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub spool: PathBuf,
    /// An SQLite file, or a PostgreSQL database (`database = "postgres://..."` or
    /// `[postgres] url`).
    pub database: DatabaseTarget,
    /// For quiet hours and for cron jobs without their own zone.
    pub timezone: Tz,
    pub rescan_interval: Duration,
    pub shutdown_grace: Duration,
    /// How long a file found by a rescan must stay unchanged before it is taken in.
    pub settle: Duration,
    pub bird: BirdConfig,
    /// Keyed by the channel's name (its table key); never empty after parsing.
    pub channels: BTreeMap<String, Channel>,
    pub schedule: ScheduleConfig,
    /// The default for every channel; `None` when the config has no `[quiet_hours]`.
    pub quiet_hours: Option<QuietHours>,
    pub retry: RetryConfig,
    pub delivery: DeliveryConfig,
    /// The webhook listener; `None` unless `[webhooks] listen` is set.
    pub webhooks: Option<WebhooksConfig>,
}

/// How to reach Bird's Channels API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BirdConfig {
    /// https (or http to a loopback host), without a trailing slash.
    pub base_url: String,
    /// Required to send; `None` is fine for a dry run (the daemon checks).
    pub workspace_id: Option<String>,
    pub access_key_file: Option<PathBuf>,
    /// POST requests per second per workspace; 0 turns the limit off.
    pub rate_limit: u32,
    /// The most requests in flight at once (at least 1): the cap of the adaptive window.
    pub max_in_flight: usize,
    pub request_timeout: Duration,
    /// How long before its due instant a send is claimed (committed `sending`), so that the
    /// commit is done when the instant comes; at most [`MAX_CLAIM_AHEAD`].
    pub claim_ahead: Duration,
    /// Look a send up at Bird before posting it again after an unknown outcome.
    pub reconcile: bool,
    /// GET requests per second per workspace (listing and look-ups); 0: unlimited.
    pub get_rate_limit: u32,
}

/// The longest `[bird] claim_ahead`: a claimed send waits this long, out of reach of new
/// content for its job (a cancel is still seen until just before its instant).
pub const MAX_CLAIM_AHEAD: Duration = Duration::from_secs(1);

impl Default for BirdConfig {
    fn default() -> Self {
        BirdConfig {
            base_url: "https://api.bird.com".to_owned(),
            workspace_id: None,
            access_key_file: None,
            rate_limit: 500,
            // 500 POST/s at a 400 ms round trip needs 200 in flight; a little headroom.
            max_in_flight: 256,
            request_timeout: Duration::from_secs(30),
            // Longer than the few hundred milliseconds a disk may hold one fsync: the claim's
            // commit is then done before the instant (measured: one fsync took 375 ms).
            claim_ahead: Duration::from_millis(500),
            reconcile: true,
            get_rate_limit: 50,
        }
    }
}

/// A daily window, in the config's `timezone`, during which sends are deferred to its end.
/// `start > end` wraps past midnight (`21:00`–`08:00`); `start == end` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// Bird's scheduling windows (DESIGN.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleConfig {
    /// A `scheduledFor` in the past or sooner than this is sent now.
    pub immediate_window: Duration,
    /// A `scheduledFor` later than this is rejected.
    pub max_ahead: Duration,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            immediate_window: Duration::from_secs(10 * 60),
            max_ahead: Duration::from_secs(35 * 86_400),
        }
    }
}

/// Exponential backoff for failed sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// At least 1.
    pub max_attempts: u32,
    /// Not more than `max`.
    pub initial: Duration,
    pub max: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 10,
            initial: Duration::from_secs(10),
            max: Duration::from_secs(30 * 60),
        }
    }
}

impl Config {
    /// Reads and validates the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        Config::parse(&text, path)
    }

    /// Validates config text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        raw::parse(text, path)
    }

    /// Every default and one transactional channel named `default` (Bird id `default`), no
    /// quiet hours: for `msgspool check` without `--config` and `run --dry-run` without one.
    pub fn builtin() -> Config {
        let channel = Channel {
            name: "default".to_owned(),
            id: "default".to_owned(),
            kind: ChannelKind::Transactional,
            quiet_hours: ChannelQuietHours::Inherit,
        };
        Config {
            spool: PathBuf::from(raw::DEFAULT_SPOOL),
            database: DatabaseTarget::Sqlite(PathBuf::from(raw::DEFAULT_DATABASE)),
            timezone: Tz::UTC,
            rescan_interval: raw::DEFAULT_RESCAN_INTERVAL,
            shutdown_grace: raw::DEFAULT_SHUTDOWN_GRACE,
            settle: raw::DEFAULT_SETTLE,
            bird: BirdConfig::default(),
            channels: BTreeMap::from([(channel.name.clone(), channel)]),
            schedule: ScheduleConfig::default(),
            quiet_hours: None,
            retry: RetryConfig::default(),
            delivery: DeliveryConfig::default(),
            webhooks: None,
        }
    }

    /// The channel a job names, or with `None` the config's only channel.
    pub fn channel(&self, name: Option<&str>) -> Result<&Channel, ChannelLookupError> {
        let known = || self.channels.keys().cloned().collect();
        match name {
            Some(name) => self
                .channels
                .get(name)
                .ok_or_else(|| ChannelLookupError::Unknown {
                    name: name.to_owned(),
                    known: known(),
                }),
            None => match self.channels.values().next() {
                Some(only) if self.channels.len() == 1 => Ok(only),
                _ => Err(ChannelLookupError::NotChosen { known: known() }),
            },
        }
    }

    /// The quiet hours that apply to sends on `channel`, after its own override.
    pub fn quiet_hours_for(&self, channel: &Channel) -> Option<QuietHours> {
        match channel.quiet_hours {
            ChannelQuietHours::Inherit => self.quiet_hours,
            ChannelQuietHours::Off => None,
            ChannelQuietHours::Own(own) => Some(own),
        }
    }
}

#[cfg(test)]
mod lookup_tests;
