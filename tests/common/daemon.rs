//! The real `msgspool` binary in a temp folder, for end-to-end tests: a config pointing at
//! a fake Bird, a spool folder, a database, and helpers to drop jobs, read state and stop
//! or kill the process.

#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};

use super::fake_bird::FakeBird;

pub const ACCESS_KEY: &str = "test-access-key";

/// A temp folder with a config, a spool and a database, and maybe a running daemon.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub child: Option<Child>,
    pub extra_config: String,
    /// Extra environment variables for every (re)start, set after the helper's own.
    pub env: Vec<(String, String)>,
    /// Environment variables removed at every (re)start (e.g. `MSGSPOOL_ACCESS_KEY`, to
    /// make the daemon read `access_key_file`).
    pub unset: Vec<String>,
}

impl Daemon {
    /// Writes a config for `fake` (with `schedule`/`retry`/... tables from `extra`) and
    /// starts the daemon.
    pub fn start(fake: &FakeBird, extra: &str) -> Daemon {
        Self::start_tuned(fake, extra, 32)
    }

    /// As [`Daemon::start`], with `max_in_flight` requests to Bird at once.
    pub fn start_tuned(fake: &FakeBird, extra: &str, max_in_flight: usize) -> Daemon {
        Self::start_full(fake, extra, max_in_flight, &[])
    }

    /// [`Daemon::start_tuned`] with extra environment variables.
    pub fn start_tuned_env(
        fake: &FakeBird,
        extra: &str,
        max_in_flight: usize,
        env: &[(&str, &str)],
    ) -> Daemon {
        Self::start_all(fake, extra, max_in_flight, 0, env)
    }

    /// As [`Daemon::start`], with `[bird] rate_limit` POSTs per second (0: unlimited).
    pub fn start_rated(fake: &FakeBird, extra: &str, rate_limit: u32) -> Daemon {
        Self::start_all(fake, extra, 32, rate_limit, &[])
    }

    /// As [`Daemon::start`], with extra environment variables (e.g. `NOTIFY_SOCKET`,
    /// `WATCHDOG_USEC`, which the helper otherwise removes), kept for restarts too.
    pub fn start_with_env(fake: &FakeBird, extra: &str, env: &[(&str, &str)]) -> Daemon {
        Self::start_full(fake, extra, 32, env)
    }

    fn start_full(
        fake: &FakeBird,
        extra: &str,
        max_in_flight: usize,
        env: &[(&str, &str)],
    ) -> Daemon {
        Self::start_all(fake, extra, max_in_flight, 0, env)
    }

