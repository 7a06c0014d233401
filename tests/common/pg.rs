//! A throwaway PostgreSQL cluster for the tests: `initdb` and `postgres` in a temp folder,
//! listening only on a Unix socket there (no TCP port), as user `postgres` when the tests
//! run as root. One cluster per test binary, started on first use; each test gets a fresh
//! database in it. The server is told to stop (SIGINT: fast shutdown) when the test
//! process ends, and a folder left by a killed run is removed by the next one.
//!
//! Tests skip PostgreSQL only when `MSGSPOOL_PG_TESTS=0`; otherwise a missing PostgreSQL
//! is a failure that says what to install.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Whether PostgreSQL tests run (everywhere, unless `MSGSPOOL_PG_TESTS=0`).
pub fn enabled() -> bool {
    std::env::var("MSGSPOOL_PG_TESTS").map_or(true, |v| v != "0")
}

/// The cluster of this test binary.
pub struct Cluster {
    /// The folder holding the socket (and the data folder under it).
    pub socket_dir: PathBuf,
    pub port: u16,
    /// The server's process id.
    pub pid: u32,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// The cluster, started on first use.
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        start().unwrap_or_else(|e| panic!("cannot start PostgreSQL for the tests: {e}"))
    })
}

impl Cluster {
    /// A `postgres://` URL for `database` on this cluster, over its Unix socket.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres:///{database}?host={}&port={}&user=postgres&sslmode=disable",
            self.socket_dir.display(),
            self.port
        )
    }

    /// A new, empty database; its URL.
    pub async fn fresh_database(&self) -> String {
        let name = format!(
            "t_{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        );
        let (client, connection) =
            tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
                .await
                .expect("connect to the test cluster");
        let task = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create a test database");
        drop(client);
        let _ = task.await;
        self.url(&name)
    }

    /// Runs one SQL statement as the superuser on `database` (tests use it to backdate a
    /// lease or cut a daemon's connections).
    pub async fn exec(&self, url: &str, sql: &str) {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test database");
        let task = tokio::spawn(connection);
        client
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        drop(client);
        let _ = task.await;
    }

    /// A connected client on `url`, for queries a test reads.
    pub async fn client(&self, url: &str) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test database");
        tokio::spawn(connection);
        client
    }
}

/// Where the server's programs are: `MSGSPOOL_PG_BIN`, else the newest
/// /usr/lib/postgresql/N/bin, else `PATH`.
fn bin_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("MSGSPOOL_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn program(bin: &Option<PathBuf>, name: &str) -> PathBuf {
    bin.as_ref()
        .map_or_else(|| PathBuf::from(name), |b| b.join(name))
}

/// The uid and gid to run the server as: `postgres` when we are root (PostgreSQL refuses
/// to run as root), else ourselves.
fn server_user() -> Result<Option<(u32, u32)>, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let out = Command::new("id")
        .args(["-u", "postgres"])
        .output()
        .map_err(|e| format!("cannot run id: {e}"))?;
    let uid: u32 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| {
            "there is no user postgres: install the Debian package postgresql".to_owned()
        })?;
    let out = Command::new("id")
        .args(["-g", "postgres"])
        .output()
        .map_err(|e| format!("cannot run id: {e}"))?;
    let gid: u32 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| "cannot read the group of user postgres".to_owned())?;
    Ok(Some((uid, gid)))
}

fn as_user(cmd: &mut Command, user: Option<(u32, u32)>) -> &mut Command {
    if let Some((uid, gid)) = user {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

/// Removes folders of earlier runs whose server is gone (a killed test binary).
fn remove_stale(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("msgspool-pg-")) else {
            continue;
        };
        let alive = pid
            .parse::<i32>()
            // SAFETY: kill with signal 0 only checks that the process exists.
            .is_ok_and(|pid| unsafe { libc::kill(pid, 0) } == 0);
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn start() -> Result<Cluster, String> {
    let bin = bin_dir();
    if bin.is_none() && Command::new("initdb").arg("--version").output().is_err() {
        return Err("initdb was not found: install the Debian package postgresql (or set MSGSPOOL_PG_BIN), or set MSGSPOOL_PG_TESTS=0 to skip the PostgreSQL tests".to_owned());
    }
    let user = server_user()?;
    let root = std::env::temp_dir();
    remove_stale(&root);
    let dir = root.join(format!("msgspool-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let data = dir.join("data");
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(|e| format!("chown: {e}"))?;
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| e.to_string())?;
    let out = as_user(
        Command::new(program(&bin, "initdb")).arg("-D").arg(&data),
        user,
    )
    .args([
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-sync",
        "--locale=C",
    ])
    .output()
    .map_err(|e| format!("cannot run initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let port = 5432;
    // Tests never crash the server itself, so they need not wait for its disk; a benchmark
    // sets MSGSPOOL_PG_DURABLE=1 to measure what production pays.
    let durability: &[&str] = if std::env::var_os("MSGSPOOL_PG_DURABLE").is_some() {
        &[]
    } else {
        &[
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ]
    };
    // The server is started from a thread that lives as long as the process: the death
    // signal below is tied to the thread that forks.
    let (tx, rx) = std::sync::mpsc::channel();
    let postgres = program(&bin, "postgres");
    let (data2, dir2) = (data.clone(), dir.clone());
    std::thread::spawn(move || {
        let mut cmd = Command::new(postgres);
        as_user(&mut cmd, user)
            .arg("-D")
            .arg(&data2)
            .arg("-k")
            .arg(&dir2)
            .args(["-p", &port.to_string(), "-c", "listen_addresses="])
            .args(durability)
            .args(["-c", "max_connections=300", "-c", "shared_buffers=128MB"])
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir2.join("server.log")).expect("server log"),
            ));
        // SAFETY: prctl in the child between fork and exec; it only sets a signal.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT);
                Ok(())
            });
        }
        match cmd.spawn() {
            Ok(mut child) => {
                let _ = tx.send(Ok(child.id()));
                let _ = child.wait();
            }
            Err(e) => {
                let _ = tx.send(Err(format!("cannot start postgres: {e}")));
            }
        }
        // Keep the thread (and so the death signal's parent) until the process ends.
        loop {
            std::thread::park();
        }
    });
    let pid = rx
        .recv()
        .map_err(|_| "the server thread ended".to_owned())??;
    let socket = dir.join(format!(".s.PGSQL.{port}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = Command::new(program(&bin, "pg_isready"))
            .arg("-h")
            .arg(&dir)
            .args(["-p", &port.to_string(), "-q"])
            .status()
            .is_ok_and(|s| s.success());
        if ready && socket.exists() {
            break;
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            return Err(format!("the server did not come up within 30 s: {log}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Cluster {
        socket_dir: dir,
        port,
        pid,
    })
}
