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
mod error;
mod lookup;
mod raw;
#[cfg(test)]
mod tests;
mod webhooks;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveTime;
use chrono_tz::Tz;

pub use access_key::{ACCESS_KEY_ENV, AccessKey, CREDENTIAL_NAME, load_access_key};
pub use error::{ConfigError, Place};
pub use lookup::Lookup;
pub use webhooks::DeliveryConfig;

/// Where the daemon looks for its config when none is given.
pub const DEFAULT_PATH: &str = "/etc/msgspool/config.toml";

/// The validated daemon config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub spool: PathBuf,
    pub database: PathBuf,
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

/// The longest `[bird] claim_ahead`: a claimed send waits this long with a cancel no
/// longer seen, and a restart holds dispatch back this long.
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
            claim_ahead: Duration::from_millis(50),
            reconcile: true,
            get_rate_limit: 50,
        }
    }
}

/// One Bird channel that jobs may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub name: String,
    /// Bird's channel id.
    pub id: String,
    pub kind: ChannelKind,
    pub quiet_hours: ChannelQuietHours,
}

/// A channel's own quiet-hours setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelQuietHours {
    /// Use the config's `[quiet_hours]` (none if it has none).
    Inherit,
    /// `quiet_hours = false`: no quiet hours for this channel.
    Off,
    /// `[channels.NAME.quiet_hours]`: these instead of the config's.
    Own(QuietHours),
}

/// The kind of traffic a channel carries; it sets the default `validity` (DESIGN.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    Promotional,
    Conversational,
    Transactional,
    TwoFa,
}

impl ChannelKind {
    const ALL: [ChannelKind; 4] = [
        ChannelKind::Promotional,
        ChannelKind::Conversational,
        ChannelKind::Transactional,
        ChannelKind::TwoFa,
    ];

    /// How long Bird may keep trying to deliver when a job sets no `validity`.
    pub fn default_validity(self) -> Duration {
        match self {
            ChannelKind::TwoFa => Duration::from_secs(600),
            ChannelKind::Promotional | ChannelKind::Conversational | ChannelKind::Transactional => {
                Duration::from_secs(129_600)
            }
        }
    }

    /// The name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Promotional => "promotional",
            ChannelKind::Conversational => "conversational",
            ChannelKind::Transactional => "transactional",
            ChannelKind::TwoFa => "2fa",
        }
    }

    fn from_name(name: &str) -> Option<ChannelKind> {
        ChannelKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

/// A job named a channel the config does not have, or named none when it had to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelLookupError {
    #[error("unknown channel `{name}`; the config defines {}", known_list(.known))]
    Unknown { name: String, known: Vec<String> },
    #[error(
        "no channel given and the config defines {}; set `channel` to one of them",
        known_list(.known)
    )]
    NotChosen { known: Vec<String> },
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        return "no channels".to_owned();
    }
    let names: Vec<String> = known.iter().map(|n| format!("`{n}`")).collect();
    format!(
        "{}: {}",
        if known.len() == 1 {
            "one channel"
        } else {
            "channels"
        },
        names.join(", ")
    )
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
            database: PathBuf::from(raw::DEFAULT_DATABASE),
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
mod lookup_tests {
    //! Defaults, kinds and lookups on a built config; parsing is tested in `tests.rs`.

    use super::*;

    fn two_channels() -> Config {
        let mut cfg = Config::builtin();
        let default = cfg.channels["default"].clone();
        for (name, id) in [("nl", "ch-nl"), ("be", "ch-be")] {
            let channel = Channel {
                name: name.to_owned(),
                id: id.to_owned(),
                ..default.clone()
            };
            cfg.channels.insert(name.to_owned(), channel);
        }
        cfg.channels.remove("default");
        cfg
    }

    fn with_quiet_hours(global: Option<QuietHours>, own: ChannelQuietHours) -> (Config, Channel) {
        let mut cfg = Config::builtin();
        cfg.quiet_hours = global;
        let mut channel = cfg.channels["default"].clone();
        channel.quiet_hours = own;
        (cfg, channel)
    }

