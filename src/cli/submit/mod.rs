//! `msgspool submit`: the producer's command, like Postfix's `sendmail`/`postdrop`.
//!
//! Checks every job first, with the daemon's config lookup and the very rules intake
//! applies ([`crate::job::parse`], as `msgspool check` does), and writes nothing unless all
//! are valid; then hands each to the spool atomically ([`handover`]) and prints one line
//! per job: its id and its first due instant. Needs only the config (group-readable) and
//! a writable spool: no database, no access key. Exit codes: 0 handed over, 1 a job is
//! invalid (spool untouched), 75 the spool is not writable, 78 the config is bad.

mod handover;
mod quick;

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;
use clap::Args;

use super::Exit;
use super::input::{read_job, read_job_file};
use crate::config::Lookup;
use crate::job::{self, Job, JobContext};
use crate::spool::scan::is_ignored;
use crate::timefmt::utc_text;
use handover::HandoverError;
use quick::QuickArgs;

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Daemon config; default /etc/msgspool/config.toml when it exists, else built-in defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Spool folder to hand jobs to (overrides the config's `spool`).
    #[arg(long)]
    pub spool: Option<PathBuf>,
    /// Job files to check and hand over; `-` reads one job from standard input.
    #[arg(required_unless_present = "to", conflicts_with = "to")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub quick: QuickArgs,
}

/// What a producer outside group msgspool must do.
const GROUP_ADVICE: &str = "only members of group msgspool may submit: `sudo usermod -aG msgspool $USER`, log in again, then submit again";

/// One job to submit, before checking.
struct Input {
    /// Names the job in error messages.
    label: String,
    /// The id used when the text sets none (the file name, or a fresh one).
    default_id: String,
    text: String,
}

pub fn run(args: &SubmitArgs) -> Exit {
    let lookup = Lookup {
        spool: args.spool.clone(),
        ..Lookup::file(args.config.as_ref())
    };
    let config = match lookup.load() {
        Ok(c) => c,
        Err(e) => {
            let mut message = format!("msgspool submit: {e}");
            if let crate::config::ConfigError::Read { error, .. } = &e
                && error.kind() == std::io::ErrorKind::PermissionDenied
            {
                message.push_str(&format!("\n  {GROUP_ADVICE}"));
            }
            return Exit::Config(message);
        }
    };
    let (inputs, mut bad) = gather(args);
    let ctx = JobContext {
        config: &config,
        now: Utc::now(),
    };
    let mut jobs = Vec::new();
    for input in &inputs {
        match job::parse(&input.label, &input.default_id, &input.text, &ctx) {
            Ok(job) => match spool_name(&job) {
                Ok(name) => jobs.push((job, name)),
                Err(message) => bad.push(format!("{}: error: {message}", input.label)),
            },
            Err(errors) => bad.push(errors.to_string()),
        }
    }
    if !bad.is_empty() {
        for message in &bad {
            eprintln!("{message}");
        }
        return Exit::Refused(
            "msgspool submit: nothing was handed to the spool; fix the errors and submit again"
                .to_owned(),
        );
    }
    let mut stdout = std::io::stdout().lock();
    for (job, name) in &jobs {
        let landed = match hand_over(&config.spool, job, name) {
            Ok(path) => path,
            Err(e) => return Exit::Busy(format!("msgspool submit: {e}\n  {}", advice(&e))),
        };
        let plan = crate::spool::plan_job(job, &landed, ctx.now, &config);
        let due = plan
            .sends
            .first()
            .map_or("none".to_owned(), |s| utc_text(s.due));
        // A closed pipe does not undo the handover; keep going so every job lands.
        let _ = writeln!(stdout, "{} {due}", job.id);
    }
    Exit::Done
}

/// Reads every input; unreadable ones come back as error messages.
fn gather(args: &SubmitArgs) -> (Vec<Input>, Vec<String>) {
    let fresh_id = || format!("submit-{}", uuid::Uuid::new_v4().simple());
    let mut inputs = Vec::new();
    let mut bad = Vec::new();
    if let (Some(to), Some(text)) = (&args.quick.to, &args.quick.text) {
        let id = args.quick.id.clone().unwrap_or_else(fresh_id);
        inputs.push(Input {
            label: "<--to/--text>".to_owned(),
            text: quick::job_text(&args.quick, to, text, &id),
            default_id: id,
        });
    }
    let mut stdin_used = false;
    for path in &args.files {
        let label = path.display().to_string();
        let read = if path == Path::new("-") {
            if stdin_used {
                bad.push("<stdin>: error: `-` can be given only once".to_owned());
                continue;
            }
            stdin_used = true;
            read_job(std::io::stdin().lock()).map(|t| ("<stdin>".to_owned(), fresh_id(), t))
        } else {
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            read_job_file(path).map(|t| (label.clone(), stem.unwrap_or_default(), t))
        };
        match read {
            Ok((label, default_id, text)) => inputs.push(Input {
                label,
                default_id,
                text,
            }),
            Err(e) => bad.push(format!("{label}: error: {e}")),
        }
    }
    (inputs, bad)
}

/// The spool file name: `ID.toml`, so the daemon derives the same id from it.
fn spool_name(job: &Job) -> Result<String, String> {
    let name = format!("{}.toml", job.id);
    if !is_ignored(&name) {
        return Ok(name);
    }
    if job.file.id.is_some() {
        // The text names the id itself, so any name the daemon reads will do.
        return Ok(format!("submit-{}.toml", uuid::Uuid::new_v4().simple()));
    }
    Err(format!(
        "the job id {:?} comes from the file name, which the daemon ignores (a dot name); set `id` in the file",
        job.id
    ))
}

/// Hands one job over; when its name is taken but the text sets its id, a unique name
/// does as well.
fn hand_over(spool: &Path, job: &Job, name: &str) -> Result<String, HandoverError> {
    match handover::write_job(spool, name, &job.source_text) {
        Err(HandoverError::Taken { .. }) if job.file.id.is_some() => {
            let unique = format!("{}.{}.toml", job.id, uuid::Uuid::new_v4().simple());
            handover::write_job(spool, &unique, &job.source_text).map(|_| unique)
        }
        other => other.map(|_| name.to_owned()),
    }
}

/// What the producer can do about a failed handover.
fn advice(e: &HandoverError) -> &'static str {
    use std::io::ErrorKind as K;
    match e {
        HandoverError::Taken { .. } => {
            "wait a few seconds for the daemon to take it in, then submit again (or set a new `id`)"
        }
        HandoverError::Write { error, .. } | HandoverError::Rename { error, .. } => {
            match error.kind() {
                K::PermissionDenied => GROUP_ADVICE,
                K::NotFound => {
                    "the spool folder is missing: install msgspool (its tmpfiles entry creates it) or name the right one with --spool or the config's `spool`"
                }
                _ => "fix the spool folder (space, permissions, mount), then submit again",
            }
        }
    }
}
