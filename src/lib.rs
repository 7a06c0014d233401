//! msgspool: a spool-folder daemon that sends scheduled WhatsApp messages through Bird's
//! Channels API.
//!
//! A job flows through the modules in this order:
//!
//! - [`spool`] watches the spool folder and takes each `*.toml` job file in: [`spool::scan`]
//!   lists it, [`spool::settle`] waits until it stops changing, [`spool::read`] reads it
//!   safely (no symlinks, bounded size), [`spool::plan`] turns the checked job into the rows
//!   to commit (times from [`plan`]), [`spool::reject`] moves a bad
//!   file to `rejected/` with its `.err` and `.err.json`, [`spool::fsops`] holds the
//!   renames and syncs;
//! - [`job`] parses it ([`job::model`]: Bird's `CreateMessage` fields plus daemon keys;
//!   [`job::locate`]: field paths to lines), applies every local rule ([`job::rules`]),
//!   reports problems ([`job::diagnostic`]: human and JSON) and builds the exact JSON body
//!   Bird will receive ([`job::payload`]);
//! - [`store`] commits the job and its sends: one interface, [`store::Backend`], held
//!   through [`store::Store`], with SQLite ([`store::SqliteStore`]: one writer thread with
//!   group commit, numbered migrations) its one backend; all SQL lives there, by table
//!   (jobs, sends, attempts, events, rejections) and every state word in one list;
//! - [`dispatch`] sleeps until the next due send, claims it, and hands it to
//! - [`bird`], the HTTP client for Bird's API; [`dispatch::decide`] decides what to do with
//!   a claimed send before its request, [`dispatch::outcome`] decides from Bird's
//!   answer, [`dispatch::backoff`] and [`dispatch::rate`] pace retries and requests,
//!   [`dispatch::timer`] claims ahead and fires on the instant, [`dispatch::window`] sizes
//!   the requests in flight,
//!   [`dispatch::recurring`] gives a cron job its next occurrence, [`dispatch::transport`]
//!   is the seam between a real and a dry run; `dispatch/reconcile.rs` searches Bird's
//!   listing before a send whose outcome is unknown is posted again, within the
//!   workspace's GET budget ([`dispatch::GetBudget`]);
//! - [`delivery`] follows each sent message afterwards: [`delivery::poll`] looks it up at
//!   Bird on a backoff schedule within the same budget until a final
//!   [`store::DeliveryStatus`] (the stored words, which only move forward);
//! - [`webhooks`] is the optional HTTP listener (`[webhooks] listen`): Bird's signed
//!   delivery events ([`webhooks::signature`] checks, [`webhooks::event`] reads them, the
//!   store records them like a poll), `/healthz` and Prometheus `/metrics`
//!   ([`webhooks::metrics`]);
//! - [`daemon`] wires these together with signals, locks, reload and systemd; [`cli`] holds
//!   one function per subcommand, each ending in one [`cli::Exit`].
//!
//! Supporting pieces: [`plan`] (every due time: first due, expiry, quiet-hours deferral,
//! cron occurrences and catch-up; pure, clock passed in), [`quiet`] (the quiet-window math
//! plan uses), [`bounds`] (the instants and spans the database can store, checked
//! arithmetic), [`config`] (the daemon's TOML config and the one config lookup every
//! subcommand uses, [`config::Lookup`]), [`duration`] (`90s`, `10m`, ...), [`timefmt`] (the
//! UTC text timestamps the database and CLI show).

pub mod bird;
pub mod bounds;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod delivery;
pub mod dispatch;
pub mod duration;
pub mod job;
pub mod plan;
pub mod quiet;
pub mod spool;
pub mod store;
pub mod timefmt;
pub mod webhooks;
