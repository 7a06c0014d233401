//! The fake's message store: every message it took, listed and looked up like Bird does.
//!
//! Owns the stored messages (kept when taken, before any delay or dropped answer, as Bird
//! stores a message before it answers) and their status timelines. Listing: the channel's
//! messages whose `createdAt` is within `startAt..=endAt`, oldest first, `limit` per page
//! (capped by [`FakeBird::set_list_page_size`]), `nextPageToken` while more remain. GET by
//! id: the message with the status its timeline has reached by now.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::{Answer, FakeBird, Outcome, Shared, error_body};

/// One step of a status timeline: `after` the message was taken it has `status`; a
/// failure step carries WhatsApp's code in `failure.source.code` and Bird's `reason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub after: Duration,
    pub status: &'static str,
    pub failure: Option<(u32, &'static str)>,
}

impl Step {
    pub fn to(after_ms: u64, status: &'static str) -> Step {
        Step {
            after: Duration::from_millis(after_ms),
            status,
            failure: None,
        }
    }

    pub fn failed(after_ms: u64, whatsapp_code: u32, reason: &'static str) -> Step {
        Step {
            after: Duration::from_millis(after_ms),
            status: "delivery_failed",
            failure: Some((whatsapp_code, reason)),
        }
    }
}

/// A message the fake took.
#[derive(Clone, Debug)]
pub struct StoredMessage {
    pub id: String,
    pub reference: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The message object as answered to the POST.
    pub message: Value,
}

pub(super) type Stored = StoredMessage;

fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

fn instant(query: &str, key: &str) -> Option<DateTime<Utc>> {
    let raw = query_value(query, key)?;
    let decoded = raw
        .replace("%3A", ":")
        .replace("%2B", "+")
        .replace("%3a", ":");
    DateTime::parse_from_rfc3339(&decoded)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Shared {
    /// Keeps a message the fake took; answers it back.
    pub(super) fn store_message(&self, message: Value) -> Value {
        let stored = StoredMessage {
            id: message["id"].as_str().unwrap_or_default().to_owned(),
            reference: message["reference"].as_str().map(str::to_owned),
            created_at: Utc::now(),
            message: message.clone(),
        };
        self.messages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(stored);
        message
    }

    fn stored(&self) -> Vec<StoredMessage> {
        self.messages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The message as it is now, its timeline applied.
    fn current(&self, m: &StoredMessage) -> Value {
        let steps = {
            let control = self.control();
            let reference = m.reference.clone().unwrap_or_default();
            control
                .timelines
                .iter()
                .find(|(prefix, _)| reference.starts_with(prefix.as_str()))
                .map(|(_, steps)| steps.clone())
                .unwrap_or_default()
        };
        let mut message = m.message.clone();
        let elapsed = (Utc::now() - m.created_at).to_std().unwrap_or_default();
        if let Some(step) = steps.iter().rev().find(|s| s.after <= elapsed) {
            let at = m.created_at + chrono::Duration::from_std(step.after).unwrap_or_default();
            message["status"] = json!(step.status);
            message["lastStatusAt"] = json!(text(at));
            message["updatedAt"] = json!(text(at));
            if let Some((code, reason)) = step.failure {
                message["reason"] = json!(reason);
                message["failure"] = json!({
                    "code": 5,
                    "description": reason,
                    "source": {"name": "whatsapp", "code": code}
                });
            }
        }
        message
    }

    pub(super) fn list(&self, query: &str) -> Outcome {
        let (Some(start), Some(end)) = (instant(query, "startAt"), instant(query, "endAt")) else {
            return Answer::json(
                400,
                error_body("BadRequest", "startAt and endAt are required", None),
            );
        };
        if end - start > chrono::Duration::days(7) {
            return Answer::json(
                400,
                error_body("BadRequest", "the window is longer than 7 days", None),
            );
        }
        let limit: usize = query_value(query, "limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(10);
        let limit = self
            .control()
            .page_size
            .map_or(limit, |cap| limit.min(cap))
            .max(1);
        let offset: usize = query_value(query, "pageToken")
            .and_then(|t| t.strip_prefix("p"))
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let window: Vec<StoredMessage> = self
            .stored()
            .into_iter()
            .filter(|m| start <= m.created_at && m.created_at <= end)
            .collect();
        let results: Vec<Value> = window
            .iter()
            .skip(offset)
            .take(limit)
            .map(|m| self.current(m))
            .collect();
        let next = offset + results.len();
        let mut page = json!({"results": results});
        if next < window.len() {
            page["nextPageToken"] = json!(format!("p{next}"));
        }
        Answer::json(200, page)
    }

    pub(super) fn message(&self, id: &str) -> Outcome {
        // One message cloned, not the whole store (benchmarks hold 10,000).
        let found = self
            .messages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|m| m.id == id)
            .cloned();
        match found {
            Some(m) => Answer::json(200, self.current(&m)),
            None => Answer::json(
                404,
                error_body(
                    "NotFound",
                    "The requested resource does not exist: message not found",
                    None,
                ),
            ),
        }
    }
}

impl FakeBird {
    /// Every message the fake took, in order.
    pub fn stored_messages(&self) -> Vec<StoredMessage> {
        self.shared.stored()
    }

    /// How many messages the fake took with this `reference`.
    pub fn copies_of(&self, reference: &str) -> usize {
        self.shared
            .stored()
            .iter()
            .filter(|m| m.reference.as_deref() == Some(reference))
            .count()
    }

    /// Takes a message as if it had been posted (for a listing with more in it).
    pub fn seed_message(&self, reference: &str) {
        let id = uuid::Uuid::new_v4().to_string();
        self.shared.store_message(json!({
            "id": id, "reference": reference, "status": "accepted", "direction": "outgoing",
            "channelId": self.shared.cfg.channel_id,
        }));
    }

    /// Listing pages hold at most `n` messages.
    pub fn set_list_page_size(&self, n: usize) {
        self.shared.control().page_size = Some(n);
    }

    /// Messages whose reference starts with `prefix` move through `steps`.
    pub fn set_timeline(&self, prefix: &str, steps: Vec<Step>) {
        self.shared
            .control()
            .timelines
            .push((prefix.to_owned(), steps));
    }

    /// The listing requests the fake answered (any status), in order.
    pub fn list_requests(&self) -> Vec<super::Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path == self.messages_path())
            .collect()
    }

    /// The GET-by-id requests the fake answered, in order.
    pub fn lookups(&self) -> Vec<super::Recorded> {
        let prefix = format!("{}/", self.messages_path());
        self.requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path.starts_with(&prefix))
            .collect()
    }
}
