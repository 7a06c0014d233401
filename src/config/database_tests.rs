//! `database` and `[postgres]`: which backend a config selects, the password's sources,
//! and that the password is never shown.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::config::Config;

const PATH: &str = "/etc/msgspool/config.toml";
const CHANNEL: &str = "[channels.whatsapp]\nid = \"ch-1\"\n";
const SECRET: &str = "pw-s3cret-9f2";

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(&format!("{text}\n{CHANNEL}"), Path::new(PATH))
}

fn pg(cfg: &Config) -> &PgDatabase {
    match &cfg.database {
        DatabaseTarget::Postgres(pg) => pg,
        other => panic!("expected PostgreSQL, got {other:?}"),
    }
}

fn env_of(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    move |k| map.get(k).cloned()
}

/// The connection settings as tokio-postgres holds them (the only way to read a password
/// back, which nothing but this test does).
fn password_of(target: &PgTarget) -> Option<String> {
    target
        .config()
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned())
}

#[test]
fn a_postgres_url_in_database_selects_postgresql_with_every_default() {
    let cfg = parse("database = \"postgres://msg@db.example/queue?sslmode=require\"").unwrap();
    let pg = pg(&cfg);
    let shown = pg.target.to_string();
    assert!(shown.starts_with("postgres://msg@db.example"), "{shown}");
    assert!(shown.ends_with("/queue"), "{shown}");
    assert!(pg.target.requires_tls());
    assert_eq!(pg.lease, DEFAULT_LEASE);
    assert_eq!(pg.pool_size, DEFAULT_POOL_SIZE);
    assert_eq!(pg.node, None);
    assert_eq!(
        pg.node_name(Path::new("/var/spool/msgspool")),
        format!("{}:/var/spool/msgspool", hostname())
    );
}

#[test]
fn anything_else_in_database_stays_an_sqlite_path() {
    let cfg = parse("database = \"/srv/postgres-data/m.db\"").unwrap();
    assert_eq!(
        cfg.database.sqlite_path(),
        Some(Path::new("/srv/postgres-data/m.db"))
    );
}

#[test]
fn every_key_of_the_postgres_table_is_read() {
    let cfg = parse(
        "[postgres]\nurl = \"postgres://msg@db/queue\"\npassword_file = \"/etc/msgspool/pg\"\nnode = \"a1\"\nlease = \"2m\"\npool_size = 4\n",
    )
    .unwrap();
    let pg = pg(&cfg);
    assert_eq!(
        pg.password_file.as_deref(),
        Some(Path::new("/etc/msgspool/pg"))
    );
    assert_eq!(pg.node.as_deref(), Some("a1"));
    assert_eq!(pg.lease, Duration::from_secs(120));
    assert_eq!(pg.pool_size, 4);
    assert_eq!(pg.node_name(Path::new("/x")), "a1");
}

#[test]
fn a_lease_not_longer_than_the_request_timeout_is_refused_at_its_line() {
    let text = "[bird]\nrequest_timeout = \"30s\"\n[postgres]\nurl = \"postgres://m@db/q\"\nlease = \"30s\"\n";
    let e = parse(text).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "{PATH}:5:9: error: postgres.lease: 30s is not longer than [bird] request_timeout (30s)"
        )),
        "{e}"
    );
    // The default lease (60 s) against a longer timeout: the timeout's line is named.
    let text = "database = \"postgres://m@db/q\"\n[bird]\nrequest_timeout = \"90s\"\n";
    let e = parse(text).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "{PATH}:3:19: error: bird.request_timeout: 1m is not longer"
        )),
        "{e}"
    );
}

#[test]
fn a_url_given_twice_or_a_postgres_table_without_one_is_refused() {
    let e = parse("database = \"postgres://m@db/q\"\n[postgres]\nurl = \"postgres://m@db/q\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("error: database: is given twice"), "{e}");
    let e = parse("[postgres]\nnode = \"a\"\n").unwrap_err().to_string();
    assert!(e.contains("error: postgres: has no url"), "{e}");
    let e = parse("database = \"/srv/m.db\"\n[postgres]\nnode = \"a\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("error: database: names an SQLite file"), "{e}");
}

#[test]
fn a_url_that_does_not_parse_is_refused_without_echoing_it() {
    let e = parse(&format!(
        "database = \"postgres://u:{SECRET}@db:notaport/q\""
    ))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("error: database: the PostgreSQL URL does not parse"),
        "{e}"
    );
    assert!(!e.contains(SECRET), "{e}");
}

#[test]
fn the_password_comes_from_the_file_then_the_credential_then_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pg");
    std::fs::write(&file, format!("{SECRET}-file\n")).unwrap();
    std::fs::write(
        dir.path().join(PG_PASSWORD_CREDENTIAL),
        format!("{SECRET}-cred"),
    )
    .unwrap();
    let creds = env_of(&[("CREDENTIALS_DIRECTORY", dir.path().display().to_string())]);
    let none = env_of(&[]);
    let mut pg =
        PgDatabase::at(PgTarget::parse(&format!("postgres://m:{SECRET}-url@db/q")).unwrap());
    assert_eq!(
        password_of(&pg.with_password(&none).unwrap()),
        Some(format!("{SECRET}-url"))
    );
    assert_eq!(
        password_of(&pg.with_password(&creds).unwrap()),
        Some(format!("{SECRET}-cred"))
    );
    pg.password_file = Some(file);
    assert_eq!(
        password_of(&pg.with_password(&creds).unwrap()),
        Some(format!("{SECRET}-file"))
    );
    // A credentials folder without our credential is no error: the URL's password stays.
    let other = tempfile::tempdir().unwrap();
    pg.password_file = None;
    let elsewhere = env_of(&[("CREDENTIALS_DIRECTORY", other.path().display().to_string())]);
    assert_eq!(
        password_of(&pg.with_password(&elsewhere).unwrap()),
        Some(format!("{SECRET}-url"))
    );
}

#[test]
fn the_password_is_never_shown_by_a_config_a_target_or_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pg");
    std::fs::write(&file, SECRET).unwrap();
    let text = format!(
        "[postgres]\nurl = \"postgres://msg:{SECRET}@db/queue\"\npassword_file = \"{}\"\n",
        file.display()
    );
    let cfg = parse(&text).unwrap();
    let ready = cfg.database.with_secrets(&env_of(&[])).unwrap();
    let shown = format!("{cfg:?} {} {ready:?} {ready}", cfg.database);
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(shown.contains("postgres://msg@db"), "{shown}");
    // An unusable password file: the error names the file, not what it holds.
    std::fs::write(&file, format!("{SECRET}\nsecond line\n")).unwrap();
    let e = cfg.database.with_secrets(&env_of(&[])).unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(shown.contains("control character"), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
    std::fs::remove_file(&file).unwrap();
    let e = cfg
        .database
        .with_secrets(&env_of(&[]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot read the PostgreSQL password"), "{e}");
}
