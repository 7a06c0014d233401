//! `msgspool cancel`: stops sends from going out, safely while the daemon runs.
//!
//! - `cancel JOB_ID`: the job's `scheduled` sends become `canceled`, and the job too.
//! - `cancel --send SEND_ID`: that one send; its job finishes if nothing else is pending.
//!   Refused for a recurring (`cron`) job, which is canceled only as a whole.
//! - `cancel --all [--job-prefix PREFIX]`: every active job (whose id starts with PREFIX).
//!   The bulk form needs the explicit `--all`; no target at all is a usage error (exit 2).
//!
//! The daemon claims only `scheduled` sends, so once the cancel is committed (it goes
//! through the store's writer like the daemon's own writes) they are never sent. A send
//! being sent at that moment cannot be called back: it is marked `canceled` too, ends
//! `sent` if Bird accepts the request already under way, and is never tried again; the
//! output says so. Canceling what was already canceled changes nothing and exits 0;
//! canceling what has ended (sent, failed, expired, a finished job) is refused (exit 1).
//! `--json` prints one JSON object per job or send instead of sentences.

use std::io::Write;

use chrono::Utc;
use clap::{ArgGroup, Args};
use serde_json::json;

use super::exit::{Exit, Threads, block_on};
use super::operator::DatabaseArgs;
use crate::store::{CancelOutcome, StoreError};

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["job", "send", "all"])))]
pub struct CancelArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The job to cancel: its scheduled sends, then the job itself.
    #[arg(value_name = "JOB_ID")]
    pub job: Option<String>,
    /// Cancel only this send (the SEND column of `msgspool list`).
    #[arg(long, value_name = "SEND_ID")]
    pub send: Option<i64>,
    /// Cancel every active job (only those matching --job-prefix when given).
    #[arg(long)]
    pub all: bool,
    /// With --all: only jobs whose id starts with PREFIX.
    #[arg(long, value_name = "PREFIX", requires = "all")]
    pub job_prefix: Option<String>,
    /// One JSON object per job or send instead of sentences.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &CancelArgs) -> Exit {
    Exit::of(cancel(args))
}

fn cancel(args: &CancelArgs) -> Result<(), Exit> {
    let store = args.database.open_for_writing()?;
    let now = Utc::now();
    let outcomes = if args.all {
        block_on(
            Threads::One,
            store.cancel_jobs(args.job_prefix.as_deref(), now),
        )??
    } else if let Some(send_id) = args.send {
        let outcome = block_on(Threads::One, store.cancel_send(send_id, now))?;
        vec![outcome.map_err(|e| not_found(e, args))?]
    } else if let Some(job_id) = &args.job {
        let outcome = block_on(Threads::One, store.cancel_job(job_id, now))?;
        vec![outcome.map_err(|e| not_found(e, args))?]
    } else {
        return Err(Exit::usage(
            "give a JOB_ID, --send SEND_ID, or --all".to_owned(),
        ));
    };

    let mut out = std::io::stdout().lock();
    let mut refused = Vec::new();
    for outcome in &outcomes {
        if args.json {
            writeln!(out, "{}", outcome_json(outcome, args.send))?;
        } else {
            for line in sentences(outcome, args.send) {
                writeln!(out, "{line}")?;
            }
        }
        if let Some(reason) = refusal(outcome, args.send) {
            refused.push(reason);
        }
    }
    if args.all && !args.json {
        let jobs = outcomes.len();
        let sends: usize = outcomes.iter().map(canceled_sends).sum();
        let scope = args
            .job_prefix
            .as_deref()
            .map_or_else(String::new, |p| format!(" whose id starts with {p:?}"));
        writeln!(
            out,
            "canceled {jobs} active job(s){scope} and {sends} of their send(s)"
        )?;
    }
    out.flush()?;
    match refused.len() {
        0 => Ok(()),
        _ => Err(Exit::refused(refused.join("\n"))),
    }
}

/// A store error, with not-found said in the operator's terms.
fn not_found(e: StoreError, args: &CancelArgs) -> Exit {
    match e {
        StoreError::NoSuchJob(job_id) => Exit::refused(format!(
            "there is no job {job_id:?}; `msgspool list --state all` shows the jobs there are"
        )),
        StoreError::NoSuchSend(send_id) if args.send.is_some() => Exit::refused(format!(
            "there is no send {send_id}; `msgspool list --state all` shows the sends there are"
        )),
        other => other.into(),
    }
}

