//! A fake Bird Channels API for tests and benchmarks: a real HTTP/1.1 server on
//! `127.0.0.1:<random port>` that answers the two operations msgspool uses.
//!
//! What it owns: its listener, the record of every request it answered, the queue of faults
//! a test asked for, and the contacts a test declared.
//!
//! What it trusts: nothing from the network. Bodies that are not JSON are recorded as
//! `Value::Null`; bad headers count as missing; every message body is checked against
//! `bird/send-message-request.schema.json` (draft 2020-12, formats asserted), compiled once
//! per test binary.
//!
//! What it guarantees, per request, in this order:
//! 1. a request outside the two routes gets 404 `NotFound`;
//! 2. a `POST .../messages` body that is not valid under the schema is recorded as a
//!    [`SchemaViolation`] whatever the answer (tests assert [`FakeBird::schema_violations`]
//!    is empty);
//! 3. a missing or wrong `Authorization: AccessKey <key>` gets 401, then an unknown
//!    workspace or channel gets 404 (`{code, message}` bodies);
//! 4. a persistent status ([`FakeBird::set_persistent_status`]) answers every request that
//!    passed 3; otherwise the next queued [`Fault`] is consumed (one per request, in order);
//! 5. otherwise Bird's normal answer: 422 `InvalidPayload` with `details` keyed by JSON
//!    pointer, or 202 with a message object valid under `bird/message-response.schema.json`
//!    (when `channel_id` is a UUID, as by default); contacts get 200 or 404.
//!
//! Every answer waits [`FakeConfig::latency`] first. Each answered (or dropped) request is
//! recorded once, when it is answered. [`Fault::Drop`] closes the socket without writing a
//! byte, so the client sees an incomplete message, not a status. Dropping the [`FakeBird`]
//! stops the server: it stops accepting, idle connections close, answers in progress finish
//! (within ~2 s for [`FakeBird::start_blocking`], whose runtime then stops).

#![allow(dead_code)] // each test binary uses a different part of the fake

#[path = "fake_bird/messages.rs"]
mod messages;
#[path = "fake_bird/webhooks.rs"]
pub mod webhooks;

#[allow(unused_imports)] // used by the delivery tests only
pub use messages::{Step, StoredMessage};

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

/// How the fake behaves when no fault is queued.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// Expected in `Authorization: AccessKey <access_key>`.
    pub access_key: String,
    /// The only workspace the fake knows.
    pub workspace_id: String,
    /// The only channel the fake knows; a UUID, as Bird's are.
    pub channel_id: String,
    /// Every answer is delayed by this.
    pub latency: Duration,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            access_key: "test-access-key".to_owned(),
            workspace_id: "2f1e9c4a-6b3d-4e8f-9a1c-5d7b2e4f6a8c".to_owned(),
            channel_id: "8c3b5d7e-1f2a-4b6c-8d9e-0a1b2c3d4e5f".to_owned(),
            latency: Duration::ZERO,
        }
    }
}

/// A one-shot misbehaviour, consumed by the next request that passed routing and auth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status with Bird's error body for it (400/404/409: `{code, message}`;
    /// 422: with `details`; 401/403: `{code, message}`; 5xx: `InternalError`).
    Status(u16),
    /// 429, with `Retry-After: N` when `Some(N)`.
    TooManyRequests { retry_after: Option<u64> },
    /// Answer normally, after this delay (on top of the configured latency).
    Slow(Duration),
    /// Read the request, then close the connection without writing any answer.
    Drop,
    /// A redirect (301, 302, 307, 308) to `location`, as a misconfigured proxy answers.
    Redirect { status: u16, location: String },
    /// This status with an HTML page for a body (a captive portal's 200, say).
    Html(u16),
    /// 429 with this exact `Retry-After` header text (huge, zero, an HTTP-date, junk).
    TooManyRequestsRaw(String),
    /// Take the message (recorded as accepted, 202) and then close the connection without
    /// answering: the client cannot know it was accepted.
    AcceptThenDrop,
}

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Arrival order, from 0.
    pub seq: u64,
    /// Wall clock when the request reached the handler (before any delay).
    pub arrived_at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
    /// The request body; `Value::Null` when empty or not JSON.
    pub body: Value,
    /// The status answered; `None` when the connection was dropped ([`Fault::Drop`]);
    /// 202 for [`Fault::AcceptThenDrop`], whose answer never left.
    pub status: Option<u16>,
    /// True when the connection was closed instead of answering ([`Fault::AcceptThenDrop`]).
    pub dropped_after_accept: bool,
    /// The JSON answered; `Value::Null` when dropped.
    pub response: Value,
}

