//! How every subcommand ends: one [`Exit`] (DESIGN.md §8: 0 done, 1 refused or not found,
//! 2 usage, 75 busy, 78 config), the one place its message reaches stderr, and the one
//! async runtime builder the CLI uses.
//!
//! Owns the exit codes. Guarantees a closed stdout (`msgspool list | head -1`) ends a
//! command quietly with 0, and a closed stderr never turns an exit code into a panic.

use std::future::Future;
use std::io::Write;

use crate::config::ConfigError;
use crate::store::StoreError;

/// How a subcommand ended. The message (possibly several lines, possibly empty when the
/// command already reported on stderr) is written as given.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    /// Done (also when the reader of stdout went away): exit 0.
    Done,
    /// Refused, invalid, not found or failed: exit 1.
    Refused(String),
    /// A usage error: exit 2.
    Usage(String),
    /// Busy: another daemon holds the database or spool, or the spool is not writable
    /// (EX_TEMPFAIL, 75).
    Busy(String),
    /// A bad or unreadable config (EX_CONFIG, 78).
    Config(String),
}

impl Exit {
    /// The process exit code.
    pub fn code(&self) -> i32 {
        match self {
            Exit::Done => 0,
            Exit::Refused(_) => 1,
            Exit::Usage(_) => 2,
            Exit::Busy(_) => 75,
            Exit::Config(_) => 78,
        }
    }

    /// Writes the message on stderr and returns the exit code.
    pub fn finish(self) -> i32 {
        match &self {
            Exit::Done => {}
            Exit::Refused(m) | Exit::Usage(m) | Exit::Busy(m) | Exit::Config(m) => {
                if !m.is_empty() {
                    // A closed stderr leaves nowhere to complain; the exit code still tells.
                    let _ = writeln!(std::io::stderr(), "{m}");
                }
            }
        }
        self.code()
    }

    /// `Ok` is [`Exit::Done`]; for subcommands written with `?`.
    pub fn of(result: Result<(), Exit>) -> Exit {
        result.err().unwrap_or(Exit::Done)
    }

    /// Refused with `msgspool: MESSAGE`.
    pub fn refused(message: impl std::fmt::Display) -> Exit {
        Exit::Refused(format!("msgspool: {message}"))
    }

    /// A usage error, `msgspool: MESSAGE`.
    pub fn usage(message: impl std::fmt::Display) -> Exit {
        Exit::Usage(format!("msgspool: {message}"))
    }

    /// A bad config, `msgspool: MESSAGE`.
    pub fn config(e: &ConfigError) -> Exit {
        Exit::Config(format!("msgspool: {e}"))
    }
}

impl From<std::io::Error> for Exit {
    /// An error writing the output: a closed pipe is the reader's choice, not a failure.
    fn from(e: std::io::Error) -> Exit {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Exit::Done
        } else {
            Exit::refused(format_args!("cannot write the output: {e}"))
        }
    }
}

impl From<StoreError> for Exit {
    fn from(e: StoreError) -> Exit {
        Exit::refused(e)
    }
}

/// Which runtime a subcommand needs: the daemon's worker threads, or one thread for a
/// command's few async calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    Many,
    One,
}

/// Runs `work` on a tokio runtime: the CLI's one runtime builder. `Threads::Many` builds a
/// fresh runtime (the daemon's); `Threads::One` reuses one runtime for the process, so a
/// command's several calls share what the first one set up (a PostgreSQL pool's
/// connections live as tasks on the runtime that made them).
pub fn block_on<F: Future>(threads: Threads, work: F) -> Result<F::Output, Exit> {
    static ONE: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    let failed =
        |e: std::io::Error| Exit::refused(format_args!("cannot start the async runtime: {e}"));
    match threads {
        Threads::Many => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(failed)?;
            Ok(runtime.block_on(work))
        }
        Threads::One => {
            let runtime = match ONE.get() {
                Some(runtime) => runtime,
                None => {
                    let built = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(failed)?;
                    // Two threads racing here: one runtime wins, the other is dropped.
                    ONE.get_or_init(|| built)
                }
            };
            Ok(runtime.block_on(work))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exit_has_the_code_design_gives_it() {
        let m = || "m".to_owned();
        let codes: Vec<i32> = [
            Exit::Done,
            Exit::Refused(m()),
            Exit::Usage(m()),
            Exit::Busy(m()),
            Exit::Config(m()),
        ]
        .iter()
        .map(Exit::code)
        .collect();
        assert_eq!(codes, [0, 1, 2, 75, 78]);
    }

    #[test]
    fn a_closed_pipe_ends_a_command_as_done() {
        let e = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert_eq!(Exit::from(e), Exit::Done);
        let e = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert_eq!(Exit::from(e).code(), 1);
    }

    #[test]
    fn a_one_thread_runtime_runs_the_work() {
        assert_eq!(block_on(Threads::One, async { 7 }), Ok(7));
    }
}
