//! Where a PostgreSQL database is, and how to log in: the `postgres://` URL the config
//! names, with its password held apart so that nothing that prints a target prints it.
//!
//! Owns: [`PgTarget`] (parsed by tokio-postgres, shown without the password).
//! Guarantees: `Display` and `Debug` never show the password; a URL that does not parse is
//! an error naming the part, never echoing the URL (it may carry the password).

use std::fmt;

use tokio_postgres::config::{Config as PgConfig, Host, SslMode};

/// A PostgreSQL database to connect to.
#[derive(Clone, PartialEq, Eq)]
pub struct PgTarget {
    config: PgConfig,
}

/// Why a `postgres://` URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the PostgreSQL URL does not parse ({0}); write it as postgres://USER@HOST/DATABASE?sslmode=require, with the password in [postgres] password_file or the pg-password credential"
)]
pub struct BadUrl(String);

impl PgTarget {
    /// Whether a `database` value names PostgreSQL rather than an SQLite file.
    pub fn is_url(text: &str) -> bool {
        text.starts_with("postgres://") || text.starts_with("postgresql://")
    }

    /// Parses a `postgres://` URL. tokio-postgres's message names the bad part without
    /// repeating the URL.
    pub fn parse(url: &str) -> Result<PgTarget, BadUrl> {
        let config: PgConfig = url
            .parse()
            .map_err(|e: tokio_postgres::Error| BadUrl(e.to_string()))?;
        if config.get_dbname().is_none() {
            return Err(BadUrl("it names no database".to_owned()));
        }
        Ok(PgTarget { config })
    }

    /// Sets the password (from a file or a credential: never from the URL's text in logs).
    pub fn with_password(mut self, password: &str) -> PgTarget {
        self.config.password(password);
        self
    }

    /// Whether the URL itself carried a password.
    pub fn has_password(&self) -> bool {
        self.config.get_password().is_some()
    }

    /// Whether the connection must be encrypted (`sslmode=require`).
    pub fn requires_tls(&self) -> bool {
        self.config.get_ssl_mode() == SslMode::Require
    }

    /// Whether TLS is to be tried at all (`prefer`, the default, or `require`).
    pub fn wants_tls(&self) -> bool {
        self.config.get_ssl_mode() != SslMode::Disable
    }

    pub(crate) fn config(&self) -> &PgConfig {
        &self.config
    }
}

impl fmt::Display for PgTarget {
    /// `postgres://USER@HOST[:PORT]/DATABASE`, never the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("postgres://")?;
        if let Some(user) = self.config.get_user() {
            write!(f, "{user}@")?;
        }
        let hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .map(|h| match h {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        f.write_str(&hosts.join(","))?;
        if let Some(port) = self.config.get_ports().first() {
            write!(f, ":{port}")?;
        }
        write!(f, "/{}", self.config.get_dbname().unwrap_or(""))
    }
}

impl fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgTarget({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_never_shown() {
        let target =
            PgTarget::parse("postgres://msg:s3cret-pw@db.example:5433/queue?sslmode=require")
                .expect("parses")
                .with_password("other-s3cret");
        let shown = format!("{target} {target:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert_eq!(target.to_string(), "postgres://msg@db.example:5433/queue");
        assert!(target.requires_tls());
    }

    #[test]
    fn a_bad_url_is_refused_without_echoing_it() {
        let err = PgTarget::parse("postgres://u:pw-s3cret@host:notaport/db").expect_err("bad port");
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(PgTarget::parse("postgres://u@host").is_err(), "no database");
    }
}
