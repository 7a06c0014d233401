//! How the operator commands show the store's rows: aligned tables for people, one JSON
//! object per row for programs.
//!
//! Times are shown as the database stores them (UTC, `YYYY-MM-DDTHH:MM:SS.sssZ`), so what
//! people read matches what `sqlite3` shows. JSON keys are the database's column names;
//! JSON stored as text (a payload, Bird's error details) is embedded as JSON, not as a
//! string. Nothing here writes: callers write the lines and stop at the first error.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::store::{AttemptRow, EventRow, JobRow, SendRow};
use crate::timefmt::utc_text;

/// An instant as the database shows it.
pub(super) fn time(t: DateTime<Utc>) -> String {
    utc_text(t)
}

/// An optional instant, `-` when absent.
pub(super) fn optional_time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "-".to_owned(), utc_text)
}

/// `text` on one line (runs of white space become one space), cut to `max` characters
/// with `…` when longer.
pub(super) fn shorten(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Right,
}

/// A table whose columns are as wide as their widest cell, two spaces apart.
pub(super) struct Table {
    columns: Vec<(&'static str, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(super) fn new(columns: &[(&'static str, Align)]) -> Table {
        Table {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; it has one cell per column.
    pub(super) fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// Writes the header and the rows, one line each; the last column is not padded.
    pub(super) fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        let mut widths: Vec<usize> = self
            .columns
            .iter()
            .map(|(name, _)| name.chars().count())
            .collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let header: Vec<String> = self.columns.iter().map(|(n, _)| (*n).to_owned()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            let last = row.len().saturating_sub(1);
            for (i, cell) in row.iter().enumerate() {
                let width = widths.get(i).copied().unwrap_or(0);
                let align = self.columns.get(i).map_or(Align::Left, |c| c.1);
                let pad = " ".repeat(width.saturating_sub(cell.chars().count()));
                match align {
                    Align::Right => line.push_str(&format!("{pad}{cell}")),
                    Align::Left if i == last => line.push_str(cell),
                    Align::Left => line.push_str(&format!("{cell}{pad}")),
                }
                if i != last {
                    line.push_str("  ");
                }
            }
            // An empty last cell would leave the separator hanging.
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// Stored JSON text as JSON; text that is not JSON stays a string.
pub(super) fn embedded_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// Stored JSON text, pretty-printed when it is JSON.
pub(super) fn pretty_json(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => serde_json::to_string_pretty(&value).unwrap_or_else(|_| text.to_owned()),
        Err(_) => text.to_owned(),
    }
}

/// Every column of a send.
pub(super) fn send_json(send: &SendRow) -> Value {
    json!({
        "id": send.id,
        "job_id": send.job_id,
        "channel": send.channel,
        "state": send.state.as_str(),
        "occurrence_at": time(send.occurrence_at),
        "due_at": time(send.due_at),
        "expires_at": time(send.expires_at),
        "next_attempt_at": send.next_attempt_at.map(time),
        "attempts": send.attempts,
        "reference": send.reference,
        "bird_message_id": send.bird_message_id,
        "bird_status": send.bird_status,
        "last_error": send.last_error,
        "error_code": send.error_code,
        "error_message": send.error_message,
        "error_details": send.error_details.as_deref().map(embedded_json),
        "claimed_at": send.claimed_at.map(time),
        "finished_at": send.finished_at.map(time),
        "created_at": time(send.created_at),
        "updated_at": time(send.updated_at),
        "payload": embedded_json(&send.payload),
    })
}

/// Every column of a job.
pub(super) fn job_json(job: &JobRow) -> Value {
    json!({
        "id": job.id,
        "channel": job.channel,
        "kind": job.kind.as_str(),
        "cron": job.cron,
        "timezone": job.timezone,
        "until_at": job.until.map(time),
        "source_name": job.source_name,
        "source_text": job.source_text,
        "sha256": job.sha256,
        "state": job.state.as_str(),
        "broken_reason": job.broken_reason,
        "created_at": time(job.created_at),
        "updated_at": time(job.updated_at),
    })
}

/// Every column of an attempt.
pub(super) fn attempt_json(attempt: &AttemptRow) -> Value {
    json!({
        "id": attempt.id,
        "send_id": attempt.send_id,
        "started_at": time(attempt.started_at),
        "finished_at": time(attempt.finished_at),
        "http_status": attempt.http_status,
        "outcome": attempt.outcome.as_str(),
        "error": attempt.error,
    })
}

/// An event of a job.
pub(super) fn event_json(event: &EventRow) -> Value {
    json!({
        "at": time(event.at),
        "kind": event.kind,
        "detail": event.detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_puts_text_on_one_line_and_cuts_it_with_an_ellipsis() {
        assert_eq!(shorten("a\n  b", 10), "a b");
        assert_eq!(shorten("abcdefgh", 5), "abcd…");
        assert_eq!(shorten("abcde", 5), "abcde");
    }

    #[test]
    fn a_table_aligns_its_columns_and_does_not_pad_the_last() {
        let mut table = Table::new(&[("ID", Align::Right), ("NAME", Align::Left)]);
        table.push(vec!["7".to_owned(), "a".to_owned()]);
        table.push(vec!["123".to_owned(), "bb".to_owned()]);
        let mut out = Vec::new();
        table.write_to(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            " ID  NAME\n  7  a\n123  bb\n"
        );
    }
}
