//! The command line: one function per subcommand, each returning an [`Exit`].
//!
//! `main` parses with clap (usage errors exit 2), calls [`run()`], and exits with the code of
//! the [`Exit`] it returns ([`Exit::finish`] writes its message). Output to a closed pipe
//! ends the command quietly. Every subcommand finds its config through
//! [`crate::config::Lookup`].
//!
//! The operator commands (`list`, `show`, `stats`, `cancel`, `retry`) work on the
//! daemon's database while it runs (`migrate` brings it to this msgspool's schema); what they share (finding the database, exit codes) is
//! in `operator`, how they show rows in `format`.

mod cancel;
mod check;
mod contact;
pub mod docs;
mod exit;
mod format;
mod input;
mod list;
mod migrate;
mod operator;
mod retry;
mod run;
mod show;
mod stats;
mod submit;

pub use exit::Exit;

use std::sync::OnceLock;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "msgspool",
    version = version_text(),
    about = "Scheduled WhatsApp messages through Bird's Channels API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check job files offline: every local rule, the payload, the due times.
    Check(check::CheckArgs),
    /// Ask Bird whether a contact's WhatsApp service window is open, and until when.
    Contact(contact::ContactArgs),
    /// Run the daemon: take job files from the spool folder and send them when due.
    Run(run::RunArgs),
    /// List sends, soonest due first (the queue unless --state says otherwise).
    List(list::ListArgs),
    /// Show a job (or one send) with payloads, attempts, Bird's answers and its file.
    Show(show::ShowArgs),
    /// Cancel a job's pending sends, one send, or (with --all) every active job.
    Cancel(cancel::CancelArgs),
    /// Schedule a failed or expired send again (with --all: every one that matches).
    Retry(retry::RetryArgs),
    /// Count sends per state and what finished in the last hour and day.
    Stats(stats::StatsArgs),
    /// Bring the database (SQLite file or PostgreSQL) to this msgspool's schema version.
    Migrate(migrate::MigrateArgs),
    /// Check job files (or a quick --to/--text job) and hand them to the spool atomically.
    ///
    /// Every job is checked first with the daemon's config and rules (as `msgspool check`
    /// does); when any is invalid its errors are printed and nothing is written. Otherwise
    /// each job is written under a dot name in the spool, synced, renamed to ID.toml and
    /// the folder synced, so the daemon sees the whole file or nothing. One line per job
    /// on stdout: its id and first due instant (UTC). Needs only read access to the config
    /// and write access to the spool (group msgspool). Exit status: 0 handed over, 1 a job
    /// is invalid, 2 usage, 75 the spool is not writable, 78 the config is bad.
    Submit(submit::SubmitArgs),
    /// Write the man pages and shell completions (for packaging; docs/ holds a copy).
    #[command(hide = true)]
    GenerateDocs(docs::GenerateDocsArgs),
}

/// Runs the parsed command; returns how it ended.
pub fn run(cli: Cli) -> Exit {
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Contact(args) => contact::run(&args),
        Command::Run(args) => run::run(args),
        Command::List(args) => list::run(&args),
        Command::Show(args) => show::run(&args),
        Command::Cancel(args) => cancel::run(&args),
        Command::Retry(args) => retry::run(&args),
        Command::Stats(args) => stats::run(&args),
        Command::Migrate(args) => migrate::run(&args),
        Command::Submit(args) => submit::run(&args),
        Command::GenerateDocs(args) => docs::run(&args),
    }
}

/// What `msgspool --version` prints after the name: the version, the git commit it was
/// built from (see build.rs) and the database schema version it reads and writes.
pub fn version_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        format!(
            "{} (commit {}, database schema {})",
            env!("CARGO_PKG_VERSION"),
            env!("MSGSPOOL_GIT_COMMIT"),
            crate::store::KNOWN_VERSION
        )
    })
}

/// Parses an RFC 3339 instant given on the command line (`check --now`, `list --due-before`).
fn parse_instant(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 time like 2026-03-28T12:00:00Z: {e}"))
}
