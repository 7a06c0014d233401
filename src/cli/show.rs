//! `msgspool show JOB_ID` and `msgspool show --send SEND_ID`: everything the database
//! knows about one job (or one send and its job): the job's settings, each send with its
//! payload and every attempt with Bird's answer, the job's events, and the job file's text.
//!
//! Each send's delivery timeline (every status Bird reported, by poll or webhook) follows
//! its attempts. `--json` prints it all as one JSON object on one line (`job`, `sends`
//! each with its `attempts` and `delivery`, `events`). Reads only.

use std::collections::BTreeMap;
use std::io::Write;

use clap::Args;

use super::exit::{Exit, Threads, block_on};
use super::format;
use super::operator::DatabaseArgs;
use crate::store::{DeliveryEventRow, JobDetails, JobKind, SendDetails};

/// Each send's delivery timeline, by send id.
type Timelines = BTreeMap<i64, Vec<DeliveryEventRow>>;

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The job to show.
    #[arg(
        value_name = "JOB_ID",
        required_unless_present = "send",
        conflicts_with = "send"
    )]
    pub job: Option<String>,
    /// Show this send (the SEND column of `msgspool list`) and its job, instead of a job.
    #[arg(long, value_name = "SEND_ID")]
    pub send: Option<i64>,
    /// One JSON object on one line instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ShowArgs) -> Exit {
    Exit::of(show(args))
}

fn show(args: &ShowArgs) -> Result<(), Exit> {
    let store = args.database.open_for_reading()?;
    let details = match (&args.job, args.send) {
        (_, Some(send_id)) => block_on(Threads::One, store.send_details(send_id))??.ok_or_else(|| {
            Exit::refused(format!(
                "there is no send {send_id}; `msgspool list --state all` shows the sends there are"
            ))
        })?,
        (Some(job_id), None) => block_on(Threads::One, store.job_details(job_id))??.ok_or_else(|| {
            Exit::refused(format!(
                "there is no job {job_id:?}; `msgspool list --state all` shows the jobs there are"
            ))
        })?,
        (None, None) => return Err(Exit::usage("give a JOB_ID or --send SEND_ID".to_owned())),
    };
    let mut timelines = Timelines::new();
    for SendDetails { send, .. } in &details.sends {
        let timeline = block_on(Threads::One, store.delivery_timeline(send.id))??;
        timelines.insert(send.id, timeline);
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", details_json(&details, &timelines))?;
    } else {
        write_text(&mut out, &details, &timelines)?;
    }
    out.flush()?;
    Ok(())
}

/// The whole picture as one JSON object.
fn details_json(details: &JobDetails, timelines: &Timelines) -> serde_json::Value {
    let sends: Vec<serde_json::Value> = details
        .sends
        .iter()
        .map(|SendDetails { send, attempts }| {
            let mut value = format::send_json(send);
            value["attempts"] = attempts.iter().map(format::attempt_json).collect();
            value["delivery"] = timelines
                .get(&send.id)
                .map_or_else(Vec::new, |t| t.iter().map(delivery_json).collect())
                .into();
            value
        })
        .collect();
    serde_json::json!({
        "job": format::job_json(&details.job),
        "sends": sends,
        "events": details.events.iter().map(format::event_json).collect::<Vec<_>>(),
    })
}