/// A message body that Bird's schema rejects: a bug in the client under test.
#[derive(Clone, Debug)]
pub struct SchemaViolation {
    pub arrived_at: DateTime<Utc>,
    pub path: String,
    pub body: Value,
    /// Error messages by JSON pointer into the body (`""` is the body itself).
    pub details: BTreeMap<String, Vec<String>>,
}

/// A running fake Bird; see the module doc. Stops when dropped.
pub struct FakeBird {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    /// Set by [`FakeBird::start_blocking`]: the thread that owns the fake's runtime.
    runtime_thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeBird {
    /// Starts the fake on the current tokio runtime.
    pub async fn start(cfg: FakeConfig) -> FakeBird {
        let (listener, addr) = bind_loopback();
        let shared = Shared::new(cfg);
        let (shutdown, shutdown_rx) = oneshot::channel();
        tokio::spawn(serve(listener, Arc::clone(&shared), shutdown_rx));
        FakeBird {
            shared,
            addr,
            shutdown: Some(shutdown),
            runtime_thread: None,
        }
    }

    /// Starts the fake on its own multi-thread runtime in a background thread, for plain
    /// `#[test]` functions (e.g. ones that run the msgspool binary). Dropping the fake waits
    /// (at most ~2 s) for that thread to finish.
    pub fn start_blocking(cfg: FakeConfig) -> FakeBird {
        let (listener, addr) = bind_loopback();
        let shared = Shared::new(cfg);
        let (shutdown, shutdown_rx) = oneshot::channel();
        let server_shared = Arc::clone(&shared);
        let runtime_thread = std::thread::Builder::new()
            .name("fake-bird".to_owned())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("fake Bird: build a tokio runtime");
                runtime.block_on(async move {
                    let (stop, stop_rx) = oneshot::channel();
                    let server = tokio::spawn(serve(listener, server_shared, stop_rx));
                    let _ = shutdown_rx.await;
                    let _ = stop.send(());
                    // Answers in progress (a `Slow` fault, say) get a bounded time to
                    // finish; shutting the runtime down cancels whatever is left.
                    let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
                });
                runtime.shutdown_timeout(Duration::from_millis(100));
            })
            .expect("fake Bird: spawn its runtime thread");
        FakeBird {
            shared,
            addr,
            shutdown: Some(shutdown),
            runtime_thread: Some(runtime_thread),
        }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn config(&self) -> &FakeConfig {
        &self.shared.cfg
    }

    /// The path msgspool must POST to for the configured workspace and channel.
    pub fn messages_path(&self) -> String {
        let cfg = &self.shared.cfg;
        format!(
            "/workspaces/{}/channels/{}/messages",
            cfg.workspace_id, cfg.channel_id
        )
    }

