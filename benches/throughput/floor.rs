//! `floor`: what the `cpu` scenario's work costs at the least, without msgspool. Each send
//! needs a job file taken in (listed, checked, opened, read, removed, under a watch), one
//! HTTP request on a kept-alive loopback connection, and its state kept in SQLite (one
//! insert and two updates, in fsync'd group commits). Here each is done bare, with the
//! syscalls msgspool makes and nothing else: no parsing, no JSON, no async runtime, blocking
//! I/O. The sum is a lower bound for the `cpu` figure on this machine, so the two can be
//! compared: whatever `cpu` measures above it is msgspool's own.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::support::cpu_times;
use super::text_job;

/// CPU µs per item (user, system) that `work` took on `stat`'s thread or process.
fn per_item(n: usize, stat: &str, work: impl FnOnce()) -> (f64, f64) {
    let (u0, s0) = cpu_times(stat);
    work();
    let (u1, s1) = cpu_times(stat);
    let per = |d: f64| d * 1e6 / n as f64;
    (per(u1 - u0), per(s1 - s0))
}

pub fn floor(n: usize) {
    let files = file_lifecycle(n);
    let http = loopback_requests(n);
    let sql = sqlite_states(n, 16);
    let line = |what: &str, (user, system): (f64, f64)| {
        println!(
            "floor:    {what}: user {user:.1} µs + system {system:.1} µs = {:.1} µs per send",
            user + system
        );
    };
    line(
        "job file (list, lstat, open, fstat, read, close, lstat, unlink; watched)",
        files,
    );
    line(
        "HTTP/1.1 POST and 202 on a kept-alive loopback connection (client side)",
        http,
    );
    line(
        "SQLite, 1 insert + 2 updates in fsync'd WAL commits of 16 sends",
        sql,
    );
    let system = files.1 + http.1 + sql.1;
    let total = system + files.0 + http.0 + sql.0;
    println!(
        "floor:    sum {total:.1} µs per send, of which the kernel {system:.1} µs (the cpu target is 50 µs)"
    );
}

/// A job file's life in the spool after the producer's rename, with a watch on the folder
/// that reads every event, as msgspool's does. Counted for the whole process, so that the
/// watch thread's CPU is in.
fn file_lifecycle(n: usize) -> (f64, f64) {
    use notify::Watcher;
    let dir = tempfile::tempdir().expect("a temp folder");
    let (staging, spool) = (dir.path().join("staging"), dir.path().join("spool"));
    std::fs::create_dir_all(&staging).expect("staging");
    std::fs::create_dir_all(&spool).expect("spool");
    let text = text_job("");
    for i in 0..n {
        std::fs::write(staging.join(format!("job-{i:06}.toml")), &text).expect("write");
    }
    let mut watcher = notify::recommended_watcher(|_event| {}).expect("a watch");
    watcher
        .watch(&spool, notify::RecursiveMode::NonRecursive)
        .expect("watch the spool");
    for i in 0..n {
        let name = format!("job-{i:06}.toml");
        std::fs::rename(staging.join(&name), spool.join(&name)).expect("rename");
    }
    per_item(n, "/proc/self/stat", || take_all(&spool))
}

fn take_all(spool: &Path) {
    let mut buf = Vec::with_capacity(4096);
    for entry in std::fs::read_dir(spool).expect("list the spool").flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let Ok(mut file) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(&path)
        else {
            continue;
        };
        let same = file.metadata().is_ok_and(|m| m.len() == meta.len());
        buf.clear();
        let read = file.read_to_end(&mut buf).is_ok();
        drop(file);
        if same && read && std::fs::symlink_metadata(&path).is_ok() {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// `n` requests of a send's size, one at a time on one connection, against a server
/// thread; only the client thread's CPU is counted (the server stands for Bird).
fn loopback_requests(n: usize) -> (f64, f64) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("its address");
    let body = "x".repeat(200);
    let request = format!(
        "POST /workspaces/w/channels/c/messages HTTP/1.1\r\nhost: {addr}\r\n\
         authorization: AccessKey k\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    let answer = "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\n\
                  content-length: 64\r\n\r\n"
        .to_owned()
        + &"y".repeat(64);
    let (asked, answered) = (request.len(), answer.len());
    let server = std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else {
            return;
        };
        let mut buf = vec![0u8; 65536];
        for _ in 0..n {
            if !read_exactly(&mut conn, &mut buf, asked) {
                return;
            }
            if conn.write_all(answer.as_bytes()).is_err() {
                return;
            }
        }
    });
    let mut conn = TcpStream::connect(addr).expect("connect on loopback");
    conn.set_nodelay(true).expect("TCP_NODELAY");
    let mut buf = vec![0u8; 65536];
    let figures = per_item(n, "/proc/thread-self/stat", || {
        for _ in 0..n {
            let ok = conn.write_all(request.as_bytes()).is_ok()
                && read_exactly(&mut conn, &mut buf, answered);
            if !ok {
                break;
            }
        }
    });
    drop(conn);
    let _ = server.join();
    figures
}

fn read_exactly(conn: &mut TcpStream, buf: &mut [u8], len: usize) -> bool {
    let mut got = 0;
    while got < len {
        match conn.read(buf) {
            Ok(0) | Err(_) => return false,
            Ok(k) => got += k,
        }
    }
    true
}

/// A send's three writes (accepted, claimed, sent) in msgspool's durability settings,
/// `group` sends per commit: the least SQLite must do for each send.
fn sqlite_states(n: usize, group: usize) -> (f64, f64) {
    let dir = tempfile::tempdir().expect("a temp folder");
    let conn = rusqlite::Connection::open(dir.path().join("floor.sqlite")).expect("open");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE sends (id INTEGER PRIMARY KEY, state TEXT NOT NULL,
                             due_at TEXT, payload TEXT NOT NULL);
         CREATE INDEX sends_by_state ON sends (state, due_at);",
    )
    .expect("schema");
    let payload = "x".repeat(200);
    let due = "2027-01-06T17:34:33.000Z";
    let write = |step: usize, id: i64| -> rusqlite::Result<usize> {
        match step {
            0 => conn
                .prepare_cached("INSERT INTO sends VALUES (?1, 'scheduled', ?2, ?3)")?
                .execute(rusqlite::params![id, due, payload]),
            1 => conn
                .prepare_cached("UPDATE sends SET state = 'sending' WHERE id = ?1")?
                .execute([id]),
            _ => conn
                .prepare_cached("UPDATE sends SET state = 'sent', due_at = NULL WHERE id = ?1")?
                .execute([id]),
        }
    };
    per_item(n, "/proc/thread-self/stat", || {
        for step in 0..3 {
            for first in (0..n).step_by(group) {
                let ok = conn.execute_batch("BEGIN IMMEDIATE").is_ok()
                    && (first..n.min(first + group)).all(|id| write(step, id as i64).is_ok())
                    && conn.execute_batch("COMMIT").is_ok();
                if !ok {
                    println!("floor:    SQLite failed [FAILED]");
                    return;
                }
            }
        }
    })
}
