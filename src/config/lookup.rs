//! Which config a command uses: the one config lookup every subcommand shares.
//!
//! Owns the rule: `--config FILE` wins; else `/etc/msgspool/config.toml` when it exists;
//! else the built-in defaults, with the database beside the spool folder. Trusts
//! [`Config::load`] to validate. Guarantees a dry run without `--config` never picks up the
//! system config (issue 9): its callers say so with [`Lookup::builtin_without_file`].

use std::path::{Path, PathBuf};

use super::{Config, ConfigError, DEFAULT_PATH, DatabaseTarget, PgDatabase};

/// What the command line says about the config and what it overrides.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--spool`, overriding the config's `spool`.
    pub spool: Option<PathBuf>,
    /// `--database` (an SQLite file or a `postgres://` URL), overriding the config's
    /// `database`. A URL keeps the config's `[postgres]` settings (node, lease, pool).
    pub database: Option<String>,
    /// Without `--config`, take the built-in defaults even when the system config exists
    /// (`run --dry-run`: a dry run must never touch the production spool and database).
    pub builtin_without_file: bool,
}

impl Lookup {
    /// Just `--config`, as most subcommands take it.
    pub fn file(config: Option<&PathBuf>) -> Lookup {
        Lookup {
            config: config.cloned(),
            ..Lookup::default()
        }
    }

    /// Loads the config this lookup names and applies the overrides.
    pub fn load(&self) -> Result<Config, ConfigError> {
        self.load_with_default(Path::new(DEFAULT_PATH))
    }

    /// [`Lookup::load`] with the system-wide config at `default`.
    pub fn load_with_default(&self, default: &Path) -> Result<Config, ConfigError> {
        let from_file = match &self.config {
            Some(p) => Some(Config::load(p)?),
            None if default.exists() && !self.builtin_without_file => Some(Config::load(default)?),
            None => None,
        };
        let no_file = from_file.is_none();
        let mut cfg = from_file.unwrap_or_else(Config::builtin);
        if let Some(s) = &self.spool {
            cfg.spool = s.clone();
        }
        match &self.database {
            Some(d) => cfg.database = overridden(&cfg.database, d)?,
            // Without a config file, keep the database beside the spool folder rather than
            // in /var/lib, so a first dry run works as an ordinary user.
            None if no_file => {
                let parent = cfg.spool.parent().unwrap_or(Path::new("."));
                let parent = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
                cfg.database = DatabaseTarget::Sqlite(parent.join("msgspool.db"));
            }
            None => {}
        }
        Ok(cfg)
    }
}

/// `--database` over the config's database: a URL keeps the `[postgres]` settings the
/// config has (its password file included), a path is a path.
fn overridden(configured: &DatabaseTarget, given: &str) -> Result<DatabaseTarget, ConfigError> {
    let target = DatabaseTarget::from_argument(given).map_err(|e| ConfigError::Invalid {
        at: super::Place {
            path: PathBuf::from("--database"),
            line_col: None,
        },
        key: "database".to_owned(),
        message: e.to_string(),
    })?;
    Ok(match (configured, target) {
        (DatabaseTarget::Postgres(settings), DatabaseTarget::Postgres(given)) => {
            DatabaseTarget::Postgres(PgDatabase {
                target: given.target,
                ..settings.clone()
            })
        }
        (_, target) => target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system_config(dir: &Path) -> PathBuf {
        let system = dir.join("config.toml");
        std::fs::write(
            &system,
            "spool = \"/srv/production-spool\"\ndatabase = \"/srv/production.db\"\n\n[channels.whatsapp]\nid = \"c\"\n",
        )
        .unwrap();
        system
    }

    #[test]
    fn a_dry_run_without_config_never_reads_the_system_config() {
        let dir = tempfile::tempdir().unwrap();
        let system = system_config(dir.path());
        let cfg = Lookup::default().load_with_default(&system).unwrap();
        assert_eq!(cfg.spool, Path::new("/srv/production-spool"));
        let dry = Lookup {
            builtin_without_file: true,
            ..Lookup::default()
        };
        let cfg = dry.load_with_default(&system).unwrap();
        assert_eq!(cfg.spool, Config::builtin().spool);
        assert_ne!(
            cfg.database.sqlite_path(),
            Some(Path::new("/srv/production.db"))
        );
    }

    #[test]
    fn a_given_config_wins_over_the_system_config_and_the_overrides_win_over_both() {
        let dir = tempfile::tempdir().unwrap();
        let system = system_config(dir.path());
        let own = dir.path().join("own.toml");
        std::fs::write(&own, "spool = \"/srv/own\"\n\n[channels.x]\nid = \"x\"\n").unwrap();
        let lookup = Lookup {
            config: Some(own),
            database: Some("/tmp/given.db".to_owned()),
            ..Lookup::default()
        };
        let cfg = lookup.load_with_default(&system).unwrap();
        assert_eq!(cfg.spool, Path::new("/srv/own"));
        assert_eq!(cfg.database.sqlite_path(), Some(Path::new("/tmp/given.db")));
    }

    #[test]
    fn without_any_file_the_database_lies_beside_the_spool_folder() {
        let dir = tempfile::tempdir().unwrap();
        let lookup = Lookup {
            spool: Some(PathBuf::from("/srv/jobs/spool")),
            ..Lookup::default()
        };
        let cfg = lookup
            .load_with_default(&dir.path().join("absent.toml"))
            .unwrap();
        assert_eq!(
            cfg.database.sqlite_path(),
            Some(Path::new("/srv/jobs/msgspool.db"))
        );
    }
}