    /// Every request answered so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        let mut all = self.shared.log().requests.clone();
        all.sort_by_key(|r| r.seq);
        all
    }

    /// The requests answered 202, in arrival order.
    pub fn accepted(&self) -> Vec<Recorded> {
        let mut accepted: Vec<Recorded> = {
            let log = self.shared.log();
            log.requests
                .iter()
                .filter(|r| r.status == Some(202))
                .cloned()
                .collect()
        };
        accepted.sort_by_key(|r| r.seq);
        accepted
    }

    /// How many requests have been answered 202.
    pub fn accepted_count(&self) -> usize {
        self.shared.log().accepted
    }

    /// Every message body the schema rejected so far.
    pub fn schema_violations(&self) -> Vec<SchemaViolation> {
        self.shared.log().violations.clone()
    }

    /// Waits until at least `n` requests were answered 202; false on timeout.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let mut accepted = self.shared.accepted_tx.subscribe();
        tokio::time::timeout(timeout, accepted.wait_for(|&count| count >= n))
            .await
            .is_ok_and(|changed| changed.is_ok())
    }

    /// [`FakeBird::wait_for`] for plain `#[test]` functions (do not call it on a runtime
    /// that also serves the fake).
    pub fn wait_for_blocking(&self, n: usize, timeout: Duration) -> bool {
        let log = self.shared.log();
        let (log, _) = self
            .shared
            .log_changed
            .wait_timeout_while(log, timeout, |log| log.accepted < n)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        log.accepted >= n
    }

    /// Queues a fault; faults are consumed one per request, in the order pushed.
    pub fn push_fault(&self, fault: Fault) {
        if let Fault::Status(status) = fault {
            assert!(
                StatusCode::from_u16(status).is_ok(),
                "Fault::Status({status}) is not an HTTP status"
            );
        }
        self.shared.control().faults.push_back(fault);
    }

    /// Drops every fault not consumed yet.
    pub fn clear_faults(&self) {
        self.shared.control().faults.clear();
    }

    /// Faults pushed but not consumed yet.
    pub fn pending_faults(&self) -> usize {
        self.shared.control().faults.len()
    }

    /// Every request that passes routing and auth answers `status` until this is called
    /// with `None`. Takes precedence over queued faults, which stay queued.
    pub fn set_persistent_status(&self, status: Option<u16>) {
        if let Some(status) = status {
            assert!(
                StatusCode::from_u16(status).is_ok(),
                "persistent status {status} is not an HTTP status"
            );
        }
        self.shared.control().persistent_status = status;
    }

    /// Declares a contact for `GET .../contacts/{contact_id}`.
    pub fn set_contact(&self, contact_id: &str, service_window_expire_at: Option<String>) {
        self.shared
            .control()
            .contacts
            .insert(contact_id.to_owned(), service_window_expire_at);
    }
}

impl Drop for FakeBird {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.runtime_thread.take() {
            let _ = thread.join();
        }
    }
}

// ---------------------------------------------------------------------------------------
// Shared state. Locks are held only to copy in or out, never across an await.

struct Shared {
    cfg: FakeConfig,
    /// Every message taken, in order (`AcceptThenDrop` and slow answers too).
    messages: Mutex<Vec<messages::Stored>>,
    expected_authorization: String,
    /// Bird's id for the sender connector, constant for one fake.
    connector_id: String,
    next_seq: AtomicU64,
    control: Mutex<Control>,
    log: Mutex<Log>,
    /// Signalled whenever a request is recorded (for `wait_for_blocking`).
    log_changed: Condvar,
    /// The count of 202 answers (for `wait_for`).
    accepted_tx: watch::Sender<usize>,
}

#[derive(Default)]
struct Control {
    faults: VecDeque<Fault>,
    persistent_status: Option<u16>,
    contacts: HashMap<String, Option<String>>,
    /// Listing pages hold at most this many messages (`None`: as many as asked).
    page_size: Option<usize>,
    /// Status timelines by the reference's prefix (first match wins).
    timelines: Vec<(String, Vec<messages::Step>)>,
}

#[derive(Default)]
struct Log {
    requests: Vec<Recorded>,
    violations: Vec<SchemaViolation>,
    accepted: usize,
}

impl Shared {
    fn new(cfg: FakeConfig) -> Arc<Shared> {
        request_schema(); // compile now, so a broken schema fails the test at start
        Arc::new(Shared {
            expected_authorization: format!("AccessKey {}", cfg.access_key),
            cfg,
            messages: Mutex::new(Vec::new()),
            connector_id: uuid::Uuid::new_v4().to_string(),
            next_seq: AtomicU64::new(0),
            control: Mutex::new(Control::default()),
            log: Mutex::new(Log::default()),
            log_changed: Condvar::new(),
            accepted_tx: watch::Sender::new(0),
        })
    }

    // A panic elsewhere while holding a lock leaves plain data behind; keep using it.
    fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, recorded: Recorded) {
        let accepted = {
            let mut log = self.log();
            if recorded.status == Some(202) {
                log.accepted += 1;
            }
            log.requests.push(recorded);
            log.accepted
        };
        self.log_changed.notify_all();
        self.accepted_tx.send_replace(accepted);
    }

    fn record_violation(&self, violation: SchemaViolation) {
        self.log().violations.push(violation);
    }
}