    /// Every knob: the config text is [`Daemon::config_text`].
    pub fn start_all(
        fake: &FakeBird,
        extra: &str,
        max_in_flight: usize,
        rate_limit: u32,
        env: &[(&str, &str)],
    ) -> Daemon {
        let dir = tempfile::tempdir().expect("temp dir");
        let spool = dir.path().join("spool");
        std::fs::create_dir_all(&spool).expect("spool");
        let text = Self::config_text(fake, dir.path(), extra, max_in_flight, rate_limit);
        std::fs::write(dir.path().join("config.toml"), text).expect("config");
        let mut d = Daemon {
            dir,
            child: None,
            extra_config: extra.to_owned(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            unset: Vec::new(),
        };
        d.spawn();
        d
    }

    /// The config the helper writes for `fake` in `dir` (rewrite it and SIGHUP to reload).
    pub fn config_text(
        fake: &FakeBird,
        dir: &Path,
        extra: &str,
        max_in_flight: usize,
        rate_limit: u32,
    ) -> String {
        let cfg = fake.config();
        let has = |table: &str| extra.contains(&format!("[{table}]"));
        let mut text = format!(
            "spool = {:?}\ndatabase = {:?}\nrescan_interval = \"1s\"\nshutdown_grace = \"5s\"\n\n[bird]\nbase_url = {:?}\nworkspace_id = {:?}\nrate_limit = {}\nmax_in_flight = {}\nrequest_timeout = \"5s\"\n\n[channels.whatsapp]\nid = {:?}\nkind = \"transactional\"\n\n",
            dir.join("spool"),
            dir.join("msgspool.db"),
            fake.base_url(),
            cfg.workspace_id,
            rate_limit,
            max_in_flight,
            cfg.channel_id,
        );
        if !has("schedule") {
            text.push_str("[schedule]\nimmediate_window = \"0s\"\n\n");
        }
        if !has("retry") {
            text.push_str("[retry]\nmax_attempts = 5\ninitial = \"100ms\"\nmax = \"500ms\"\n\n");
        }
        text.push_str(extra);
        text
    }

    /// Starts (or restarts) the daemon process on the same folder.
    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("daemon.log"))
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_msgspool"))
            .arg("run")
            .arg("--config")
            .arg(self.config_path())
            .env("MSGSPOOL_ACCESS_KEY", ACCESS_KEY)
            .env("MSGSPOOL_LOG", "info")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env_clear_some(&self.unset)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start msgspool");
        self.child = Some(child);
    }

    /// The config file the daemon was started with (rewrite it, then SIGHUP, to reload).
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    pub fn spool(&self) -> PathBuf {
        self.dir.path().join("spool")
    }

    pub fn database(&self) -> PathBuf {
        self.dir.path().join("msgspool.db")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }

    /// Drops a job file the recommended way: written under a dot name, renamed in.
    pub fn drop_job(&self, name: &str, text: &str) {
        drop_job_into(&self.spool(), name, text);
    }

    /// Sends a signal to the daemon with kill(1).
    pub fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(pid.to_string())
            .status()
            .expect("kill(1)");
        assert!(ok.success());
    }

    /// SIGTERM, then waits for the exit code (at most `within`).
    pub fn stop(&mut self, within: Duration) -> Option<i32> {
        self.signal("TERM");
        self.wait(within)
    }

    pub fn wait(&mut self, within: Duration) -> Option<i32> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// kill -9: no chance to clean up.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("SIGKILL");
            c.wait().expect("reap");
        }
    }

    /// Waits until the daemon logged that it started (recovery done, intake running).
    pub fn wait_started(&self, timeout: Duration) -> bool {
        self.eventually(timeout, || self.log().contains("msgspool started"))
    }

    /// The daemon's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Runs a query against the database and returns rows of text columns.
    pub fn query(&self, sql: &str) -> Vec<Vec<String>> {
        query(&self.database(), sql)
    }

    /// The first column of the first row of a query, or "" when there is none.
    pub fn one(&self, sql: &str) -> String {
        self.query(sql)
            .first()
            .and_then(|row| row.first().cloned())
            .unwrap_or_default()
    }

    /// The first column of the first row of a query as a number (0 when there is none).
    pub fn count(&self, sql: &str) -> usize {
        self.one(sql).parse().unwrap_or(0)
    }

    /// Polls `f` every 50 ms until it is true or `timeout` passes.
    pub fn eventually(&self, timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if f() {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `Command::env_remove` for several names.
trait EnvClearSome {
    fn env_clear_some(&mut self, names: &[String]) -> &mut Self;
}

impl EnvClearSome for Command {
    fn env_clear_some(&mut self, names: &[String]) -> &mut Self {
        for name in names {
            self.env_remove(name);
        }
        self
    }
}

pub fn drop_job_into(spool: &Path, name: &str, text: &str) {
    let tmp = spool.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).expect("write job");
    std::fs::rename(&tmp, spool.join(name)).expect("rename job in");
}

/// Rows of a query, every column as text (NULL as "").
pub fn query(db: &Path, sql: &str) -> Vec<Vec<String>> {
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return Vec::new();
    };
    let _ = conn.busy_timeout(Duration::from_secs(5));
    let Ok(mut stmt) = conn.prepare(sql) else {
        return Vec::new();
    };
    let n = stmt.column_count();
    let rows = stmt.query_map([], |row| {
        (0..n)
            .map(|i| {
                let v: rusqlite::types::Value = row.get(i)?;
                Ok(match v {
                    rusqlite::types::Value::Null => String::new(),
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Real(f) => f.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    rusqlite::types::Value::Blob(_) => "<blob>".to_owned(),
                })
            })
            .collect::<rusqlite::Result<Vec<String>>>()
    });
    match rows {
        Ok(r) => r.filter_map(Result::ok).collect(),
        Err(_) => Vec::new(),
    }
}

/// A text job for the test receiver, with extra top-level lines (e.g. `scheduledFor`).
pub fn text_job(top: &str) -> String {
    format!(
        "{top}\n[[receiver.contacts]]\nidentifierKey = \"phonenumber\"\nidentifierValue = \"+31612345678\"\n\n[body]\ntype = \"text\"\ntext.text = \"Hello from a test\"\n"
    )
}

/// RFC 3339 with milliseconds, UTC.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn parse_time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("RFC 3339 in the database")
        .with_timezone(&Utc)
}

/// Runs `sql` through the `sqlite3` CLI as an operator would (`-bail -batch`, waiting up to
/// 5 s for a lock another writer holds).
pub fn sqlite3(db: &Path, sql: &str) -> std::process::Output {
    Command::new("sqlite3")
        .args(["-bail", "-batch", "-cmd", ".timeout 5000"])
        .arg(db)
        .arg(sql)
        .output()
        .expect("the sqlite3 CLI is installed (apt-get install sqlite3)")
}
