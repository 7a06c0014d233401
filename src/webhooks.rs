//! The optional HTTP listener (`[webhooks] listen`): Bird's `whatsapp.outbound` and
//! `whatsapp.interaction` events, `GET /healthz` and `GET /metrics`.
//!
//! Owns the routes and the answers: a POST to any other path is an event; a missing or
//! wrong `messagebird-signature` is 401 before the body is even read as JSON, a body that
//! is not an event 400, an event for a message msgspool does not know 200 (logged, not
//! stored), a known one 200 once stored, a store failure 503 (Bird retries). Trusts
//! [`signature`] for the check, [`event`] for the reading, and the store, whose statuses
//! only move forward, for idempotency: Bird retries for hours with the original
//! timestamp, so no freshness window is applied and a replay changes nothing. Guarantees:
//! nothing is written for a request whose signature does not verify; the key is never
//! logged.

pub mod event;
pub mod metrics;
pub mod signature;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{SigningKey, WebhooksConfig};
use crate::store::Store;
use event::Event;

/// What every request needs.
struct Listener {
    store: Store,
    public_url: String,
    key: SigningKey,
}

/// Binds `cfg.listen` now (so a taken port stops the start-up), and returns the task that
/// serves until `stop` turns true.
pub async fn bind(
    cfg: &WebhooksConfig,
    key: SigningKey,
    store: Store,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<impl Future<Output = ()> + use<>> {
    let socket = TcpListener::bind(cfg.listen).await?;
    let state = Arc::new(Listener {
        store,
        public_url: cfg.public_url.clone(),
        key,
    });
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(serve_metrics))
        .fallback(receive)
        .with_state(state);
    tracing::info!(listen = %cfg.listen, "listening for Bird's webhooks, /healthz and /metrics");
    Ok(async move {
        let stopped = async move {
            while !*stop.borrow() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
        };
        if let Err(e) = axum::serve(socket, app)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::error!(error = %e, "the webhook listener stopped");
        }
    })
}

async fn serve_metrics(State(state): State<Arc<Listener>>) -> Response {
    match metrics::render(&state.store).await {
        Ok(text) => ([("content-type", "text/plain; version=0.0.4")], text).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the store for /metrics");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

async fn receive(
    State(state): State<Arc<Listener>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if method != Method::POST {
        return StatusCode::NOT_FOUND;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = match (
        header("messagebird-signature"),
        header("messagebird-request-timestamp"),
    ) {
        (Some(sig), Some(ts)) => signature::verify(&state.key, ts, &state.public_url, &body, sig),
        (None, _) | (_, None) => false,
    };
    if !signed {
        tracing::warn!("a webhook without a valid messagebird-signature was refused");
        return StatusCode::UNAUTHORIZED;
    }
    let (message_id, update) = match event::parse(&body, Utc::now()) {
        Ok(Event::Status { message_id, update }) => (message_id, update),
        Ok(Event::Ignored(what)) => {
            tracing::debug!(%what, "a webhook msgspool does not follow");
            return StatusCode::OK;
        }
        Err(e) => {
            tracing::warn!(error = %e, "a signed webhook body could not be read");
            return StatusCode::BAD_REQUEST;
        }
    };
    let send_id = match state.store.send_by_bird_id(message_id.clone()).await {
        Ok(Some(id)) => id,
        Ok(None) => {
            tracing::info!(bird_id = %message_id, status = %update.status.as_str(), "a webhook for a message msgspool did not send; not stored");
            return StatusCode::OK;
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot look a webhook's message up");
            return StatusCode::SERVICE_UNAVAILABLE;
        }
    };
    match state
        .store
        .record_delivery(send_id, update, Utc::now())
        .await
    {
        Ok(_) => StatusCode::OK,
        Err(e) => {
            tracing::warn!(send = send_id, error = %e, "cannot store a webhook's status");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}
