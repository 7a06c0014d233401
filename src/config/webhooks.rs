//! The `[delivery]` and `[webhooks]` tables: following each sent message's status at Bird.
//!
//! Owns [`DeliveryConfig`], [`WebhooksConfig`], their raw forms and the webhook signing key
//! ([`load_signing_key`]: `signing_key_file`, else the systemd credential
//! `webhook-signing-key`; [`SigningKey`] never prints its bytes, no error carries them). Polling is on by default; `poll_start` is the
//! first step of the look-up schedule (30 s; the later steps keep Bird's proportions:
//! 2 min, 10 min, 1 h, 6 h, 24 h at the default) so that a test can run the whole schedule
//! in seconds. Guarantees: `poll_start` is longer than zero and at most a day.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use super::raw::RawDuration;

/// How delivery statuses are followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// Look sent messages up at Bird (`GET .../messages/{id}`) until a final status.
    pub poll: bool,
    /// The first wait of the look-up schedule.
    pub poll_start: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            poll: true,
            poll_start: Duration::from_secs(30),
        }
    }
}

/// `[delivery]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDelivery {
    pub(super) poll: Option<bool>,
    pub(super) poll_start: RawDuration,
}

/// The systemd credential name (`LoadCredential=webhook-signing-key:...`) read when
/// `signing_key_file` is not set.
pub const SIGNING_KEY_CREDENTIAL: &str = "webhook-signing-key";

/// The `[webhooks]` listener, present only when `listen` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhooksConfig {
    /// Where the listener binds (put a TLS proxy in front of it).
    pub listen: SocketAddr,
    /// The URL Bird posts to, as Bird signs it (the proxy's public address).
    pub public_url: String,
    /// Where the subscription's signing key is; else the systemd credential.
    pub signing_key_file: Option<PathBuf>,
}

/// `[webhooks]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhooks {
    pub(super) listen: Option<Spanned<String>>,
    pub(super) public_url: Option<Spanned<String>>,
    pub(super) signing_key_file: Option<Spanned<PathBuf>>,
}

/// The webhook subscription's signing key. Prints as `SigningKey(<redacted>)`.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    /// Wraps a key obtained elsewhere (tests).
    pub fn new(key: impl Into<Vec<u8>>) -> SigningKey {
        SigningKey(key.into())
    }

    /// The key's bytes, for the signature check and nothing else.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// Reads the signing key from `signing_key_file`, else from
/// `$CREDENTIALS_DIRECTORY/webhook-signing-key`; surrounding whitespace is trimmed. A
/// listener without a key would accept anything, so a missing key is an error.
pub fn load_signing_key(
    cfg: &WebhooksConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SigningKey, ConfigError> {
    let path = match (&cfg.signing_key_file, env("CREDENTIALS_DIRECTORY")) {
        (Some(path), _) => path.clone(),
        (None, Some(dir)) if !dir.is_empty() => PathBuf::from(dir).join(SIGNING_KEY_CREDENTIAL),
        (None, _) => return Err(ConfigError::NoSigningKey),
    };
    let text =
        std::fs::read_to_string(&path).map_err(|error| ConfigError::SigningKeyUnreadable {
            path: path.clone(),
            error,
        })?;
    if readable_by_others(&path) {
        tracing::warn!(path = %path.display(), "the webhook signing key can be read by other users; chmod 600 it");
    }
    let key = text.trim();
    let reason = if key.is_empty() {
        "is empty; put the subscription's signing key there"
    } else if key.contains(char::is_control) {
        "contains a line break or control character; keep only the key"
    } else {
        return Ok(SigningKey(key.as_bytes().to_vec()));
    };
    Err(ConfigError::SigningKeyInvalid { path, reason })
}

fn readable_by_others(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

#[cfg(test)]
#[path = "webhooks_tests.rs"]
mod tests;
