//! `msgspool stats`: how many sends are in each state, how many were sent, failed or
//! expired in the last hour and the last day, and how many job files were rejected in the
//! last day, and what became of the sent messages (delivered, read, failed, no final status
//! yet). `--json` prints the same as one JSON object. Reads only.

use std::io::Write;

use chrono::Utc;
use clap::Args;
use serde_json::json;

use super::exit::{Exit, Threads, block_on};
use super::format::{self, Align, Table};
use super::operator::DatabaseArgs;
use crate::store::{DeliveryCounts, FinishedCounts, Stats};

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// One JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &StatsArgs) -> Exit {
    Exit::of(stats(args))
}

fn stats(args: &StatsArgs) -> Result<(), Exit> {
    let store = args.database.open_for_reading()?;
    let stats = block_on(Threads::One, store.stats(Utc::now()))??;
    let delivery = block_on(Threads::One, store.delivery_counts())??;
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut value = stats_json(&stats);
        value["delivery"] = json!({
            "delivered": delivery.delivered,
            "read": delivery.read,
            "failed": delivery.failed,
            "pending": delivery.pending,
        });
        writeln!(out, "{value}")?;
    } else {
        write_text(&mut out, &stats)?;
        write_delivery(&mut out, &delivery)?;
    }
    out.flush()?;
    Ok(())
}

fn write_text(out: &mut impl Write, stats: &Stats) -> std::io::Result<()> {
    let mut states = Table::new(&[("STATE", Align::Left), ("SENDS", Align::Right)]);
    for (state, count) in &stats.by_state {
        states.push(vec![state.as_str().to_owned(), count.to_string()]);
    }
    states.write_to(out)?;
    writeln!(out)?;
    let mut recent = Table::new(&[
        ("FINISHED", Align::Left),
        ("LAST HOUR", Align::Right),
        ("LAST DAY", Align::Right),
    ]);
    let (hour, day) = (&stats.last_hour, &stats.last_day);
    for (label, in_hour, in_day) in [
        ("sent", hour.sent, day.sent),
        ("failed", hour.failed, day.failed),
        ("expired", hour.expired, day.expired),
    ] {
        recent.push(vec![
            label.to_owned(),
            in_hour.to_string(),
            in_day.to_string(),
        ]);
    }
    recent.write_to(out)?;
    writeln!(out)?;
    writeln!(
        out,
        "rejected job files in the last day: {}",
        stats.rejections_last_day
    )?;
    writeln!(out, "as of {}", format::time(stats.at))
}

/// What became of the sent messages, as Bird reported it.
fn write_delivery(out: &mut impl Write, counts: &DeliveryCounts) -> std::io::Result<()> {
    writeln!(out)?;
    let mut table = Table::new(&[("DELIVERY", Align::Left), ("SENDS", Align::Right)]);
    for (label, count) in [
        ("delivered", counts.delivered),
        ("read", counts.read),
        ("failed", counts.failed),
        ("pending", counts.pending),
    ] {
        table.push(vec![label.to_owned(), count.to_string()]);
    }
    table.write_to(out)
}

fn stats_json(stats: &Stats) -> serde_json::Value {
    let states: serde_json::Map<String, serde_json::Value> = stats
        .by_state
        .iter()
        .map(|(state, count)| (state.as_str().to_owned(), (*count).into()))
        .collect();
    let finished = |counts: &FinishedCounts| json!({ "sent": counts.sent, "failed": counts.failed, "expired": counts.expired });
    json!({
        "at": format::time(stats.at),
        "sends_by_state": states,
        "last_hour": finished(&stats.last_hour),
        "last_day": finished(&stats.last_day),
        "rejections_last_day": stats.rejections_last_day,
    })
}
