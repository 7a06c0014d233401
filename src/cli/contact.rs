//! `msgspool contact`: asks Bird whether a contact's WhatsApp service window is open (Bird's
//! "get channel details for a contact"), so an operator knows whether a free-form message
//! can reach them now or only a template can.
//!
//! Reads the config as `run` does (`--config`, else `/etc/msgspool/config.toml` when it
//! exists, else the built-in defaults) and finds the access key the same way
//! (`MSGSPOOL_ACCESS_KEY`, `[bird] access_key_file`, the systemd credential). Trusts Bird's
//! answer as given and judges it against this machine's clock. The key is never printed:
//! only [`BirdClient`] holds it, for the `Authorization` header, and no message here is
//! built from it.
//!
//! Exit 0 when Bird answered about the contact (window open or closed), 78 for a bad config,
//! 1 for anything else: unknown contact (404), refused key (401/403), network or Bird errors.

use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Args;

use super::exit::{Exit, Threads, block_on};
use crate::bird::{BirdClient, BirdError, ContactChannelInfo, SendResult};
use crate::config::Lookup;
use crate::config::{self, Channel, Config};
use crate::timefmt::{parse_utc_text, utc_text};

#[derive(Debug, Args)]
pub struct ContactArgs {
    /// Bird's id of the contact (a UUID).
    pub contact_id: String,
    /// The contact's identifier on the channel, e.g. the phone number +31612345678
    /// (sent as Bird's `contactIdentifierValue`).
    #[arg(long, value_name = "VALUE")]
    pub identifier: Option<String>,
    /// The channel's name in the config; optional when the config has exactly one.
    #[arg(long, value_name = "NAME")]
    pub channel: Option<String>,
    /// Daemon config; default /etc/msgspool/config.toml when it exists, else built-in defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub fn run(args: &ContactArgs) -> Exit {
    match ask(args) {
        Ok(lines) => {
            let mut stdout = std::io::stdout().lock();
            for line in lines {
                if writeln!(stdout, "{line}").is_err() {
                    break; // closed pipe: the reader has what it wanted
                }
            }
            Exit::Done
        }
        Err(e) => e,
    }
}

/// Refused, named as this subcommand.
fn refused(message: impl std::fmt::Display) -> Exit {
    Exit::Refused(format!("msgspool contact: {message}"))
}

/// Loads the config and key, asks Bird, and returns the lines to print or the error.
fn ask(args: &ContactArgs) -> Result<Vec<String>, Exit> {
    check_contact_id(&args.contact_id).map_err(refused)?;
    let cfg = Lookup::file(args.config.as_ref())
        .load()
        .map_err(|e| Exit::Config(format!("msgspool contact: {e}")))?;
    let channel = cfg
        .channel(args.channel.as_deref())
        .map_err(|e| refused(format_args!("{e}; choose one with --channel NAME")))?;
    let env = |name: &str| std::env::var(name).ok();
    let key = config::load_access_key(&cfg, &env)
        .map_err(refused)?
        .ok_or_else(|| {
            refused(format_args!(
                "no Bird access key: set {}, or [bird] access_key_file in the config, or the systemd credential `{}`",
                config::ACCESS_KEY_ENV,
                config::CREDENTIAL_NAME
            ))
        })?;
    let workspace = cfg
        .bird
        .workspace_id
        .as_deref()
        .ok_or_else(|| refused("[bird] workspace_id is not set in the config; set it"))?;
    let client = BirdClient::new(&cfg.bird, workspace, key).map_err(refused)?;
    let answer = block_on(
        Threads::One,
        client.contact_info(&channel.id, &args.contact_id, args.identifier.as_deref()),
    )?;
    match answer {
        Ok(info) => describe(&info, &args.contact_id, channel, Utc::now()).map_err(refused),
        Err(failure) => Err(refused(explain(&failure, &args.contact_id, channel, &cfg))),
    }
}

/// The contact id goes into the URL path, so it may not carry characters that change the
/// URL's meaning.
fn check_contact_id(id: &str) -> Result<(), String> {
    let bad = id
        .chars()
        .find(|c| matches!(c, '/' | '?' | '#' | '%' | '\\') || c.is_whitespace() || c.is_control());
    match bad {
        _ if id.is_empty() => Err("CONTACT_ID is empty; give Bird's id of the contact".to_owned()),
        Some(c) => Err(format!(
            "CONTACT_ID {id:?} contains {c:?}; give Bird's id of the contact (a UUID), and the phone number with --identifier"
        )),
        None => Ok(()),
    }
}