/// The whole picture for people: labelled lines, indented blocks.
fn write_text(
    out: &mut impl Write,
    details: &JobDetails,
    timelines: &Timelines,
) -> std::io::Result<()> {
    let job = &details.job;
    writeln!(out, "job {}", job.id)?;
    field(out, "state", job.state.as_str())?;
    if let Some(reason) = &job.broken_reason {
        field(out, "broken", reason)?;
    }
    field(out, "kind", job.kind.as_str())?;
    field(out, "channel", &job.channel)?;
    if job.kind == JobKind::Cron {
        let cron = job.cron.as_deref().unwrap_or("-");
        let zone = job.timezone.as_deref().unwrap_or("UTC");
        field(out, "cron", &format!("{cron} ({zone})"))?;
        field(out, "until", &format::optional_time(job.until))?;
    }
    field(out, "source", &job.source_name)?;
    field(out, "sha256", &job.sha256)?;
    field(out, "created", &format::time(job.created_at))?;
    field(out, "updated", &format::time(job.updated_at))?;

    for SendDetails { send, attempts } in &details.sends {
        writeln!(out)?;
        writeln!(out, "send {} ({})", send.id, send.state.as_str())?;
        field(out, "occurrence", &format::time(send.occurrence_at))?;
        field(out, "due", &format::time(send.due_at))?;
        field(
            out,
            "next try",
            &format::optional_time(send.next_attempt_at),
        )?;
        field(out, "expires", &format::time(send.expires_at))?;
        field(out, "attempts", &send.attempts.to_string())?;
        field(out, "reference", &send.reference)?;
        if let Some(id) = &send.bird_message_id {
            let status = send.bird_status.as_deref().unwrap_or("-");
            field(out, "bird", &format!("message {id}, status {status}"))?;
        }
        if let Some(finished) = send.finished_at {
            field(out, "finished", &format::time(finished))?;
        }
        if let Some(error) = &send.last_error {
            field(out, "last error", error)?;
        }
        if let Some(details) = &send.error_details {
            field(out, "details", &format::shorten(details, 200))?;
        }
        writeln!(out, "  payload:")?;
        indented(out, &format::pretty_json(&send.payload), "    ")?;
        if attempts.is_empty() {
            writeln!(out, "  attempts: none yet")?;
        } else {
            writeln!(out, "  attempts:")?;
        }
        for attempt in attempts {
            let status = attempt
                .http_status
                .map_or_else(|| "no answer".to_owned(), |s| format!("HTTP {s}"));
            let error = attempt
                .error
                .as_deref()
                .map_or_else(String::new, |e| format!(": {e}"));
            writeln!(
                out,
                "    {} .. {}  {status}  {}{error}",
                format::time(attempt.started_at),
                format::time(attempt.finished_at),
                attempt.outcome.as_str(),
            )?;
        }
        if let Some(timeline) = timelines.get(&send.id).filter(|t| !t.is_empty()) {
            writeln!(out, "  delivery:")?;
            for event in timeline {
                writeln!(out, "    {}", delivery_line(event))?;
            }
        }
    }

    if !details.events.is_empty() {
        writeln!(out)?;
        writeln!(out, "events:")?;
        for event in &details.events {
            writeln!(
                out,
                "  {}  {}  {}",
                format::time(event.at),
                event.kind,
                event.detail
            )?;
        }
    }

    writeln!(out)?;
    writeln!(out, "source {}:", job.source_name)?;
    indented(out, &job.source_text, "    ")
}

/// One `  label  value` line of a block.
fn field(out: &mut impl Write, label: &str, value: &str) -> std::io::Result<()> {
    writeln!(out, "  {label:<11} {value}")
}

/// Every line of `text`, after `indent`.
fn indented(out: &mut impl Write, text: &str, indent: &str) -> std::io::Result<()> {
    for line in text.lines() {
        writeln!(out, "{indent}{line}")?;
    }
    Ok(())
}

/// `TIME  STATUS (SOURCE)` and, for a failure, `: SOURCE CODE: REASON`.
fn delivery_line(event: &DeliveryEventRow) -> String {
    let mut line = format!(
        "{}  {} ({})",
        format::time(event.status_at),
        event.status,
        event.source
    );
    let failure: Vec<&str> = [&event.failure_source, &event.failure_code]
        .into_iter()
        .filter_map(|f| f.as_deref())
        .collect();
    if !failure.is_empty() {
        line.push_str(&format!(": {}", failure.join(" ")));
    }
    if let Some(reason) = &event.failure_reason {
        line.push_str(&format!(": {reason}"));
    }
    line
}

fn delivery_json(event: &DeliveryEventRow) -> serde_json::Value {
    serde_json::json!({
        "status": event.status,
        "at": format::time(event.status_at),
        "source": event.source,
        "failure_code": event.failure_code,
        "failure_source": event.failure_source,
        "failure_reason": event.failure_reason,
    })
}
