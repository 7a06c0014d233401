//! Telling systemd how msgspool is doing, without ever blocking a runtime thread.
//!
//! Owns: one non-blocking datagram socket connected to `NOTIFY_SOCKET` (a path, or an
//! abstract name starting with `@`), the watchdog ping and the `STATUS=` line.
//!
//! Trusts: nothing of the receiver: it may read slowly or not at all, and its queue
//! (`net.unix.max_dgram_qlen`) may be full. Guarantees: a send never waits. When the queue
//! is full, a `STATUS=` or `WATCHDOG=` message is dropped (the next one says the same);
//! `READY=`, `RELOADING=` and `STOPPING=` are retried on a thread of their own, off the
//! async runtime, for a bounded time.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::os::unix::net::UnixDatagram;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sd_notify::NotifyState;

use crate::store::{SendState, Store};

/// How long a state change (READY, STOPPING) keeps being retried against a full queue.
const RETRY_FOR: Duration = Duration::from_secs(30);
const RETRY_EVERY: Duration = Duration::from_millis(20);

/// How often the STATUS= line is refreshed when systemd asked for no watchdog.
const STATUS_EVERY: Duration = Duration::from_secs(15);

/// The socket, opened on first use; `None` outside systemd or when it cannot be opened.
fn socket() -> Option<&'static UnixDatagram> {
    static SOCKET: OnceLock<Option<UnixDatagram>> = OnceLock::new();
    SOCKET
        .get_or_init(|| {
            let path = std::env::var_os("NOTIFY_SOCKET")?;
            let sock = UnixDatagram::unbound().ok()?;
            let bytes = path.as_encoded_bytes();
            let connected = match bytes.strip_prefix(b"@") {
                Some(name) => {
                    use std::os::linux::net::SocketAddrExt;
                    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name).ok()?;
                    sock.connect_addr(&addr)
                }
                None => sock.connect(&path),
            };
            if let Err(e) = connected {
                tracing::warn!(error = %e, "cannot reach systemd's NOTIFY_SOCKET; no notifications");
                return None;
            }
            sock.set_nonblocking(true).ok()?;
            Some(sock)
        })
        .as_ref()
}

fn text(states: &[NotifyState]) -> String {
    states.iter().map(|s| format!("{s}\n")).collect()
}

/// Whether a message was handed to the kernel (false: dropped, or no socket).
fn try_send(message: &str) -> bool {
    let Some(sock) = socket() else {
        return false;
    };
    match sock.send(message.as_bytes()) {
        Ok(_) => true,
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        Err(e) => {
            tracing::debug!(error = %e, "a notification to systemd failed");
            false
        }
    }
}

/// Sends `STATUS=` / `WATCHDOG=` now, or drops it when the receiver's queue is full.
pub fn notify_droppable(states: &[NotifyState]) {
    if !try_send(&text(states)) {
        tracing::trace!("systemd's notification queue is full: a status message was dropped");
    }
}

/// Sends a state change (`READY=1`, `STOPPING=1`, `RELOADING=1`); when the queue is full
/// it is retried on its own thread for up to [`RETRY_FOR`], never on the runtime.
pub fn notify_state(states: &[NotifyState]) {
    if socket().is_none() {
        return;
    }
    let message = text(states);
    if try_send(&message) {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("msgspool-notify".to_owned())
        .spawn(move || {
            let deadline = Instant::now() + RETRY_FOR;
            while Instant::now() < deadline {
                std::thread::sleep(RETRY_EVERY);
                if try_send(&message) {
                    return;
                }
            }
            tracing::warn!(
                message = message.trim(),
                "systemd never read a state change (NOTIFY_SOCKET queue full)"
            );
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start a thread to retry a notification");
    }
}

/// Proof of life for systemd's watchdog, sent from the dispatch loop itself at half the
/// interval (a stuck loop stops the pings), with a STATUS= line of queue counts. Under
/// systemd without a watchdog, only the STATUS= line, every [`STATUS_EVERY`].
pub fn watchdog_heartbeat(store: Store) -> Arc<dyn Fn() + Send + Sync> {
    let watchdog = sd_notify::watchdog_enabled();
    if watchdog.is_none() && std::env::var_os("NOTIFY_SOCKET").is_none() {
        return Arc::new(|| {});
    }
    let every = watchdog.map_or(STATUS_EVERY, |interval| interval / 2);
    // `None` until the first ping, which goes out on the first call.
    let last: Mutex<Option<Instant>> = Mutex::new(None);
    // One STATUS= query at a time: a slow database must not pile them up.
    let querying = Arc::new(std::sync::atomic::AtomicBool::new(false));
    Arc::new(move || {
        let mut last = last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < every) {
            return;
        }
        *last = Some(Instant::now());
        if watchdog.is_some() {
            notify_droppable(&[NotifyState::Watchdog]);
        }
        if querying.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return;
        }
        let store = store.clone();
        let querying = querying.clone();
        tokio::spawn(async move {
            if let Ok(counts) = store.send_states().await {
                notify_droppable(&[NotifyState::Status(&status_line(&counts))]);
            }
            querying.store(false, std::sync::atomic::Ordering::Release);
        });
    })
}

/// The STATUS= text, e.g. `12 scheduled, 340 sent, 1 failed`: counts in the order a send
/// moves through its states, leaving out states that have none, except `scheduled` (the
/// queue's length, so the line is never empty).
pub fn status_line(counts: &BTreeMap<SendState, i64>) -> String {
    SendState::ALL
        .iter()
        .map(|&state| (state, counts.get(&state).copied().unwrap_or(0)))
        .filter(|&(state, n)| n != 0 || state == SendState::Scheduled)
        .map(|(state, n)| format!("{n} {}", state.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_lists_states_in_lifecycle_order_without_empty_ones() {
        let counts = |pairs: &[(&str, i64)]| -> BTreeMap<SendState, i64> {
            pairs
                .iter()
                .map(|(s, n)| (SendState::from_word(s).unwrap(), *n))
                .collect()
        };
        let all = counts(&[
            ("canceled", 0),
            ("expired", 0),
            ("failed", 1),
            ("scheduled", 12),
            ("sending", 0),
            ("sent", 340),
        ]);
        assert_eq!(status_line(&all), "12 scheduled, 340 sent, 1 failed");
        assert_eq!(status_line(&counts(&[("sent", 0)])), "0 scheduled");
        let busy = counts(&[("sending", 3), ("canceled", 2), ("scheduled", 0)]);
        assert_eq!(status_line(&busy), "0 scheduled, 3 sending, 2 canceled");
    }
}