/// Bird's request schema, compiled once per process.
fn request_schema() -> &'static jsonschema::Validator {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = bird_file("send-message-request.schema.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("fake Bird: read {}: {e}", path.display()));
        let schema: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("fake Bird: {} is not JSON: {e}", path.display()));
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("fake Bird: compile {}: {e}", path.display()))
    })
}

/// `<shared>/bird/<name>`: `$CARGO_MANIFEST_DIR/../shared/bird` in the main checkout; the
/// nearest ancestor's `shared/bird` from a worktree nested deeper.
pub fn bird_file(name: &str) -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("shared/bird").join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "fake Bird: no shared/bird/{name} above {}",
                manifest_dir.display()
            )
        })
}

// ---------------------------------------------------------------------------------------
// The server.

fn bind_loopback() -> (std::net::TcpListener, SocketAddr) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("fake Bird: bind 127.0.0.1:0");
    listener
        .set_nonblocking(true)
        .expect("fake Bird: make the listener non-blocking");
    let addr = listener
        .local_addr()
        .expect("fake Bird: read its own address");
    (listener, addr)
}

async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    shutdown: oneshot::Receiver<()>,
) {
    let listener = TcpListener::from_std(listener).expect("fake Bird: register the listener");
    let app = Router::new().fallback(handle).with_state(shared);
    let served = axum::serve(
        DroppableListener(listener),
        app.into_make_service_with_connect_info::<ConnectionHandle>(),
    )
    .with_graceful_shutdown(async {
        let _ = shutdown.await;
    })
    .await;
    if let Err(e) = served {
        eprintln!("fake Bird: server stopped: {e}");
    }
}

/// Where a request is going, once the path is understood.
enum Route {
    Messages {
        workspace: String,
        channel: String,
    },
    /// `GET .../messages`: the channel's messages, oldest first, paged.
    List {
        workspace: String,
        channel: String,
    },
    /// `GET .../messages/{id}`.
    Message {
        workspace: String,
        channel: String,
        id: String,
    },
    Contact {
        workspace: String,
        channel: String,
        contact: String,
    },
}

impl Route {
    fn parse(method: &Method, path: &str) -> Option<Route> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (method, parts.as_slice()) {
            (&Method::POST, ["workspaces", w, "channels", c, "messages"]) => {
                Some(Route::Messages {
                    workspace: (*w).to_owned(),
                    channel: (*c).to_owned(),
                })
            }
            (&Method::GET, ["workspaces", w, "channels", c, "messages"]) => Some(Route::List {
                workspace: (*w).to_owned(),
                channel: (*c).to_owned(),
            }),
            (&Method::GET, ["workspaces", w, "channels", c, "messages", id]) => {
                Some(Route::Message {
                    workspace: (*w).to_owned(),
                    channel: (*c).to_owned(),
                    id: (*id).to_owned(),
                })
            }
            (&Method::GET, ["workspaces", w, "channels", c, "contacts", id]) => {
                Some(Route::Contact {
                    workspace: (*w).to_owned(),
                    channel: (*c).to_owned(),
                    contact: (*id).to_owned(),
                })
            }
            _ => None,
        }
    }

    fn ids(&self) -> (&str, &str) {
        match self {
            Route::Messages { workspace, channel }
            | Route::List { workspace, channel }
            | Route::Message {
                workspace, channel, ..
            }
            | Route::Contact {
                workspace, channel, ..
            } => (workspace, channel),
        }
    }
}

/// What the handler decided to do.
enum Outcome {
    Answer(Answer),
    Drop,
    /// Accepted with this message, then the connection is dropped.
    AcceptThenDrop(Value),
}

struct Answer {
    status: u16,
    body: Value,
    retry_after: Option<u64>,
    /// Extra headers, e.g. `Location` or a raw `Retry-After`.
    headers: Vec<(header::HeaderName, String)>,
    /// Answer this text as `text/html` instead of `body` as JSON.
    html: Option<String>,
}

