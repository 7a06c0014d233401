//! `msgspool check`: validates job files offline and shows what the daemon would do.
//!
//! Every file is checked and reported (errors on stderr, compiler style), then the exit
//! code says whether all were valid. `--payload` and `--next` write only their own output
//! to stdout, so programs can read it.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use clap::Args;

use crate::job::{self, JobContext, payload};
use crate::schedule;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Daemon config (channels, time zone, schedule windows); built-in defaults without it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Take this RFC 3339 instant as the current time for every rule.
    #[arg(long, value_parser = parse_now)]
    pub now: Option<DateTime<Utc>>,
    /// Print each valid file's JSON request body, one line per file.
    #[arg(long, conflicts_with = "next")]
    pub payload: bool,
    /// Print the next N due instants of each valid job (RFC 3339, UTC), one per line.
    #[arg(long, value_name = "N", value_parser = parse_next)]
    pub next: Option<usize>,
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

fn parse_now(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 time like 2026-03-28T12:00:00Z: {e}"))
}

pub fn run(args: &CheckArgs) -> i32 {
    let config = match super::load_config(args.config.as_ref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let ctx = JobContext {
        config: &config,
        now: args.now.unwrap_or_else(Utc::now),
    };
    let mut stdout = std::io::stdout().lock();
    let mut all_valid = true;
    for path in &args.files {
        match check_one(path, &ctx) {
            Err(message) => {
                all_valid = false;
                eprintln!("{message}");
            }
            Ok(job) => {
                let lines = output_lines(args, &job, &ctx);
                for line in lines {
                    if writeln!(stdout, "{line}").is_err() {
                        // Closed pipe: the reader has what it wanted.
                        return if all_valid { 0 } else { 1 };
                    }
                }
            }
        }
    }
    if all_valid { 0 } else { 1 }
}

fn check_one(path: &Path, ctx: &JobContext) -> Result<job::Job, String> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{label}: error: cannot read the file: {e}"))?;
    let default_id = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    job::parse(&label, &default_id, &text, ctx).map_err(|e| e.to_string())
}

fn output_lines(args: &CheckArgs, job: &job::Job, ctx: &JobContext) -> Vec<String> {
    let window = ctx.config.schedule.immediate_window;
    let quiet =
        crate::quiet::window_for(ctx.config, &job.channel).filter(|_| !job.ignore_quiet_hours);
    if args.payload {
        // The same planning intake does, so the payload shown is the payload stored.
        let planned = crate::spool::plan_job(job, "check", ctx.now, ctx.config);
        return planned
            .sends
            .first()
            .and_then(|send| serde_json::from_str(&send.payload).ok())
            .map(|body| payload::with_validity(body, job.validity.as_secs()).to_string())
            .into_iter()
            .collect();
    }
    if let Some(n) = args.next {
        return schedule::upcoming(&job.schedule, ctx.now, window, n, quiet.as_ref())
            .into_iter()
            .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
            .collect();
    }
    Vec::new()
}
