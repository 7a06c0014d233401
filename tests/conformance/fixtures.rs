//! What the cases build their jobs and outcomes from; nothing backend-specific.

use chrono::{DateTime, Duration, Utc};
use msgspool::store::{
    AttemptOutcome, AttemptRecord, JobKind, NewJob, NewSend, SendFilter, SendRow, SendState,
    SendUpdate, Store,
};

/// The cases' "now".
pub fn now() -> DateTime<Utc> {
    "2026-03-01T10:00:00Z".parse().expect("an instant")
}

/// A send for `occurrence`, due then, valid for 36 hours.
pub fn send(occurrence: DateTime<Utc>) -> NewSend {
    NewSend {
        occurrence,
        due: occurrence,
        expires: occurrence + Duration::hours(36),
        payload: r#"{"receiver":{"contacts":[{"identifierKey":"phonenumber","identifierValue":"+31612345678"}]},"body":{"type":"text","text":{"text":"hi"}}}"#.to_owned(),
        reference: format!("msgspool-{}", occurrence.timestamp()),
    }
}

/// A one-off job with one send per occurrence; `content` stands for the file's text.
pub fn job(id: &str, content: &str, occurrences: &[DateTime<Utc>]) -> NewJob {
    NewJob {
        id: id.to_owned(),
        channel: "whatsapp".to_owned(),
        kind: JobKind::Once,
        cron: None,
        timezone: None,
        until: None,
        source_name: format!("{id}.toml"),
        source_text: content.to_owned(),
        sha256: format!("sha256-of-{id}-{content}"),
        sends: occurrences.iter().map(|&o| send(o)).collect(),
    }
}

/// A daily cron job with its first occurrence at `first`.
pub fn cron_job(id: &str, first: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: JobKind::Cron,
        cron: Some("0 10 * * *".to_owned()),
        timezone: Some("UTC".to_owned()),
        ..job(id, "daily", &[first])
    }
}

/// An attempt that ended at `at` with `outcome` (and HTTP `status`).
pub fn attempt(at: DateTime<Utc>, status: Option<u16>, outcome: AttemptOutcome) -> AttemptRecord {
    AttemptRecord {
        started: at,
        finished: at,
        http_status: status,
        outcome,
        error: None,
    }
}

/// Bird accepted the send at `at`.
pub fn sent(at: DateTime<Utc>) -> SendUpdate {
    SendUpdate::Sent {
        bird_message_id: "bird-1".to_owned(),
        bird_status: "accepted".to_owned(),
        at,
    }
}

/// Bird refused the send for good at `at` (HTTP 422).
pub fn failed(at: DateTime<Utc>) -> SendUpdate {
    SendUpdate::Failed {
        code: Some("InvalidPayload".to_owned()),
        message: "receiver is not valid".to_owned(),
        details: None,
        at,
    }
}

/// Stores job `id` with one send due now and claims it; returns its send id.
pub async fn claimed(store: &Store, id: &str) -> i64 {
    store
        .accept_job(job(id, "v1", &[now()]), now())
        .await
        .expect("accept");
    let claimed = store.claim_due(now(), 10).await.expect("claim");
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    claimed[0].send_id
}

/// Every send of every job.
pub async fn all_sends(store: &Store) -> Vec<SendRow> {
    store.list_sends(SendFilter::default()).await.expect("list")
}

/// One send, which must exist.
pub async fn one(store: &Store, send_id: i64) -> SendRow {
    store
        .send(send_id)
        .await
        .expect("read")
        .expect("the send exists")
}

/// The sends of a job in `state`.
pub async fn in_state(store: &Store, job_id: &str, state: SendState) -> Vec<SendRow> {
    let filter = SendFilter {
        states: vec![state],
        job_id: Some(job_id.to_owned()),
        ..SendFilter::default()
    };
    store.list_sends(filter).await.expect("list")
}