/// What Bird's answer means at `now`, as lines for an operator.
fn describe(
    info: &ContactChannelInfo,
    contact: &str,
    channel: &Channel,
    now: DateTime<Utc>,
) -> Result<Vec<String>, String> {
    let expires = match info.service_window_expire_at.as_deref() {
        None => None,
        Some(text) => Some(parse_utc_text(text).ok_or_else(|| {
            format!("Bird answered serviceWindowExpireAt = {text:?}, which is not an RFC 3339 time")
        })?),
    };
    let permanent = info.is_permanent_session == Some(true);
    let (window, meaning) = match expires {
        _ if permanent => (
            "open: permanent session".to_owned(),
            "Any message can be sent to this contact.",
        ),
        Some(t) if t > now => (
            format!("open until {} ({} from now)", utc_text(t), span(t - now)),
            "Any message can be sent until then; after that only templates.",
        ),
        Some(t) => (
            format!("closed since {} ({} ago)", utc_text(t), span(now - t)),
            "Only template messages reach this contact until they write in again.",
        ),
        None => (
            "closed: Bird reports no service window".to_owned(),
            "Only template messages reach this contact until they write in.",
        ),
    };
    let permanent = match info.is_permanent_session {
        Some(true) => "yes",
        Some(false) => "no",
        None => "not reported",
    };
    Ok(vec![
        format!("contact:           {contact}"),
        format!("channel:           {} ({})", channel.name, channel.id),
        format!("service window:    {window}"),
        format!("permanent session: {permanent}"),
        meaning.to_owned(),
    ])
}

/// An error message for a failed request: what Bird said and what to do.
fn explain(failure: &SendResult, contact: &str, channel: &Channel, cfg: &Config) -> String {
    let workspace = cfg.bird.workspace_id.as_deref().unwrap_or("?");
    match failure {
        SendResult::Rejected {
            http_status: 404,
            error,
        } => format!(
            "Bird knows no contact {contact} on channel {} (HTTP 404: {}); check the contact id, and the channel id {} in the config",
            channel.name,
            said(error),
            channel.id
        ),
        SendResult::Unauthorized {
            http_status: 403,
            error,
        } => format!(
            "Bird refused the access key for channel {} of workspace {workspace} (HTTP 403: {}); give the key access to that channel, or use a key that has it",
            channel.name,
            said(error)
        ),
        SendResult::Unauthorized { http_status, error } => format!(
            "Bird refused the access key (HTTP {http_status}: {}); msgspool reads it from {}, else [bird] access_key_file, else the systemd credential `{}`: check that it is a valid key of workspace {workspace}",
            said(error),
            config::ACCESS_KEY_ENV,
            config::CREDENTIAL_NAME
        ),
        SendResult::Rejected { http_status, error } => format!(
            "Bird refused the request (HTTP {http_status}: {})",
            said(error)
        ),
        SendResult::Throttled { retry_after } => match retry_after {
            Some(wait) => format!(
                "Bird is throttling this workspace (HTTP 429); try again in {} s",
                wait.wait_from(chrono::Utc::now()).as_secs()
            ),
            None => "Bird is throttling this workspace (HTTP 429); try again shortly".to_owned(),
        },
        SendResult::ServerError {
            http_status,
            detail,
        } => format!("Bird could not answer (HTTP {http_status}: {detail}); try again later"),
        SendResult::Transport { detail } => {
            format!("cannot reach Bird at {}: {detail}", cfg.bird.base_url)
        }
        SendResult::Redirected {
            http_status,
            location,
        } => format!(
            "Bird's address answered a redirect (HTTP {http_status} to {}); check [bird] base_url ({})",
            location.as_deref().unwrap_or("no Location"),
            cfg.bird.base_url
        ),
        SendResult::Accepted { .. } | SendResult::Unconfirmed { .. } => {
            "Bird answered an unexpected success without the contact's details".to_owned()
        }
    }
}

/// Bird's `code: message`, or whichever of the two it gave.
fn said(error: &BirdError) -> String {
    match (error.code.is_empty(), error.message.is_empty()) {
        (false, false) => format!("{}: {}", error.code, error.message),
        (false, true) => error.code.clone(),
        (true, false) => error.message.clone(),
        (true, true) => "no details".to_owned(),
    }
}

/// A span of time as people say it: `2d 3h`, `1h 59m`, `4m 10s`, `12s`.
fn span(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    let (days, hours, minutes, seconds) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m {seconds}s")
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests;
