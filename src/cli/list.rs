//! `msgspool list`: the sends in the database, soonest due first, as an aligned table for
//! people or, with `--json`, one JSON object per line with every column for programs.
//!
//! "Due" is a send's next attempt while it waits, else the time it was due. Without
//! `--state` the list is the queue (`scheduled` and `sending`); `--state all` lists every
//! state; `--delivery` keeps the sends whose latest delivery status is one of those
//! given. Reads only: the database is opened read-only, so this is safe at any time.

use std::io::Write;

use chrono::{DateTime, Utc};
use clap::Args;

use super::exit::{Exit, Threads, block_on};
use super::format::{self, Align, Table};
use super::operator::{self, DatabaseArgs, StateArg};
use crate::store::{SendFilter, SendRow, SendState};

/// How many characters of a send's last error the table shows.
const ERROR_WIDTH: usize = 60;

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Only sends in these states (repeat or separate with commas; `all` for every state)
    /// [default: scheduled,sending]
    #[arg(long, value_enum, value_delimiter = ',', value_name = "STATE")]
    pub state: Vec<StateArg>,
    /// Only the sends of this job.
    #[arg(long, value_name = "JOB_ID")]
    pub job: Option<String>,
    /// Only the sends of jobs whose id starts with PREFIX.
    #[arg(long, value_name = "PREFIX")]
    pub job_prefix: Option<String>,
    /// Only sends due before this RFC 3339 instant.
    #[arg(long, value_name = "TIME", value_parser = super::parse_instant)]
    pub due_before: Option<DateTime<Utc>>,
    /// Only sends whose latest delivery status from Bird is one of these (`delivered`,
    /// `delivery_failed`, `read`, ...; `unknown`: none reported yet; repeat or separate
    /// with commas).
    #[arg(long, value_delimiter = ',', value_name = "STATUS", value_parser = delivery_word)]
    pub delivery: Vec<String>,
    /// Show at most N sends; 0 shows all.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,
    /// One JSON object per line with every column, instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ListArgs) -> Exit {
    Exit::of(list(args))
}

fn list(args: &ListArgs) -> Result<(), Exit> {
    let store = args.database.open_for_reading()?;
    let filter = SendFilter {
        states: StateArg::states(&args.state, &[SendState::Scheduled, SendState::Sending]),
        job_id: args.job.clone(),
        job_prefix: args.job_prefix.clone(),
        due_before: args.due_before,
        // One more than shown tells whether the limit cut the list; a delivery filter
        // applies after the read, so it reads them all.
        limit: (args.limit > 0 && args.delivery.is_empty()).then(|| args.limit.saturating_add(1)),
    };
    let mut sends = block_on(Threads::One, store.list_sends(filter))??;
    if !args.delivery.is_empty() {
        let ids = block_on(
            Threads::One,
            store.sends_with_delivery(args.delivery.clone()),
        )??;
        sends.retain(|s| ids.contains(&s.id));
    }
    let cut = args.limit > 0 && sends.len() > args.limit;
    if cut {
        sends.truncate(args.limit);
    }

    let mut out = std::io::stdout().lock();
    if args.json {
        for send in &sends {
            writeln!(out, "{}", format::send_json(send))?;
        }
        out.flush()?;
        return Ok(());
    }
    if sends.is_empty() {
        operator::note("no sends match");
        return Ok(());
    }
    table(&sends).write_to(&mut out)?;
    out.flush()?;
    if cut {
        operator::note(&format!(
            "showing the first {} sends; --limit N shows more, --limit 0 all",
            args.limit
        ));
    }
    Ok(())
}

/// A delivery status word `--delivery` takes.
fn delivery_word(word: &str) -> Result<String, String> {
    let known = crate::delivery::DeliveryStatus::from_word(word).is_some() || word == "unknown";
    match known {
        true => Ok(word.to_owned()),
        false => {
            let words: Vec<&str> = crate::delivery::DeliveryStatus::ALL
                .iter()
                .map(|s| s.as_str())
                .collect();
            Err(format!("one of {}, unknown", words.join(", ")))
        }
    }
}

/// The table people read: one send per line.
fn table(sends: &[SendRow]) -> Table {
    let mut table = Table::new(&[
        ("SEND", Align::Right),
        ("JOB", Align::Left),
        ("CHANNEL", Align::Left),
        ("STATE", Align::Left),
        ("DUE", Align::Left),
        ("EXPIRES", Align::Left),
        ("ATTEMPTS", Align::Right),
        ("LAST ERROR", Align::Left),
    ]);
    for send in sends {
        table.push(vec![
            send.id.to_string(),
            send.job_id.clone(),
            send.channel.clone(),
            send.state.as_str().to_owned(),
            format::time(send.due()),
            format::time(send.expires_at),
            send.attempts.to_string(),
            send.last_error
                .as_deref()
                .map_or_else(String::new, |e| format::shorten(e, ERROR_WIDTH)),
        ]);
    }
    table
}
