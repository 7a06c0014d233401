//! Config errors, worded like a compiler's: `PATH:LINE:COL: error: KEY: what is wrong; what
//! to do`, or `PATH: error: ...` when no position is known.
//!
//! Owns the translation of TOML byte offsets into 1-based line and column (columns count
//! characters, not bytes) and of `toml`/`serde` messages into that form. Guarantees that no
//! message carries the access key's content: access-key errors name only where the key was
//! looked for.

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Why the config (or the access key it points to) cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error(
        "{}: error: cannot read the config file: {error}; check the path and that msgspool may read it",
        .path.display()
    )]
    Read { path: PathBuf, error: io::Error },
    /// The text is not TOML of the expected shape: syntax, unknown or missing key, wrong type,
    /// or a value that does not parse (duration, ...).
    #[error("{at}: error: {}{message}", key_prefix(.key))]
    Syntax {
        at: Place,
        key: Option<String>,
        message: String,
    },
    /// A value has the right shape but breaks a rule.
    #[error("{at}: error: {key}: {message}")]
    Invalid {
        at: Place,
        key: String,
        message: String,
    },
    /// An access-key file exists in the config or as a systemd credential but cannot be read.
    #[error(
        "{}: error: {what}: cannot read the Bird access key: {error}; check that the file exists and msgspool may read it",
        .path.display()
    )]
    AccessKeyUnreadable {
        path: PathBuf,
        what: &'static str,
        error: io::Error,
    },
    /// An access-key source holds no usable key. `origin` is a path or an environment variable.
    #[error("{origin}: error: the Bird access key {reason}")]
    AccessKeyInvalid {
        origin: String,
        reason: &'static str,
    },
    /// `[webhooks] listen` is set but no signing key source exists.
    #[error(
        "error: [webhooks] listen is set but there is no signing key: set [webhooks] signing_key_file, or the systemd credential `webhook-signing-key` (LoadCredential=)"
    )]
    NoSigningKey,
    /// The webhook signing key's file cannot be read.
    #[error(
        "{}: error: cannot read the webhook signing key: {error}; check that the file exists and msgspool may read it",
        .path.display()
    )]
    SigningKeyUnreadable { path: PathBuf, error: io::Error },
    /// The PostgreSQL password's file (or credential) cannot be read.
    #[error(
        "{}: error: cannot read the PostgreSQL password: {error}; check that the file exists and msgspool may read it",
        .path.display()
    )]
    PgPasswordUnreadable { path: PathBuf, error: io::Error },
    /// The PostgreSQL password's file holds no usable password.
    #[error("{}: error: the PostgreSQL password file {reason}", .path.display())]
    PgPasswordInvalid { path: PathBuf, reason: &'static str },
    /// The webhook signing key's file holds no usable key.
    #[error("{}: error: the webhook signing key {reason}", .path.display())]
    SigningKeyInvalid { path: PathBuf, reason: &'static str },
}

fn key_prefix(key: &Option<String>) -> String {
    key.as_ref().map(|k| format!("{k}: ")).unwrap_or_default()
}

/// A file and, when known, a 1-based line and column in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub path: PathBuf,
    pub line_col: Option<(usize, usize)>,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line_col {
            Some((line, col)) => write!(f, "{}:{line}:{col}", self.path.display()),
            None => write!(f, "{}", self.path.display()),
        }
    }
}

impl Place {
    /// The place of byte offset `span.start` in `text`, or just the file without a span.
    pub(super) fn new(path: &Path, text: &str, span: Option<Range<usize>>) -> Place {
        Place {
            path: path.to_owned(),
            line_col: span.map(|s| line_col(text, s.start)),
        }
    }
}

/// 1-based line and column (in characters) of byte offset `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    // Count characters by skipping UTF-8 continuation bytes.
    let col = before[line_start..]
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count()
        + 1;
    (line, col)
}

/// Turns a `toml` error into a [`ConfigError::Syntax`] naming the key it happened under.
pub(super) fn from_toml(err: &toml::de::Error, text: &str, path: &Path) -> ConfigError {
    ConfigError::Syntax {
        at: Place::new(path, text, err.span()),
        key: toml_key_path(err),
        message: reword(err.message()),
    }
}

/// The dotted key path `toml` records for an error. It has no accessor; its `Display`,
/// without the input attached, is the message followed by ``in `a.b` `` when there is one.
fn toml_key_path(err: &toml::de::Error) -> Option<String> {
    let mut bare = err.clone();
    bare.set_input(None);
    let shown = bare.to_string();
    let rest = shown.strip_prefix(err.message())?.trim();
    let keys = rest.strip_prefix("in `")?.strip_suffix('`')?;
    (!keys.is_empty()).then(|| keys.to_owned())
}

/// Speaks of keys rather than serde's fields, says what to do, and keeps one line.
fn reword(message: &str) -> String {
    let one_line = message.trim().replace('\n', "; ");
    if let Some(rest) = one_line.strip_prefix("unknown field ") {
        // "`x`, expected one of `a`, `b`" or "`x`, there are no fields"
        return match rest.split_once(", expected ") {
            Some((key, expected)) => format!("unknown key {key}; expected {expected}"),
            None => format!(
                "unknown key {}; remove it",
                rest.split(',').next().unwrap_or(rest)
            ),
        };
    }
    if let Some(key) = one_line.strip_prefix("missing field ") {
        return format!("missing key {key}; add it");
    }
    // Integer types are serde's names for them; say what to write instead.
    one_line
        .replace(", expected u32", "; write a whole number, 0 or more")
        .replace(", expected usize", "; write a whole number, 0 or more")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        // The offset of `=` on line 2: `b`, `é` (2 bytes), ` `.
        assert_eq!(line_col(text, 10), (2, 4));
        assert_eq!(line_col(text, 1000), (3, 1));
    }

    #[test]
    fn a_place_without_a_position_is_just_the_path() {
        let place = Place::new(Path::new("/etc/m.toml"), "", None);
        assert_eq!(place.to_string(), "/etc/m.toml");
    }

    #[test]
    fn serde_field_messages_are_reworded_as_keys_with_a_hint() {
        assert_eq!(
            reword("unknown field `spol`, expected one of `spool`, `database`"),
            "unknown key `spol`; expected one of `spool`, `database`"
        );
        assert_eq!(reword("missing field `id`"), "missing key `id`; add it");
        assert_eq!(
            reword("invalid string\nexpected `\"`"),
            "invalid string; expected `\"`"
        );
    }
}
