//! The daemon's sd_notify protocol, as systemd sees it: a real unix datagram socket in a
//! temp folder plays systemd's `NOTIFY_SOCKET`, and the real binary runs with
//! `WATCHDOG_USEC` set (no `WATCHDOG_PID`: sd-notify accepts it missing; systemd sets it to
//! the daemon's own pid). Checked: READY=1 after start, WATCHDOG=1 at about half the
//! watchdog interval, STATUS= with queue counts, RELOADING=1 with MONOTONIC_USEC= then
//! READY=1 on SIGHUP, STOPPING=1 and exit 0 on SIGTERM; without `WATCHDOG_USEC`, STATUS=
//! lines and no pings.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::daemon::{Daemon, text_job};
use common::fake_bird::{FakeBird, FakeConfig};

const LONG: Duration = Duration::from_secs(30);
/// The watchdog interval the daemon is given: pings are due every second.
const WATCHDOG_USEC: &str = "2000000";

/// One datagram: when it arrived and its lines (`KEY=VALUE`).
#[derive(Clone, Debug)]
struct Datagram {
    at: Instant,
    lines: Vec<String>,
}

impl Datagram {
    fn has(&self, line: &str) -> bool {
        self.lines.iter().any(|l| l == line)
    }

    fn value(&self, key: &str) -> Option<&str> {
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
    }
}

/// systemd's side of the notify socket: a thread records every datagram.
struct NotifySocket {
    _dir: tempfile::TempDir,
    path: PathBuf,
    got: Arc<(Mutex<Vec<Datagram>>, Condvar)>,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl NotifySocket {
    fn bind() -> NotifySocket {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("read timeout");
        let got = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (got2, stop2) = (got.clone(), stop.clone());
        let reader = std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            while !stop2.load(Ordering::Relaxed) {
                let Ok(n) = socket.recv(&mut buf) else {
                    continue; // timeout: look at the stop flag again
                };
                let text = String::from_utf8_lossy(&buf[..n]);
                let lines = text.lines().map(str::to_owned).collect();
                let (list, changed) = &*got2;
                list.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(Datagram {
                        at: Instant::now(),
                        lines,
                    });
                changed.notify_all();
            }
        });
        NotifySocket {
            _dir: dir,
            path,
            got,
            stop,
            reader: Some(reader),
        }
    }

    fn all(&self) -> Vec<Datagram> {
        self.got.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits until some datagram after the first `from` ones satisfies `f`; returns its
    /// index.
    fn wait_for(
        &self,
        from: usize,
        timeout: Duration,
        f: impl Fn(&Datagram) -> bool,
    ) -> Option<usize> {
        let (list, changed) = &*self.got;
        let deadline = Instant::now() + timeout;
        let mut list = list.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(i) = list.iter().skip(from).position(&f) {
                return Some(from + i);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            list = changed
                .wait_timeout(list, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn env(&self, watchdog: bool) -> Vec<(&'static str, String)> {
        let mut env = vec![("NOTIFY_SOCKET", self.path.display().to_string())];
        if watchdog {
            env.push(("WATCHDOG_USEC", WATCHDOG_USEC.to_owned()));
        }
        env
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

/// Starts the daemon with `NOTIFY_SOCKET` and `WATCHDOG_USEC`.
fn start(fake: &FakeBird, sock: &NotifySocket) -> Daemon {
    start_watchdog(fake, sock, true)
}

fn start_watchdog(fake: &FakeBird, sock: &NotifySocket, watchdog: bool) -> Daemon {
    let env = sock.env(watchdog);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Daemon::start_with_env(fake, "", &env)
}

fn ready(sock: &NotifySocket, d: &Daemon, from: usize) -> usize {
    sock.wait_for(from, LONG, |m| m.has("READY=1"))
        .unwrap_or_else(|| {
            panic!(
                "no READY=1 from {from}: {:?}\nlog:\n{}",
                sock.all(),
                d.log()
            )
        })
}

#[test]
fn the_daemon_reports_ready_then_pings_the_watchdog_at_half_its_interval() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let sock = NotifySocket::bind();
    let d = start(&fake, &sock);
    let r = ready(&sock, &d, 0);
    // Four seconds of pings after READY.
    let since = sock.all()[r].at;
    std::thread::sleep(Duration::from_secs(4));
    let pings: Vec<Instant> = sock
        .all()
        .iter()
        .filter(|m| m.has("WATCHDOG=1") && m.at >= since)
        .map(|m| m.at)
        .collect();
    assert!(
        pings.len() >= 2,
        "only {} WATCHDOG=1 in 4 s: {:?}",
        pings.len(),
        sock.all()
    );
    for gap in pings.windows(2).map(|w| w[1] - w[0]) {
        assert!(
            gap >= Duration::from_millis(500) && gap <= Duration::from_secs(2),
            "a watchdog gap of {gap:?} with WATCHDOG_USEC={WATCHDOG_USEC} (want about 1 s)"
        );
    }
}

#[test]
fn the_status_line_carries_the_queue_counts() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let sock = NotifySocket::bind();
    let d = start(&fake, &sock);
    ready(&sock, &d, 0);
    let first = sock
        .wait_for(0, LONG, |m| m.value("STATUS").is_some())
        .expect("a STATUS= line");
    let status = sock.all()[first].value("STATUS").map(str::to_owned);
    assert!(
        status
            .as_deref()
            .is_some_and(|s| s.starts_with("0 scheduled") && !s.contains("sent")),
        "{status:?}"
    );
    d.drop_job("one.toml", &text_job(""));
    assert!(fake.wait_for_blocking(1, LONG), "log:\n{}", d.log());
    // The next status lines count the send that went out.
    let sent = sock.wait_for(first, LONG, |m| {
        m.value("STATUS")
            .is_some_and(|s| s == "0 scheduled, 1 sent")
    });
    assert!(sent.is_some(), "no STATUS with 1 sent: {:?}", sock.all());
}

#[test]
fn without_a_watchdog_the_status_line_still_arrives_and_no_pings_are_sent() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let sock = NotifySocket::bind();
    let d = start_watchdog(&fake, &sock, false);
    ready(&sock, &d, 0);
    let status = sock.wait_for(0, LONG, |m| m.value("STATUS").is_some());
    assert!(status.is_some(), "no STATUS= line: {:?}", sock.all());
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !sock.all().iter().any(|m| m.has("WATCHDOG=1")),
        "WATCHDOG=1 without WATCHDOG_USEC: {:?}",
        sock.all()
    );
}

#[test]
fn sighup_reports_reloading_with_a_monotonic_time_then_ready_again() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let sock = NotifySocket::bind();
    let d = start(&fake, &sock);
    let r = ready(&sock, &d, 0);
    d.signal("HUP");
    let reloading = sock
        .wait_for(r + 1, LONG, |m| m.has("RELOADING=1"))
        .unwrap_or_else(|| panic!("no RELOADING=1: {:?}\nlog:\n{}", sock.all(), d.log()));
    let msg = &sock.all()[reloading];
    let usec: u64 = msg
        .value("MONOTONIC_USEC")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("RELOADING=1 without MONOTONIC_USEC=: {msg:?}"));
    assert!(usec > 0);
    ready(&sock, &d, reloading + 1);
    assert!(d.eventually(LONG, || d.log().contains("config reloaded")));
}

