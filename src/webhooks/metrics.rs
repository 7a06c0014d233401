//! `GET /metrics`: the daemon's numbers in Prometheus' text format (version 0.0.4).
//!
//! Owns the metric names and their rendering. Trusts the store for the counts (three reads
//! on the read-only connection; nothing is kept in memory, so a restart loses nothing).
//! Guarantees: every family has one `# HELP` and one `# TYPE` line, then one
//! `name{label="value"} number` line per label value, labels being our own fixed words.

use std::fmt::Write;

use crate::store::{Store, StoreError};

/// The page, read from the store now.
pub async fn render(store: &Store) -> Result<String, StoreError> {
    let states = store.send_states().await?;
    let attempts = store.attempt_counts().await?;
    let delivery = store.delivery_counts().await?;
    let mut out = String::new();
    family(
        &mut out,
        "msgspool_sends",
        "gauge",
        "Sends by state (the queue's depth is state=\"scheduled\").",
        states.iter().map(|(s, n)| ("state", s.as_str(), *n)),
    );
    family(
        &mut out,
        "msgspool_attempts_total",
        "counter",
        "Requests to Bird (and reconciliations) by outcome; outcome=\"sent\" counts sends made.",
        attempts.iter().map(|(o, n)| ("outcome", o.as_str(), *n)),
    );
    family(
        &mut out,
        "msgspool_delivery",
        "gauge",
        "Sent messages by what Bird reported (read ones count as delivered too).",
        [
            ("status", "delivered", delivery.delivered),
            ("status", "read", delivery.read),
            ("status", "failed", delivery.failed),
            ("status", "pending", delivery.pending),
        ]
        .into_iter(),
    );
    lateness(&mut out, &crate::dispatch::lateness::LATENESS.snapshot());
    Ok(out)
}

/// The first attempts' lateness as a Prometheus histogram (cumulative `le` buckets).
fn lateness(out: &mut String, s: &crate::dispatch::lateness::Snapshot) {
    let name = "msgspool_lateness_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} How long after its due instant a send's first request started."
    );
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (bound, n) in &s.cumulative {
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", s.count);
    let _ = writeln!(out, "{name}_sum {}", s.sum_seconds);
    let _ = writeln!(out, "{name}_count {}", s.count);
}

fn family<'a>(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    samples: impl Iterator<Item = (&'a str, &'a str, i64)>,
) {
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (label, value, count) in samples {
        let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {count}");
    }
}
