//! Which database the daemon keeps its state in: an SQLite file (the default) or a
//! PostgreSQL database shared by several daemons.
//!
//! Owns [`DatabaseTarget`], the `[postgres]` table and where the PostgreSQL password comes
//! from ([`PgDatabase::with_password`]: `[postgres] password_file`, else the systemd
//! credential `pg-password`, else the URL itself). `database = "postgres://..."` or a
//! `[postgres]` table with `url` selects PostgreSQL; anything else in `database` is an
//! SQLite path. Trusts [`PgTarget`] to parse URLs and to never show a password.
//! Guarantees: the password is never part of `Debug`/`Display` of a config or of an error
//! (a target prints `postgres://USER@HOST/DB`; password errors name the file only); the
//! lease is longer than `[bird] request_timeout` (a request's lease must not run out while
//! it is in flight).

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use super::raw::RawDuration;
use crate::store::postgres::PgTarget;

/// The systemd credential name (`LoadCredential=pg-password:...`) read when
/// `[postgres] password_file` is not set.
pub const PG_PASSWORD_CREDENTIAL: &str = "pg-password";

/// The default `[postgres] lease`.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// The default `[postgres] pool_size`.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// Where the daemon's state lives.
// One per config, built once: the size of the PostgreSQL variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// An SQLite file (one daemon).
    Sqlite(PathBuf),
    /// A PostgreSQL database (any number of daemons).
    Postgres(PgDatabase),
}

/// A PostgreSQL database and how this daemon takes part in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgDatabase {
    /// Where, and as whom (a password in the URL stays inside, never shown).
    pub target: PgTarget,
    /// A file holding the password (else the credential `pg-password`, else the URL's).
    pub password_file: Option<PathBuf>,
    /// This daemon's node name; `None`: `HOSTNAME:SPOOL` ([`PgDatabase::node_name`]).
    pub node: Option<String>,
    /// How long a claim holds a send before another daemon may take it back.
    pub lease: Duration,
    /// Connections in the pool.
    pub pool_size: usize,
}

impl PgDatabase {
    /// A database with every default (`--database postgres://...` without a `[postgres]`).
    pub fn at(target: PgTarget) -> PgDatabase {
        PgDatabase {
            target,
            password_file: None,
            node: None,
            lease: DEFAULT_LEASE,
            pool_size: DEFAULT_POOL_SIZE,
        }
    }

    /// The node name: the configured one, else `HOSTNAME:SPOOL` (unique per host and spool).
    pub fn node_name(&self, spool: &Path) -> String {
        match &self.node {
            Some(node) => node.clone(),
            None => format!("{}:{}", hostname(), spool.display()),
        }
    }

    /// The target with its password: from `password_file`, else from
    /// `$CREDENTIALS_DIRECTORY/pg-password` when that file exists, else the URL's own (or
    /// none). Errors name the file, never its content.
    pub fn with_password(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<PgTarget, ConfigError> {
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path).map_err(|error| {
                ConfigError::PgPasswordUnreadable {
                    path: path.clone(),
                    error,
                }
            })?;
            return Ok(self.target.clone().with_password(checked(&text, path)?));
        }
        if let Some(dir) = env("CREDENTIALS_DIRECTORY").filter(|d| !d.is_empty()) {
            let path = PathBuf::from(dir).join(PG_PASSWORD_CREDENTIAL);
            match std::fs::read_to_string(&path) {
                // systemd sets the directory when any credential is loaded; ours may not be.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(ConfigError::PgPasswordUnreadable { path, error }),
                Ok(text) => {
                    let password = checked(&text, &path)?;
                    return Ok(self.target.clone().with_password(password));
                }
            }
        }
        Ok(self.target.clone())
    }
}

impl DatabaseTarget {
    /// `--database` or `database = ...` as given: a `postgres://` URL or an SQLite path.
    pub fn from_argument(text: &str) -> Result<DatabaseTarget, crate::store::postgres::BadUrl> {
        if PgTarget::is_url(text) {
            Ok(DatabaseTarget::Postgres(PgDatabase::at(PgTarget::parse(
                text,
            )?)))
        } else {
            Ok(DatabaseTarget::Sqlite(PathBuf::from(text)))
        }
    }

    /// This target ready to connect: a PostgreSQL target carries its password
    /// ([`PgDatabase::with_password`]); an SQLite one is as it is.
    pub fn with_secrets(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<DatabaseTarget, ConfigError> {
        match self {
            DatabaseTarget::Sqlite(_) => Ok(self.clone()),
            DatabaseTarget::Postgres(pg) => Ok(DatabaseTarget::Postgres(PgDatabase {
                target: pg.with_password(env)?,
                password_file: None,
                ..pg.clone()
            })),
        }
    }

    /// The SQLite file, if this is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            DatabaseTarget::Sqlite(path) => Some(path),
            DatabaseTarget::Postgres(_) => None,
        }
    }
}

impl std::fmt::Display for DatabaseTarget {
    /// The file's path, or the URL without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseTarget::Sqlite(path) => write!(f, "{}", path.display()),
            DatabaseTarget::Postgres(pg) => write!(f, "{}", pg.target),
        }
    }
}

/// `[postgres]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPostgres {
    pub(super) url: Option<Spanned<String>>,
    pub(super) password_file: Option<Spanned<PathBuf>>,
    pub(super) node: Option<Spanned<String>>,
    pub(super) lease: RawDuration,
    pub(super) pool_size: Option<Spanned<usize>>,
}

impl RawPostgres {
    /// Whether the file has a `[postgres]` table with anything in it.
    pub(super) fn is_empty(&self) -> bool {
        self.url.is_none()
            && self.password_file.is_none()
            && self.node.is_none()
            && self.lease.is_none()
            && self.pool_size.is_none()
    }
}

fn checked<'a>(raw: &'a str, path: &Path) -> Result<&'a str, ConfigError> {
    let password = raw.trim_end_matches(['\n', '\r']);
    let reason = if password.is_empty() {
        "is empty; put the database password there"
    } else if password.contains(char::is_control) {
        "contains a line break or control character; keep only the password"
    } else {
        return Ok(password);
    };
    Err(ConfigError::PgPasswordInvalid {
        path: path.to_owned(),
        reason,
    })
}

/// This host's name (for the default node name); `localhost` when it cannot be read.
pub(crate) fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let name = if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    if name.is_empty() {
        "localhost".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
#[path = "database_tests.rs"]
mod tests;
