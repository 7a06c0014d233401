//! The command line: one function per subcommand, each returning the process exit code.
//!
//! `main` parses with clap (usage errors exit 2), calls [`run`], and exits with what it
//! returns. Output to a closed pipe ends the command quietly.

mod check;
mod contact;
mod run;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "msgspool",
    version,
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
}

/// Runs the parsed command; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Contact(args) => contact::run(&args),
        Command::Run(args) => run::run(args),
    }
}

/// Loads `--config FILE`, or the built-in config when none is given.
pub fn load_config(
    path: Option<&PathBuf>,
) -> Result<crate::config::Config, crate::config::ConfigError> {
    match path {
        Some(p) => crate::config::Config::load(p),
        None => Ok(crate::config::Config::builtin()),
    }
}