/// How many sends a cancel stopped.
fn canceled_sends(outcome: &CancelOutcome) -> usize {
    match outcome {
        CancelOutcome::Canceled {
            scheduled,
            in_flight,
            ..
        } => scheduled.len() + in_flight.len(),
        CancelOutcome::AlreadyCanceled { .. }
        | CancelOutcome::AlreadyEnded { .. }
        | CancelOutcome::RecurringSend { .. } => 0,
    }
}

/// What a cancel did, for people.
fn sentences(outcome: &CancelOutcome, send: Option<i64>) -> Vec<String> {
    let what = |job_id: &str| match send {
        Some(send_id) => format!("send {send_id} (job {job_id})"),
        None => format!("job {job_id}"),
    };
    match outcome {
        CancelOutcome::Canceled {
            job_id,
            scheduled,
            in_flight,
        } => {
            let mut lines = vec![match send {
                Some(_) => format!("{} canceled", what(job_id)),
                None => format!(
                    "{} canceled: {} scheduled send(s) canceled{}",
                    what(job_id),
                    scheduled.len(),
                    id_list(scheduled)
                ),
            }];
            for send_id in in_flight {
                lines.push(format!(
                    "send {send_id} (job {job_id}) was being sent at that moment and cannot be \
                     stopped: if Bird accepts the request under way it ends as sent; it will \
                     not be tried again"
                ));
            }
            lines
        }
        CancelOutcome::AlreadyCanceled { job_id } => {
            vec![format!(
                "{} was already canceled; nothing changed",
                what(job_id)
            )]
        }
        // Said on stderr with the exit code.
        CancelOutcome::AlreadyEnded { .. } | CancelOutcome::RecurringSend { .. } => Vec::new(),
    }
}

/// ` (sends 1, 2, 3)`, or nothing for no sends.
fn id_list(ids: &[i64]) -> String {
    if ids.is_empty() {
        return String::new();
    }
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!(" (sends {})", ids.join(", "))
}

/// Why nothing was canceled and what to do, when the cancel was refused.
fn refusal(outcome: &CancelOutcome, send: Option<i64>) -> Option<String> {
    match (outcome, send) {
        (CancelOutcome::AlreadyEnded { job_id, state }, Some(send_id)) => Some(format!(
            "send {send_id} (job {job_id}) has already ended ({state}): nothing to cancel; \
             `msgspool show --send {send_id}` shows what happened"
        )),
        (CancelOutcome::AlreadyEnded { job_id, state }, None) => Some(format!(
            "job {job_id} has already {state}: nothing to cancel; `msgspool show {job_id}` \
             shows what happened"
        )),
        (CancelOutcome::RecurringSend { job_id }, _) => Some(format!(
            "{} belongs to the recurring job {job_id}, whose occurrences are not canceled \
             one by one (that would end its schedule); `msgspool cancel {job_id}` stops the \
             whole job",
            send.map_or_else(|| "this send".to_owned(), |id| format!("send {id}"))
        )),
        (CancelOutcome::Canceled { .. } | CancelOutcome::AlreadyCanceled { .. }, _) => None,
    }
}

/// What a cancel did, for programs; `send_id` is the send asked for, if one was.
fn outcome_json(outcome: &CancelOutcome, send_id: Option<i64>) -> serde_json::Value {
    let mut value = match outcome {
        CancelOutcome::Canceled {
            job_id,
            scheduled,
            in_flight,
        } => json!({
            "job_id": job_id,
            "result": "canceled",
            "canceled_sends": scheduled,
            "in_flight_sends": in_flight,
        }),
        CancelOutcome::AlreadyCanceled { job_id } => json!({
            "job_id": job_id,
            "result": "already_canceled",
        }),
        CancelOutcome::AlreadyEnded { job_id, state } => json!({
            "job_id": job_id,
            "result": "already_ended",
            "state": state,
        }),
        CancelOutcome::RecurringSend { job_id } => json!({
            "job_id": job_id,
            "result": "recurring_send",
        }),
    };
    if let Some(send_id) = send_id {
        value["send_id"] = send_id.into();
    }
    value
}
