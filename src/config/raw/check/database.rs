//! `database` and `[postgres]`: an SQLite path, or a PostgreSQL URL with the settings of a
//! daemon sharing it. Each refusal points at its value; none echoes a URL (it may carry a
//! password).

use super::*;
use crate::config::database::{
    DEFAULT_LEASE, DEFAULT_POOL_SIZE, DatabaseTarget, PgDatabase, RawPostgres,
};
use crate::store::postgres::PgTarget;

impl Checker<'_> {
    /// The database the config names. `request_timeout` is `[bird] request_timeout` (and
    /// where it was written): a lease must outlast a request.
    pub(super) fn database(
        &self,
        database: Option<Spanned<String>>,
        postgres: RawPostgres,
        request_timeout: Duration,
        request_timeout_span: Option<Range<usize>>,
    ) -> Result<DatabaseTarget, ConfigError> {
        let url_in_database = database
            .as_ref()
            .is_some_and(|d| PgTarget::is_url(d.get_ref()));
        let url = match (database, postgres.url.clone()) {
            (Some(d), Some(_)) => {
                let msg = if url_in_database {
                    "is given twice, here and in [postgres] url; keep one"
                } else {
                    "names an SQLite file but [postgres] url is set too; remove one of them"
                };
                return Err(self.invalid(Some(d.span()), "database", msg.to_owned()));
            }
            (Some(d), None) if url_in_database => (d, "database"),
            (None, Some(u)) => (u, "postgres.url"),
            (Some(d), None) => {
                if !postgres.is_empty() {
                    let msg = "names an SQLite file, but there is a [postgres] table; set database = \"postgres://...\" or [postgres] url, or remove the table".to_owned();
                    return Err(self.invalid(Some(d.span()), "database", msg));
                }
                return self.sqlite(d);
            }
            (None, None) => {
                if !postgres.is_empty() {
                    let span = postgres
                        .node
                        .as_ref()
                        .map(Spanned::span)
                        .or(postgres.password_file.as_ref().map(Spanned::span));
                    let msg = "has no url; add url = \"postgres://USER@HOST/DATABASE?sslmode=require\", or remove the table".to_owned();
                    return Err(self.invalid(span, "postgres", msg));
                }
                return Ok(DatabaseTarget::Sqlite(PathBuf::from(DEFAULT_DATABASE)));
            }
        };
        let (url, key) = url;
        let target = PgTarget::parse(url.get_ref())
            .map_err(|e| self.invalid(Some(url.span()), key, e.to_string()))?;
        self.postgres(target, postgres, request_timeout, request_timeout_span)
    }

    fn sqlite(&self, path: Spanned<String>) -> Result<DatabaseTarget, ConfigError> {
        if path.get_ref().is_empty() {
            let msg = format!(
                "the path is empty; give a path or remove the key for `{DEFAULT_DATABASE}`"
            );
            return Err(self.invalid(Some(path.span()), "database", msg));
        }
        Ok(DatabaseTarget::Sqlite(PathBuf::from(path.into_inner())))
    }

    fn postgres(
        &self,
        target: PgTarget,
        raw: RawPostgres,
        request_timeout: Duration,
        request_timeout_span: Option<Range<usize>>,
    ) -> Result<DatabaseTarget, ConfigError> {
        let node = match raw.node {
            Some(n) if n.get_ref().trim().is_empty() || n.get_ref().contains(char::is_control) => {
                let msg = "must be a name without control characters, unique per host and spool (default HOSTNAME:SPOOL)".to_owned();
                return Err(self.invalid(Some(n.span()), "postgres.node", msg));
            }
            n => n.map(Spanned::into_inner),
        };
        let pool_size = match raw.pool_size {
            None => DEFAULT_POOL_SIZE,
            Some(p) if *p.get_ref() == 0 => {
                let msg = "must be at least 1 (default 16)".to_owned();
                return Err(self.invalid(Some(p.span()), "postgres.pool_size", msg));
            }
            Some(p) => p.into_inner(),
        };
        let lease_span = raw.lease.as_ref().map(Spanned::span);
        let lease = self.positive_or(raw.lease, "postgres.lease", DEFAULT_LEASE)?;
        if lease <= request_timeout {
            let msg = format!(
                "{} is not longer than [bird] request_timeout ({}): a send's lease could run out while its request is in flight and another daemon post it again; make the lease longer (e.g. twice the timeout) or the timeout shorter",
                crate::duration::format_duration(lease),
                crate::duration::format_duration(request_timeout)
            );
            let (span, key) = match lease_span {
                Some(span) => (Some(span), "postgres.lease"),
                None => (request_timeout_span, "bird.request_timeout"),
            };
            return Err(self.invalid(span, key, msg));
        }
        Ok(DatabaseTarget::Postgres(PgDatabase {
            target,
            password_file: raw.password_file.map(Spanned::into_inner),
            node,
            lease,
            pool_size,
        }))
    }
}