impl Answer {
    fn json(status: u16, body: Value) -> Outcome {
        Outcome::Answer(Answer {
            status,
            body,
            retry_after: None,
            headers: Vec::new(),
            html: None,
        })
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<ConnectionHandle>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    raw_body: Bytes,
) -> Response {
    let arrived_at = Utc::now();
    let seq = shared.next_seq.fetch_add(1, Ordering::Relaxed);
    let path = uri.path().to_owned();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let parsed: Result<Value, String> = if raw_body.is_empty() {
        Err("the body is empty".to_owned())
    } else {
        serde_json::from_slice(&raw_body).map_err(|e| format!("the body is not JSON: {e}"))
    };
    let route = Route::parse(&method, &path);

    let mut delay = shared.cfg.latency;
    let body_errors = match &route {
        Some(Route::Messages { .. }) => check_message_body(&parsed),
        _ => None,
    };
    if let Some(details) = &body_errors {
        shared.record_violation(SchemaViolation {
            arrived_at,
            path: path.clone(),
            body: parsed.clone().unwrap_or(Value::Null),
            details: details.clone(),
        });
    }
    let body = parsed.unwrap_or(Value::Null);

    let outcome = decide(
        &shared,
        route.as_ref(),
        (authorization.as_deref(), uri.query()),
        &body,
        body_errors,
        &mut delay,
    );
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (status, response) = match &outcome {
        Outcome::Answer(a) => (Some(a.status), a.body.clone()),
        Outcome::Drop => (None, Value::Null),
        Outcome::AcceptThenDrop(message) => (Some(202), message.clone()),
    };
    shared.record(Recorded {
        seq,
        arrived_at,
        method: method.to_string(),
        path,
        query: uri.query().map(str::to_owned),
        authorization,
        body,
        status,
        response,
        dropped_after_accept: matches!(outcome, Outcome::AcceptThenDrop(_)),
    });
    match outcome {
        Outcome::Answer(answer) => into_response(answer),
        Outcome::Drop | Outcome::AcceptThenDrop(_) => {
            // Hyper's next write on this connection fails, so it closes the socket without
            // writing this (or any) response.
            connection.drop_now();
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Steps 3 to 5 of the module doc. Adds a `Slow` fault's time to `delay`.
fn decide(
    shared: &Shared,
    route: Option<&Route>,
    (authorization, query): (Option<&str>, Option<&str>),
    body: &Value,
    body_errors: Option<BTreeMap<String, Vec<String>>>,
    delay: &mut Duration,
) -> Outcome {
    let Some(route) = route else {
        return Answer::json(404, error_body("NotFound", "no such operation", None));
    };
    if authorization != Some(shared.expected_authorization.as_str()) {
        return Answer::json(
            401,
            error_body("Unauthorized", "missing or invalid access key", None),
        );
    }
    let cfg = &shared.cfg;
    if route.ids() != (cfg.workspace_id.as_str(), cfg.channel_id.as_str()) {
        return Answer::json(
            404,
            error_body(
                "NotFound",
                "The requested resource does not exist: channel not found",
                None,
            ),
        );
    }
    let (fault, contact) = {
        let mut control = shared.control();
        let fault = match control.persistent_status {
            Some(status) => Some(Fault::Status(status)),
            None => control.faults.pop_front(),
        };
        let contact = match route {
            Route::Contact { contact, .. } => Some(control.contacts.get(contact).cloned()),
            Route::Messages { .. } | Route::List { .. } | Route::Message { .. } => None,
        };
        (fault, contact)
    };
    match fault {
        Some(Fault::Status(status)) => return status_answer(status),
        Some(Fault::TooManyRequests { retry_after }) => {
            return Outcome::Answer(Answer {
                status: 429,
                body: error_body("TooManyRequests", "rate limit exceeded", None),
                retry_after,
                headers: Vec::new(),
                html: None,
            });
        }
        Some(Fault::TooManyRequestsRaw(text)) => {
            return Outcome::Answer(Answer {
                status: 429,
                body: error_body("TooManyRequests", "rate limit exceeded", None),
                retry_after: None,
                headers: vec![(header::RETRY_AFTER, text)],
                html: None,
            });
        }
        Some(Fault::Redirect { status, location }) => {
            return Outcome::Answer(Answer {
                status,
                body: Value::Null,
                retry_after: None,
                headers: vec![(header::LOCATION, location)],
                html: Some(String::new()),
            });
        }
        Some(Fault::Html(status)) => {
            return Outcome::Answer(Answer {
                status,
                body: Value::Null,
                retry_after: None,
                headers: Vec::new(),
                html: Some("<!doctype html><html><body><h1>Welcome</h1></body></html>".to_owned()),
            });
        }
        Some(Fault::AcceptThenDrop) => {
            if let (Route::Messages { .. }, None) = (route, &body_errors) {
                return Outcome::AcceptThenDrop(
                    shared.store_message(accepted_message(shared, body)),
                );
            }
        }
        Some(Fault::Drop) => return Outcome::Drop,
        Some(Fault::Slow(extra)) => *delay += extra,
        None => {}
    }
    match route {
        Route::Contact { .. } => match contact.flatten() {
            // Known contact: its service window, which may be null.
            Some(window) => Answer::json(
                200,
                json!({"serviceWindowExpireAt": window, "isPermanentSession": false}),
            ),
            None => Answer::json(
                404,
                error_body(
                    "NotFound",
                    "The requested resource does not exist: contact not found",
                    None,
                ),
            ),
        },
        Route::Messages { .. } => match body_errors {
            Some(details) => Answer::json(
                422,
                error_body(
                    "InvalidPayload",
                    "the request did not pass validation",
                    Some(details),
                ),
            ),
            None => Answer::json(202, shared.store_message(accepted_message(shared, body))),
        },
        Route::List { .. } => shared.list(query.unwrap_or("")),
        Route::Message { id, .. } => shared.message(id),
    }
}

/// The schema's complaints about a message body by JSON pointer, or `None` when valid.
fn check_message_body(parsed: &Result<Value, String>) -> Option<BTreeMap<String, Vec<String>>> {
    let body = match parsed {
        Ok(body) => body,
        Err(why) => return Some(BTreeMap::from([(String::new(), vec![why.clone()])])),
    };
    let schema = request_schema();
    if schema.is_valid(body) {
        return None;
    }
    let mut details: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for error in schema.iter_errors(body) {
        for (pointer, message) in specific_errors(&error) {
            let messages = details.entry(pointer).or_default();
            if !messages.contains(&message) {
                messages.push(message);
            }
        }
    }
    Some(details)
}

/// `(pointer, message)` pairs for one schema error. "Not valid under any of anyOf/oneOf"
/// says little, so it is replaced by the errors of its most plausible branch(es): those
/// reaching deepest into the body, then with the fewest errors. More than three equally
/// plausible branches keep the general message.
fn specific_errors(error: &jsonschema::ValidationError<'_>) -> Vec<(String, String)> {
    use jsonschema::error::ValidationErrorKind;
    let general = || vec![(error.instance_path().to_string(), error.to_string())];
    let branches = match error.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            context
        }
        _ => return general(),
    };
    let expanded: Vec<Vec<(String, String)>> = branches
        .iter()
        .map(|branch| branch.iter().flat_map(specific_errors).collect())
        .filter(|errors: &Vec<(String, String)>| !errors.is_empty())
        .collect();
    // Higher is more plausible: deepest pointer first, then fewest errors.
    let plausibility = |errors: &Vec<(String, String)>| {
        let depth = errors.iter().map(|(p, _)| p.matches('/').count()).max();
        (depth, std::cmp::Reverse(errors.len()))
    };
    let Some(best) = expanded.iter().map(plausibility).max() else {
        return general();
    };
    let chosen: Vec<&Vec<(String, String)>> = expanded
        .iter()
        .filter(|errors| plausibility(errors) == best)
        .collect();
    if chosen.len() > 3 {
        return general();
    }
    chosen.into_iter().flatten().cloned().collect()
}

/// Bird's answer for an injected status.
fn status_answer(status: u16) -> Outcome {
    let (code, message, details) = match status {
        400 => ("BadRequest", "the request is malformed", None),
        401 => ("Unauthorized", "missing or invalid access key", None),
        403 => ("Forbidden", "the access key may not use this channel", None),
        404 => (
            "NotFound",
            "The requested resource does not exist: channel not found",
            None,
        ),
        409 => ("Conflict", "conflicting conditions", None),
        422 => (
            "InvalidPayload",
            "the request did not pass validation",
            Some(BTreeMap::from([(
                "/receiver/contacts/0/identifierValue".to_owned(),
                vec!["is not a valid phone number".to_owned()],
            )])),
        ),
        429 => ("TooManyRequests", "rate limit exceeded", None),
        500..=599 => ("InternalError", "something went wrong", None),
        _ => ("RequestError", "the request failed", None),
    };
    Answer::json(status, error_body(code, message, details))
}

fn error_body(code: &str, message: &str, details: Option<BTreeMap<String, Vec<String>>>) -> Value {
    match details {
        Some(details) => json!({"code": code, "message": message, "details": details}),
        None => json!({"code": code, "message": message}),
    }
}

/// The 202 message object for a valid request body.
fn accepted_message(shared: &Shared, request: &Value) -> Value {
    const DEFAULT_SENDER: &str = "+15550100000";
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let sender = request
        .pointer("/sender/connector/identifierValue")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_SENDER);
    // Bird answers with the contacts it resolved; each gets an id if it had none.
    let contacts: Vec<Value> = request
        .pointer("/receiver/contacts")
        .and_then(Value::as_array)
        .map(|contacts| {
            contacts
                .iter()
                .map(|contact| {
                    let mut contact = contact.clone();
                    if let Some(fields) = contact.as_object_mut() {
                        fields
                            .entry("id")
                            .or_insert_with(|| Value::String(uuid::Uuid::new_v4().to_string()));
                    }
                    contact
                })
                .collect()
        })
        .unwrap_or_default();
    let scheduled = request.get("scheduledFor").is_some();
    let mut message = json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "channelId": shared.cfg.channel_id,
        "sender": {"connector": {"id": shared.connector_id, "identifierValue": sender}},
        "receiver": {"contacts": contacts},
        "status": if scheduled { "scheduled" } else { "accepted" },
        "direction": "outgoing",
        "lastStatusAt": now,
        "createdAt": now,
        "updatedAt": now,
    });
    if let (Some(fields), Some(request)) = (message.as_object_mut(), request.as_object()) {
        for key in ["reference", "body", "template", "scheduledFor"] {
            if let Some(value) = request.get(key) {
                fields.insert(key.to_owned(), value.clone());
            }
        }
        // Bird lower-cases tags.
        if let Some(tags) = request.get("tags").and_then(Value::as_array) {
            let tags: Vec<Value> = tags
                .iter()
                .filter_map(Value::as_str)
                .map(|tag| Value::String(tag.to_lowercase()))
                .collect();
            fields.insert("tags".to_owned(), Value::Array(tags));
        }
    }
    message
}

