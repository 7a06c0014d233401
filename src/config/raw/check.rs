//! Stage two of reading the config: every rule checked while converting the raw structs
//! into [`Config`], each refusal pointing at the offending value (file, line, column, key)
//! and saying what to do. Trusts the raw structs only for their TOML types.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveTime;
use chrono_tz::Tz;
use toml::Spanned;

use crate::config::base_url::check_base_url;
use crate::config::error::{ConfigError, Place};
use crate::config::{
    BirdConfig, Channel, ChannelKind, ChannelQuietHours, Config, QuietHours, RetryConfig,
    ScheduleConfig,
};

// The raw structs, their defaults and bounds.
use super::*;

mod channels;
mod database;

/// Builds errors that point into the text being checked.
pub(super) struct Checker<'a> {
    pub(super) text: &'a str,
    pub(super) path: &'a Path,
}

impl Checker<'_> {
    fn invalid(&self, span: Option<Range<usize>>, key: &str, message: String) -> ConfigError {
        ConfigError::Invalid {
            at: Place::new(self.path, self.text, span),
            key: key.to_owned(),
            message,
        }
    }

    pub(super) fn config(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let timezone = match raw.timezone {
            None => Tz::UTC,
            Some(tz) => tz.get_ref().parse::<Tz>().map_err(|_| {
                let msg = format!(
                    "unknown time zone `{}`; use an IANA name such as `Europe/Amsterdam` or `UTC`",
                    tz.get_ref()
                );
                self.invalid(Some(tz.span()), "timezone", msg)
            })?,
        };
        let quiet_hours = match &raw.quiet_hours {
            None => None,
            Some(q) => Some(self.quiet_hours(q.get_ref(), q.span(), "quiet_hours")?),
        };
        let schedule = self.schedule(raw.schedule)?;
        let retry = self.retry(raw.retry)?;
        let request_timeout_span = raw.bird.request_timeout.as_ref().map(Spanned::span);
        let bird = self.bird(raw.bird)?;
        let database = self.database(
            raw.database,
            raw.postgres,
            bird.request_timeout,
            request_timeout_span,
        )?;
        Ok(Config {
            spool: self.path_or(raw.spool, "spool", DEFAULT_SPOOL)?,
            database,
            timezone,
            rescan_interval: self.positive_or(
                raw.rescan_interval,
                "rescan_interval",
                DEFAULT_RESCAN_INTERVAL,
            )?,
            shutdown_grace: self.at_most(
                raw.shutdown_grace,
                "shutdown_grace",
                DEFAULT_SHUTDOWN_GRACE,
                MAX_SHORT,
            )?,
            settle: self.at_most(raw.settle, "settle", DEFAULT_SETTLE, MAX_SHORT)?,
            bird,
            channels: self.channels(raw.channels)?,
            schedule,
            quiet_hours,
            retry,
            delivery: crate::config::DeliveryConfig {
                poll: raw.delivery.poll.unwrap_or(true),
                poll_start: self.positive_or(
                    raw.delivery.poll_start,
                    "delivery.poll_start",
                    crate::config::DeliveryConfig::default().poll_start,
                )?,
            },
            webhooks: self.webhooks(raw.webhooks)?,
        })
    }

    /// `[webhooks]`: off without `listen`; with it, `public_url` must be an http(s) URL.
    fn webhooks(
        &self,
        raw: crate::config::webhooks::RawWebhooks,
    ) -> Result<Option<crate::config::WebhooksConfig>, ConfigError> {
        let Some(listen) = raw.listen else {
            return Ok(None);
        };
        let addr = listen.get_ref().parse().map_err(|_| {
            let msg = "not an address and port; e.g. \"127.0.0.1:8787\"".to_owned();
            self.invalid(Some(listen.span()), "webhooks.listen", msg)
        })?;
        let Some(public_url) = raw.public_url else {
            let msg =
                "needs [webhooks] public_url: the URL Bird posts to, which its signature covers"
                    .to_owned();
            return Err(self.invalid(Some(listen.span()), "webhooks.listen", msg));
        };
        let url = public_url.get_ref();
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.contains(char::is_whitespace)
        {
            let msg =
                "must be the http(s) URL Bird posts to, e.g. \"https://hooks.example.com/bird\""
                    .to_owned();
            return Err(self.invalid(Some(public_url.span()), "webhooks.public_url", msg));
        }
        Ok(Some(crate::config::WebhooksConfig {
            listen: addr,
            public_url: public_url.get_ref().clone(),
            signing_key_file: raw.signing_key_file.map(Spanned::into_inner),
        }))
    }

    fn path_or(
        &self,
        raw: Option<Spanned<PathBuf>>,
        key: &str,
        default: &str,
    ) -> Result<PathBuf, ConfigError> {
        match raw {
            None => Ok(PathBuf::from(default)),
            Some(p) if p.get_ref().as_os_str().is_empty() => {
                let msg =
                    format!("the path is empty; give a path or remove the key for `{default}`");
                Err(self.invalid(Some(p.span()), key, msg))
            }
            Some(p) => Ok(p.into_inner()),
        }
    }

    fn positive_or(&self, raw: Dur, key: &str, default: Duration) -> Result<Duration, ConfigError> {
        match raw {
            Some(d) if d.get_ref().0.is_zero() => {
                let msg = "must be longer than 0s; e.g. 30s".to_owned();
                Err(self.invalid(Some(d.span()), key, msg))
            }
            raw => self.at_most(raw, key, default, MAX_LONG),
        }
    }

    /// The duration at `key`, refused when longer than `max` (so no instant or timer
    /// computed from it can overflow).
    fn at_most(
        &self,
        raw: Dur,
        key: &str,
        default: Duration,
        max: Duration,
    ) -> Result<Duration, ConfigError> {
        match raw {
            Some(d) if d.get_ref().0 > max => {
                let msg = format!(
                    "is longer than {}, the most msgspool accepts here; give a shorter duration",
                    crate::duration::format_duration(max)
                );
                Err(self.invalid(Some(d.span()), key, msg))
            }
            raw => Ok(dur_or(raw, default)),
        }
    }

    fn bird(&self, raw: RawBird) -> Result<BirdConfig, ConfigError> {
        let d = BirdConfig::default();
        let base_url = match raw.base_url {
            None => d.base_url,
            Some(url) => check_base_url(url.get_ref())
                .map_err(|msg| self.invalid(Some(url.span()), "bird.base_url", msg))?,
        };
        let workspace_id = match raw.workspace_id {
            Some(w) if w.get_ref().trim().is_empty() => {
                let msg =
                    "is empty; set it to your Bird workspace id (remove it only for a dry run)";
                return Err(self.invalid(Some(w.span()), "bird.workspace_id", msg.to_owned()));
            }
            w => w.map(Spanned::into_inner),
        };
        let max_in_flight = match raw.max_in_flight {
            None => d.max_in_flight,
            Some(m) if *m.get_ref() == 0 => {
                let msg = "must be at least 1; it bounds the requests in flight (default 256)";
                return Err(self.invalid(Some(m.span()), "bird.max_in_flight", msg.to_owned()));
            }
            Some(m) => m.into_inner(),
        };
        Ok(BirdConfig {
            base_url,
            workspace_id,
            access_key_file: raw.access_key_file.map(Spanned::into_inner),
            rate_limit: raw.rate_limit.unwrap_or(d.rate_limit),
            max_in_flight,
            request_timeout: self.positive_or(
                raw.request_timeout,
                "bird.request_timeout",
                d.request_timeout,
            )?,
            claim_ahead: self.at_most(
                raw.claim_ahead,
                "bird.claim_ahead",
                d.claim_ahead,
                crate::config::MAX_CLAIM_AHEAD,
            )?,
            reconcile: raw.reconcile.unwrap_or(d.reconcile),
            get_rate_limit: raw.get_rate_limit.unwrap_or(d.get_rate_limit),
        })
    }

    fn schedule(&self, raw: RawSchedule) -> Result<ScheduleConfig, ConfigError> {
        let d = ScheduleConfig::default();
        let immediate_window = self.at_most(
            raw.immediate_window,
            "schedule.immediate_window",
            d.immediate_window,
            MAX_LONG,
        )?;
        let max_ahead_span = raw.max_ahead.as_ref().map(Spanned::span);
        let max_ahead = self.at_most(raw.max_ahead, "schedule.max_ahead", d.max_ahead, MAX_LONG)?;
        if max_ahead < immediate_window {
            let msg =
                "is shorter than schedule.immediate_window; make it at least as long".to_owned();
            return Err(self.invalid(max_ahead_span, "schedule.max_ahead", msg));
        }
        Ok(ScheduleConfig {
            immediate_window,
            max_ahead,
        })
    }

    fn retry(&self, raw: RawRetry) -> Result<RetryConfig, ConfigError> {
        let d = RetryConfig::default();
        let max_attempts = match raw.max_attempts {
            None => d.max_attempts,
            Some(m) if *m.get_ref() == 0 => {
                let msg = "must be at least 1 (1 means no retries)".to_owned();
                return Err(self.invalid(Some(m.span()), "retry.max_attempts", msg));
            }
            Some(m) => m.into_inner(),
        };
        let initial = self.positive_or(raw.initial, "retry.initial", d.initial)?;
        let max_span = raw.max.as_ref().map(Spanned::span);
        let max = self.at_most(raw.max, "retry.max", d.max, MAX_LONG)?;
        if initial > max {
            let msg = "is shorter than retry.initial; make it at least as long".to_owned();
            return Err(self.invalid(max_span, "retry.max", msg));
        }
        Ok(RetryConfig {
            max_attempts,
            initial,
            max,
        })
    }
}
