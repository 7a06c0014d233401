//! `msgspool retry`: schedules `failed` or `expired` sends again, safely while the daemon
//! runs.
//!
//! - `retry SEND_ID`: that send goes back to `scheduled`, due now, with its attempts reset
//!   to 0, and its job back to `active` if it had finished.
//! - `retry --all [--state failed|expired] [--job JOB_ID] [--job-prefix PREFIX]`: every
//!   such send (both states unless `--state` says otherwise). The bulk form needs the
//!   explicit `--all`; no target at all is a usage error (exit 2).
//!
//! A send of a canceled job is refused (exit 1), and so is an occurrence of a recurring
//! job whose next occurrence is already due (the daemon would skip it as overtaken).
//! A send whose expiry has passed is refused (exit 1): Bird would be told to deliver a
//! message nobody wants any more. `--force` schedules it anyway and makes its expiry at
//! least now + VALIDITY: `--validity` (e.g. `36h`), else the default validity of the kind
//! of the send's channel in the daemon's config (36 h; 10 min for `2fa`). A send not
//! expired keeps its expiry unless that reaches further. The change goes through the
//! store's writer like the daemon's own writes, so a running daemon picks the send up at
//! its next turn.

mod report;

use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args, ValueEnum};

use super::exit::{Exit, Threads, block_on};
use super::format;
use super::operator::{self, DatabaseArgs};
use crate::config::Config;
use crate::duration::parse_duration;
use crate::store::{RetryOutcome, SendFilter, SendRow, SendState, Store};

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["send", "all"])))]
pub struct RetryArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The failed or expired send to schedule again (the SEND column of `msgspool list`).
    #[arg(value_name = "SEND_ID")]
    pub send: Option<i64>,
    /// Retry every failed or expired send (narrowed by --state, --job, --job-prefix).
    #[arg(long)]
    pub all: bool,
    /// With --all: only sends in these states [default: failed,expired]
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "STATE",
        requires = "all"
    )]
    pub state: Vec<EndedState>,
    /// With --all: only the sends of this job.
    #[arg(long, value_name = "JOB_ID", requires = "all")]
    pub job: Option<String>,
    /// With --all: only the sends of jobs whose id starts with PREFIX.
    #[arg(long, value_name = "PREFIX", requires = "all")]
    pub job_prefix: Option<String>,
    /// Also retry sends whose expiry has passed: their expiry becomes now + the validity.
    #[arg(long)]
    pub force: bool,
    /// With --force: the validity from now, e.g. 36h or 10m [default: the channel kind's
    /// default validity]
    #[arg(long, value_name = "DURATION", requires = "force", value_parser = parse_validity)]
    pub validity: Option<Duration>,
    /// One JSON object per send instead of sentences.
    #[arg(long)]
    pub json: bool,
}

/// The states a send can be retried from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EndedState {
    Failed,
    Expired,
}

/// The longest `--validity`: far beyond any use, and short enough that now + it is storable.
pub const MAX_VALIDITY: Duration = Duration::from_secs(3650 * 86_400);

fn parse_validity(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s).map_err(|e| e.to_string())?;
    if d > MAX_VALIDITY {
        return Err(format!(
            "the validity `{s}` is longer than 3650d (ten years); give a shorter one, e.g. 36h"
        ));
    }
    Ok(d)
}

pub fn run(args: &RetryArgs) -> Exit {
    Exit::of(retry(args))
}

fn retry(args: &RetryArgs) -> Result<(), Exit> {
    let store = args.database.open_for_writing()?;
    // Only --force without --validity needs the channels of the daemon's config.
    let config = match (args.force, args.validity) {
        (true, None) => Some(args.database.config()?),
        _ => None,
    };
    let now = Utc::now();
    let sends = block_on(Threads::One, sends_to_retry(&store, args))??;
    if args.all && sends.is_empty() {
        operator::note("no failed or expired sends match; nothing to retry");
        return Ok(());
    }
    let mut requests = Vec::with_capacity(sends.len());
    for send in &sends {
        let extend_to = match args.force {
            true => Some(extended(now, validity(args, config.as_ref(), send)?)?),
            false => None,
        };
        requests.push((send.id, extend_to));
    }
    let results = block_on(Threads::One, store.retry_sends(requests, now))?;

    let mut out = std::io::stdout().lock();
    let mut refused = Vec::new();
    let mut scheduled = 0usize;
    for result in results {
        let outcome = result?;
        if args.json {
            writeln!(out, "{}", report::outcome_json(&outcome))?;
        }
        match outcome {
            RetryOutcome::Scheduled {
                send_id,
                job_id,
                expires_at,
                extended,
            } => {
                scheduled += 1;
                if !args.json {
                    let expiry = if extended { "now expires" } else { "expires" };
                    writeln!(
                        out,
                        "send {send_id} (job {job_id}) scheduled again, due now; {expiry} {}",
                        format::time(expires_at)
                    )?;
                }
            }
            other => refused.extend(report::refusal(&other)),
        }
    }
    if args.all && !args.json {
        writeln!(out, "scheduled {scheduled} send(s) again")?;
    }
    out.flush()?;
    match refused.len() {
        0 => Ok(()),
        _ => Err(Exit::refused(refused.join("\n"))),
    }
}

/// The sends the arguments name: the one given, or every match of the bulk form.
async fn sends_to_retry(store: &Store, args: &RetryArgs) -> Result<Vec<SendRow>, Exit> {
    if let Some(send_id) = args.send {
        return match store.send(send_id).await? {
            Some(send) => Ok(vec![send]),
            None => Err(Exit::refused(format!(
                "there is no send {send_id}; `msgspool list --state failed,expired` shows the \
                 sends that can be retried"
            ))),
        };
    }
    let states = match args.state.as_slice() {
        [] => vec![SendState::Failed, SendState::Expired],
        given => given
            .iter()
            .map(|state| match state {
                EndedState::Failed => SendState::Failed,
                EndedState::Expired => SendState::Expired,
            })
            .collect(),
    };
    let filter = SendFilter {
        states,
        job_id: args.job.clone(),
        job_prefix: args.job_prefix.clone(),
        due_before: None,
        limit: None,
    };
    Ok(store.list_sends(filter).await?)
}

/// How long from now a forced retry stays valid.
fn validity(args: &RetryArgs, config: Option<&Config>, send: &SendRow) -> Result<Duration, Exit> {
    let validity = match (args.validity, config) {
        (Some(validity), _) => validity,
        (None, Some(config)) => match config.channels.get(&send.channel) {
            Some(channel) => channel.kind.default_validity(),
            None => {
                return Err(Exit::refused(format!(
                    "send {} is on channel `{}`, which the config does not define, so its \
                     default validity is unknown; give --validity (e.g. --validity 36h) or \
                     --config with the daemon's config",
                    send.id, send.channel
                )));
            }
        },
        (None, None) => {
            return Err(Exit::usage("--force needs a validity".to_owned()));
        }
    };
    Ok(validity)
}

/// The new expiry `now + validity`, refused when the database could not hold it.
fn extended(now: DateTime<Utc>, validity: Duration) -> Result<DateTime<Utc>, Exit> {
    crate::bounds::add(now, validity).ok_or_else(|| {
        Exit::usage(format!(
            "the validity {} runs past the year 9999, which msgspool cannot store; give a shorter one",
            crate::duration::format_duration(validity)
        ))
    })
}