fn into_response(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match answer.html {
        Some(page) => (status, axum::response::Html(page)).into_response(),
        None => (status, axum::Json(answer.body)).into_response(),
    };
    if let Some(seconds) = answer.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

// ---------------------------------------------------------------------------------------
// Dropping a connection from inside a handler: every accepted stream carries a switch the
// handler can reach through `ConnectInfo`; once thrown, reads and writes fail, so hyper
// gives up on the connection and closes the socket without answering.

struct DroppableListener(TcpListener);

impl Listener for DroppableListener {
    type Io = DroppableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    let stream = DroppableStream {
                        inner: stream,
                        handle: ConnectionHandle(Arc::new(AtomicBool::new(false))),
                    };
                    return (stream, addr);
                }
                // Out of file descriptors and the like: let some connections finish.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// The switch that drops one connection.
#[derive(Clone)]
struct ConnectionHandle(Arc<AtomicBool>);

impl ConnectionHandle {
    fn drop_now(&self) {
        self.0.store(true, Ordering::Release);
    }

    fn dropped(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

impl Connected<IncomingStream<'_, DroppableListener>> for ConnectionHandle {
    fn connect_info(stream: IncomingStream<'_, DroppableListener>) -> Self {
        stream.io().handle.clone()
    }
}

struct DroppableStream {
    inner: TcpStream,
    handle: ConnectionHandle,
}

fn dropped_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "fake Bird: Fault::Drop")
}

impl AsyncRead for DroppableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.handle.dropped() {
            return Poll::Ready(Err(dropped_error()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for DroppableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.handle.dropped() {
            return Poll::Ready(Err(dropped_error()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.handle.dropped() {
            return Poll::Ready(Err(dropped_error()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.handle.dropped() {
            return Poll::Ready(Err(dropped_error()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
