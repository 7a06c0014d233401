//! `msgspool check`: validates job files offline and shows what the daemon would do.
//!
//! Every file is checked and reported (errors on stderr, compiler style), then the exit
//! code says whether all were valid. `--payload` and `--next` write only their own output
//! to stdout, so programs can read it.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use clap::Args;

use super::Exit;
use crate::config::Lookup;
use crate::job::{self, JobContext, payload};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Daemon config (channels, time zone, schedule windows); default
    /// /etc/msgspool/config.toml when it exists, else built-in defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Take this RFC 3339 instant as the current time for every rule.
    #[arg(long, value_parser = super::parse_instant)]
    pub now: Option<DateTime<Utc>>,
    /// Print each valid file's JSON request body, one line per file.
    #[arg(long, conflicts_with = "next")]
    pub payload: bool,
    /// Print the next N due instants of each valid job (RFC 3339, UTC), one per line.
    #[arg(long, value_name = "N", value_parser = parse_next)]
    pub next: Option<usize>,
    /// How problems are written on stderr: `human` (FILE:LINE:COL: error: FIELD: MESSAGE)
    /// or `json` (one object per line: file, line, column, field, message, severity).
    #[arg(long, value_enum, default_value = "human")]
    pub message_format: MessageFormat,
    /// Job files to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// The most instants `--next` prints: enough for any look, bounded in time and memory.
pub const MAX_NEXT: usize = 10_000;

fn parse_next(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX_NEXT).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} is not a count from 1 to {MAX_NEXT}")),
    }
}

/// The rendering of problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MessageFormat {
    Human,
    Json,
}

pub fn run(args: &CheckArgs) -> Exit {
    let config = match Lookup::file(args.config.as_ref()).load() {
        Ok(c) => c,
        Err(e) => return Exit::config(&e),
    };
    let ctx = JobContext {
        config: &config,
        now: args.now.unwrap_or_else(Utc::now),
    };
    let mut stdout = std::io::stdout().lock();
    let mut all_valid = true;
    for path in &args.files {
        match check_one(path, &ctx) {
            Err(errors) => {
                all_valid = false;
                report(args.message_format, &errors.0);
            }
            Ok(job) => {
                report(args.message_format, &job.warnings);
                let lines = output_lines(args, &job, &ctx);
                for line in lines {
                    if writeln!(stdout, "{line}").is_err() {
                        // Closed pipe: the reader has what it wanted.
                        return ended(all_valid);
                    }
                }
            }
        }
    }
    ended(all_valid)
}

/// Exit 1 when a file was invalid; its problems are already on stderr.
fn ended(all_valid: bool) -> Exit {
    if all_valid {
        Exit::Done
    } else {
        Exit::Refused(String::new())
    }
}

/// Writes problems (errors or warnings) on stderr in the chosen format.
fn report(format: MessageFormat, diagnostics: &[job::Diagnostic]) {
    for d in diagnostics {
        match format {
            MessageFormat::Human => eprintln!("{d}"),
            MessageFormat::Json => eprintln!("{}", d.to_json()),
        }
    }
}

fn check_one(path: &Path, ctx: &JobContext) -> Result<job::Job, job::JobErrors> {
    let label = path.display().to_string();
    let whole_file = |message: String| {
        job::JobErrors(vec![job::Diagnostic {
            file: label.clone(),
            line: 1,
            col: 1,
            field: String::new(),
            message,
            severity: job::Severity::Error,
        }])
    };
    let text = super::input::read_job_file(path).map_err(whole_file)?;
    let default_id = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    job::parse(&label, &default_id, &text, ctx)
}

fn output_lines(args: &CheckArgs, job: &job::Job, ctx: &JobContext) -> Vec<String> {
    let window = ctx.config.schedule.immediate_window;
    if args.payload {
        // The same planning intake does, so the payload shown is the payload stored.
        let planned = crate::spool::plan_job(job, "check", ctx.now, ctx.config);
        return planned
            .sends
            .first()
            .and_then(|send| {
                payload::with_validity_text(&send.payload, job.validity.as_secs()).ok()
            })
            .into_iter()
            .collect();
    }
    if let Some(n) = args.next {
        return job
            .timing(ctx.config)
            .upcoming(ctx.now, window, n)
            .into_iter()
            .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
            .collect();
    }
    Vec::new()
}
