//! `LISTEN msgspool_due`: another daemon's intake (or an operator's retry) stored sends;
//! dispatch is poked so it looks at the next due time now rather than within a second.
//!
//! Owns: one connection of its own (not from the pool: a pooled connection is handed to
//! others, and LISTEN belongs to a session). Trusts: the writers to `pg_notify` in the
//! transaction that stores a due send (PostgreSQL delivers it at commit). Guarantees: a
//! dropped connection is opened again after a wait that doubles up to [`MAX_BACKOFF`];
//! after each (re)connection dispatch is poked once, for what was stored while nobody
//! listened. Missing notifications cost at most the dispatcher's one-second poll, which
//! stays the fallback. The task ends once nobody else holds the waker (the daemon is gone).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Notify;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{AsyncMessage, Socket};

use super::PgStore;

/// The channel every writer of a due send notifies.
pub(super) const CHANNEL: &str = "msgspool_due";

/// The first wait before connecting again.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// The longest wait before connecting again.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Starts listening on a connection of its own (not pooled), reconnecting when it drops.
pub(super) fn spawn(store: &PgStore, waker: Arc<Notify>) {
    let store = store.clone();
    tokio::spawn(async move {
        let mut backoff = FIRST_BACKOFF;
        // Only this task holds the waker once the daemon is gone.
        while Arc::strong_count(&waker) > 1 && store.alive() {
            let ended = if store.target().wants_tls() {
                match super::tls_config() {
                    Ok(tls) => {
                        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls);
                        listen(&store, tls, &waker, &mut backoff).await
                    }
                    Err(e) => Err(e),
                }
            } else {
                listen(&store, tokio_postgres::NoTls, &waker, &mut backoff).await
            };
            if let Err(e) = ended {
                tracing::warn!(error = %e, retry_in = %crate::duration::format_duration(backoff), "lost the LISTEN connection for new sends; dispatch polls every second meanwhile");
            }
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2).min(MAX_BACKOFF);
        }
    });
}

/// Connects, listens and pokes `waker` on each notification, until the connection ends.
/// `backoff` goes back to its first value once listening works.
async fn listen<T>(
    store: &PgStore,
    tls: T,
    waker: &Arc<Notify>,
    backoff: &mut Duration,
) -> Result<(), String>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: AsyncRead + AsyncWrite + Unpin,
    T::TlsConnect: TlsConnect<Socket>,
{
    let (client, mut connection) = store
        .target()
        .config()
        .connect(tls)
        .await
        .map_err(|e| e.to_string())?;
    let command = format!("LISTEN {CHANNEL}");
    let subscribe = client.batch_execute(&command);
    tokio::pin!(subscribe);
    let mut listening = false;
    // A bounded idle check: the waker's other holders may all be gone.
    let mut idle = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            done = &mut subscribe, if !listening => {
                done.map_err(|e| e.to_string())?;
                listening = true;
                *backoff = FIRST_BACKOFF;
                // Whatever was stored while nobody listened.
                waker.notify_one();
            }
            message = std::future::poll_fn(|cx| connection.poll_message(cx)) => match message {
                Some(Ok(AsyncMessage::Notification(_))) => waker.notify_one(),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("the server closed the connection".to_owned()),
            },
            _ = idle.tick() => {
                if Arc::strong_count(waker) <= 1 || !store.alive() {
                    return Ok(());
                }
            }
        }
    }
}
