//! Jobs and attempts as the store takes them, for tests that talk to a backend directly.

use chrono::{DateTime, Utc};
use msgspool::store::{AttemptOutcome, AttemptRecord, JobKind, NewJob, NewSend};

/// A one-off job `id` with one send due at each of `times`, expiring 36 h after it.
pub fn one_off(id: &str, times: &[DateTime<Utc>]) -> NewJob {
    NewJob {
        id: id.to_owned(),
        channel: "whatsapp".to_owned(),
        kind: JobKind::Once,
        cron: None,
        timezone: None,
        until: None,
        source_name: format!("{id}.toml"),
        source_text: id.to_owned(),
        sha256: format!("sha-{id}"),
        sends: times
            .iter()
            .map(|&t| NewSend {
                occurrence: t,
                due: t,
                expires: t + chrono::Duration::hours(36),
                payload: "{}".to_owned(),
                reference: format!("ref-{id}-{}", t.timestamp()),
            })
            .collect(),
    }
}

/// A try that Bird answered 202 at `at`.
pub fn accepted_at(at: DateTime<Utc>) -> AttemptRecord {
    AttemptRecord {
        started: at,
        finished: at,
        http_status: Some(202),
        outcome: AttemptOutcome::Sent,
        error: None,
    }
}
