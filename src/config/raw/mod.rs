//! Stage one and two of reading the config: TOML into raw serde structs that mirror the file
//! (every key optional where a default exists, unknown keys refused, spans kept), then every
//! rule checked while converting into [`Config`].
//!
//! Trusts `toml` and `serde` for syntax and types; everything else is checked in [`check`],
//! and each refusal points at the offending value.

mod check;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;

use super::Config;
use super::error::{self, ConfigError};
use crate::duration::ConfigDuration;
use check::Checker;

pub(super) const DEFAULT_SPOOL: &str = "/var/spool/msgspool";
pub(super) const DEFAULT_DATABASE: &str = "/var/lib/msgspool/msgspool.db";
pub(super) const DEFAULT_RESCAN_INTERVAL: Duration = Duration::from_secs(30);
pub(super) const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(20);
pub(super) const DEFAULT_SETTLE: Duration = Duration::from_secs(1);
/// The longest wait-type setting (grace, settle, rescan): a day is already absurd.
const MAX_SHORT: Duration = Duration::from_secs(86_400);
/// The longest span-type setting (windows, retry delays): ten years keeps every instant
/// computed from it storable.
const MAX_LONG: Duration = Duration::from_secs(3650 * 86_400);

type Dur = Option<Spanned<ConfigDuration>>;
/// A duration key as written, for the config's other files.
pub(super) type RawDuration = Dur;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    spool: Option<Spanned<PathBuf>>,
    database: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    rescan_interval: Dur,
    shutdown_grace: Dur,
    settle: Dur,
    #[serde(default)]
    bird: RawBird,
    channels: Option<Spanned<BTreeMap<String, RawChannel>>>,
    #[serde(default)]
    schedule: RawSchedule,
    quiet_hours: Option<Spanned<RawQuietHours>>,
    #[serde(default)]
    retry: RawRetry,
    #[serde(default)]
    delivery: super::webhooks::RawDelivery,
    #[serde(default)]
    webhooks: super::webhooks::RawWebhooks,
    #[serde(default)]
    postgres: super::database::RawPostgres,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBird {
    base_url: Option<Spanned<String>>,
    workspace_id: Option<Spanned<String>>,
    access_key_file: Option<Spanned<PathBuf>>,
    rate_limit: Option<u32>,
    max_in_flight: Option<Spanned<usize>>,
    request_timeout: Dur,
    claim_ahead: Dur,
    reconcile: Option<bool>,
    get_rate_limit: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannel {
    id: Spanned<String>,
    kind: Option<Spanned<String>>,
    quiet_hours: Option<Spanned<RawChannelQuietHours>>,
}

/// `quiet_hours = false | true | { start, end }` in a channel; `true` is refused later.
enum RawChannelQuietHours {
    Flag(bool),
    Own(RawQuietHours),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuietHours {
    start: Spanned<String>,
    end: Spanned<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    immediate_window: Dur,
    max_ahead: Dur,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    max_attempts: Option<Spanned<u32>>,
    initial: Dur,
    max: Dur,
}

impl<'de> Deserialize<'de> for RawChannelQuietHours {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FlagOrTable;

        impl<'de> Visitor<'de> for FlagOrTable {
            type Value = RawChannelQuietHours;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("false, or a table with `start` and `end`")
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(RawChannelQuietHours::Flag(v))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                RawQuietHours::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawChannelQuietHours::Own)
            }
        }

        deserializer.deserialize_any(FlagOrTable)
    }
}

/// Parses and validates config text.
pub(super) fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| error::from_toml(&e, text, path))?;
    Checker { text, path }.config(raw)
}

/// The duration given, or the default.
fn dur_or(raw: Dur, default: Duration) -> Duration {
    raw.map_or(default, |d| d.into_inner().0)
}

/// A table key as it would be written in TOML: bare when it can be, quoted otherwise.
fn toml_key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        name.to_owned()
    } else {
        format!("{name:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_that_are_not_bare_keys_are_quoted_in_messages() {
        assert_eq!(toml_key("whatsapp-nl_2"), "whatsapp-nl_2");
        assert_eq!(toml_key("my channel"), "\"my channel\"");
    }
}