#[test]
fn sigterm_reports_stopping_and_the_daemon_exits_0() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let sock = NotifySocket::bind();
    let mut d = start(&fake, &sock);
    let r = ready(&sock, &d, 0);
    assert_eq!(d.stop(LONG), Some(0), "log:\n{}", d.log());
    assert!(
        sock.wait_for(r + 1, LONG, |m| m.has("STOPPING=1"))
            .is_some(),
        "no STOPPING=1: {:?}",
        sock.all()
    );
}

#[test]
fn the_watchdog_keeps_being_pinged_while_an_operator_holds_the_write_lock() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let sock = NotifySocket::bind();
    let d = start_watchdog(&fake, &sock, true);
    ready(&sock, &d, 0);
    let mut operator = Command::new("sqlite3")
        .arg("-batch")
        .arg(d.database())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the sqlite3 CLI is installed");
    let mut stdin = operator.stdin.take().expect("piped stdin");
    stdin
        .write_all(b".timeout 5000\nBEGIN IMMEDIATE;\nDELETE FROM events WHERE 0;\n")
        .expect("write to sqlite3");
    stdin.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(500));
    // A job makes dispatch need the writer, which now waits for the operator.
    d.drop_job("waits.toml", &text_job(""));
    let from = Instant::now();
    std::thread::sleep(Duration::from_secs(5));
    let pings: Vec<Instant> = sock
        .all()
        .iter()
        .filter(|m| m.has("WATCHDOG=1") && m.at > from)
        .map(|m| m.at)
        .collect();
    let _ = stdin.write_all(b"ROLLBACK;\n.quit\n");
    drop(stdin);
    let _ = operator.wait();
    assert!(
        pings.len() >= 3,
        "only {} watchdog pings in 5 s of a held lock",
        pings.len()
    );
    assert!(
        fake.wait_for_blocking(1, LONG),
        "the job was not sent after the lock was released"
    );
}