    const EVENING: QuietHours = QuietHours {
        start: NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
        end: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
    };
    const LUNCH: QuietHours = QuietHours {
        start: NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
        end: NaiveTime::from_hms_opt(13, 0, 0).unwrap(),
    };

    #[test]
    fn a_channel_that_inherits_gets_the_global_quiet_hours_or_none() {
        let (cfg, ch) = with_quiet_hours(Some(EVENING), ChannelQuietHours::Inherit);
        assert_eq!(cfg.quiet_hours_for(&ch), Some(EVENING));
        let (cfg, ch) = with_quiet_hours(None, ChannelQuietHours::Inherit);
        assert_eq!(cfg.quiet_hours_for(&ch), None);
    }

    #[test]
    fn a_channel_with_quiet_hours_off_has_none() {
        let (cfg, ch) = with_quiet_hours(Some(EVENING), ChannelQuietHours::Off);
        assert_eq!(cfg.quiet_hours_for(&ch), None);
    }

    #[test]
    fn a_channel_with_its_own_quiet_hours_uses_them() {
        let (cfg, ch) = with_quiet_hours(Some(EVENING), ChannelQuietHours::Own(LUNCH));
        assert_eq!(cfg.quiet_hours_for(&ch), Some(LUNCH));
    }

    #[test]
    fn the_builtin_config_has_the_documented_defaults() {
        let cfg = Config::builtin();
        assert_eq!(cfg.spool, Path::new("/var/spool/msgspool"));
        assert_eq!(cfg.database, Path::new("/var/lib/msgspool/msgspool.db"));
        assert_eq!(cfg.timezone, Tz::UTC);
        assert_eq!(cfg.rescan_interval, Duration::from_secs(30));
        assert_eq!(cfg.shutdown_grace, Duration::from_secs(20));
        assert_eq!(cfg.bird.base_url, "https://api.bird.com");
        assert_eq!(cfg.bird.workspace_id, None);
        assert_eq!(cfg.bird.access_key_file, None);
        assert_eq!(cfg.bird.rate_limit, 500);
        assert_eq!(cfg.bird.max_in_flight, 256);
        assert_eq!(cfg.bird.claim_ahead, Duration::from_millis(50));
        assert_eq!(cfg.bird.request_timeout, Duration::from_secs(30));
        assert_eq!(cfg.schedule.immediate_window, Duration::from_secs(600));
        assert_eq!(cfg.schedule.max_ahead, Duration::from_secs(35 * 86_400));
        assert_eq!(cfg.quiet_hours, None);
        assert_eq!(cfg.retry.max_attempts, 10);
        assert_eq!(cfg.retry.initial, Duration::from_secs(10));
        assert_eq!(cfg.retry.max, Duration::from_secs(1800));
        let only = cfg.channel(None).unwrap();
        assert_eq!(
            (only.name.as_str(), only.id.as_str()),
            ("default", "default")
        );
        assert_eq!(only.kind, ChannelKind::Transactional);
    }

    #[test]
    fn each_channel_kind_has_its_default_validity() {
        assert_eq!(
            ChannelKind::TwoFa.default_validity(),
            Duration::from_secs(600)
        );
        for kind in [
            ChannelKind::Promotional,
            ChannelKind::Conversational,
            ChannelKind::Transactional,
        ] {
            assert_eq!(
                kind.default_validity(),
                Duration::from_secs(129_600),
                "{kind}"
            );
        }
        for kind in ChannelKind::ALL {
            assert_eq!(ChannelKind::from_name(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn a_channel_is_found_by_name() {
        assert_eq!(two_channels().channel(Some("be")).unwrap().id, "ch-be");
    }

    #[test]
    fn no_channel_name_picks_the_only_channel() {
        let cfg = Config::builtin();
        assert_eq!(cfg.channel(None).unwrap().name, "default");
    }

    #[test]
    fn no_channel_name_with_two_channels_lists_them() {
        let err = two_channels().channel(None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no channel given and the config defines channels: `be`, `nl`; set `channel` to one of them"
        );
    }

    #[test]
    fn an_unknown_channel_name_lists_the_known_ones() {
        let err = two_channels().channel(Some("de")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown channel `de`; the config defines channels: `be`, `nl`"
        );
    }
}
