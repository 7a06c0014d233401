//! msgspool: a spool-folder daemon that sends scheduled WhatsApp messages through Bird's
//! Channels API.
//!
//! A job flows through the modules in this order:
//!
//! - [`spool`] watches the spool folder and reads each `*.toml` job file;
//! - [`job`] parses it (Bird's `CreateMessage` fields plus daemon keys), applies every
//!   local rule, and builds the exact JSON body Bird will receive;
//! - [`store`] commits the job and its sends to SQLite (all SQL lives there, one writer
//!   thread with group commit);
//! - [`dispatch`] sleeps until the next due send, claims it, and hands it to
//! - [`bird`], the HTTP client for Bird's API, then records the outcome and retries;
//! - [`daemon`] wires these together with signals and systemd; [`cli`] holds one function
//!   per subcommand.
//!
//! Supporting pieces: [`plan`] (every due time: first due, expiry, quiet-hours deferral,
//! cron occurrences and catch-up; pure, clock passed in), [`quiet`] (the quiet-window
//! math plan uses), [`bounds`] (storable instants), [`config`] (the daemon's TOML config),
//! [`duration`] (`90s`, `10m`, ...),
//! [`timefmt`] (the UTC text timestamps the database and CLI show).

pub mod bird;
pub mod bounds;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod dispatch;
pub mod duration;
pub mod job;
pub mod plan;
pub mod quiet;
pub mod spool;
pub mod store;
pub mod timefmt;
