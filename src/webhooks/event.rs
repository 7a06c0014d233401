//! What one of Bird's webhook bodies says: `whatsapp.outbound` (a message object with its
//! status, as a look-up answers) and `whatsapp.interaction` (of type `read`: WhatsApp's read
//! receipt for `payload.messageId`).
//!
//! Pure. Owns the reading of the body. Trusts nothing in it: every field is optional to
//! serde and checked here; a body that is not JSON of this shape is [`BadEvent`]. Guarantees:
//! an event msgspool does not follow (another event or interaction type, a status word it
//! does not know) is [`Event::Ignored`], never an error, so Bird does not retry it.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::bird::messages::message_info;
use crate::store::{DeliveryStatus, DeliveryUpdate};

/// A webhook body, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A status for the message Bird knows as `message_id`.
    Status {
        message_id: String,
        update: DeliveryUpdate,
    },
    /// Nothing msgspool stores; why, for the log.
    Ignored(String),
}

/// A body that is not one of Bird's events.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BadEvent {
    #[error("the body is not JSON")]
    NotJson,
    #[error("the body has no `event` name")]
    NoEventName,
    #[error("the event has no `payload` object with a message id")]
    NoMessageId,
}

/// Reads a webhook body; `now` stands in for a time Bird did not give.
pub fn parse(body: &[u8], now: DateTime<Utc>) -> Result<Event, BadEvent> {
    let v: Value = serde_json::from_slice(body).map_err(|_| BadEvent::NotJson)?;
    let name = v
        .get("event")
        .and_then(Value::as_str)
        .ok_or(BadEvent::NoEventName)?;
    let payload = v
        .get("payload")
        .filter(|p| p.is_object())
        .ok_or(BadEvent::NoMessageId)?;
    match name {
        "whatsapp.outbound" => outbound(payload, now),
        "whatsapp.interaction" => interaction(payload, now),
        other => Ok(Event::Ignored(format!("event `{}`", clip(other)))),
    }
}

fn outbound(payload: &Value, now: DateTime<Utc>) -> Result<Event, BadEvent> {
    let m = message_info(payload).ok_or(BadEvent::NoMessageId)?;
    let Some(status) = DeliveryStatus::from_word(&m.status) else {
        return Ok(Event::Ignored(format!("status `{}`", clip(&m.status))));
    };
    Ok(Event::Status {
        message_id: m.id,
        update: DeliveryUpdate {
            status,
            at: m.last_status_at.unwrap_or(now),
            failure_code: m.failure_code,
            failure_source: m.failure_source,
            failure_reason: m.reason,
            source: "webhook",
        },
    })
}

fn interaction(payload: &Value, now: DateTime<Utc>) -> Result<Event, BadEvent> {
    let message_id = payload
        .get("messageId")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or(BadEvent::NoMessageId)?;
    let kind = payload.get("type").and_then(Value::as_str).unwrap_or("");
    if kind != "read" {
        return Ok(Event::Ignored(format!("interaction `{}`", clip(kind))));
    }
    let at = payload
        .get("createdAt")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or(now, |t| t.with_timezone(&Utc));
    Ok(Event::Status {
        message_id: clip(message_id),
        update: DeliveryUpdate {
            status: DeliveryStatus::Read,
            at,
            failure_code: None,
            failure_source: None,
            failure_reason: None,
            source: "webhook",
        },
    })
}

/// A word from the body, bounded for the log.
fn clip(text: &str) -> String {
    text.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn an_outbound_failure_carries_whatsapps_code() {
        let body = br#"{"service":"channels","event":"whatsapp.outbound","payload":{
            "id":"m-1","status":"delivery_failed","lastStatusAt":"2026-12-02T09:59:00Z",
            "reason":"undeliverable","failure":{"code":"x","source":{"name":"whatsapp","code":131026}}}}"#;
        let Event::Status { message_id, update } = parse(body, now()).unwrap() else {
            panic!("not a status");
        };
        assert_eq!(message_id, "m-1");
        assert_eq!(update.status, DeliveryStatus::DeliveryFailed);
        assert_eq!(update.failure_code.as_deref(), Some("131026"));
        assert_eq!(update.failure_source.as_deref(), Some("whatsapp"));
        assert_eq!(update.at.to_rfc3339(), "2026-12-02T09:59:00+00:00");
    }

    #[test]
    fn a_read_interaction_is_read_for_its_message() {
        let body = br#"{"event":"whatsapp.interaction","payload":{"id":"i-1","messageId":"m-2","type":"read"}}"#;
        let Event::Status { message_id, update } = parse(body, now()).unwrap() else {
            panic!("not a status");
        };
        assert_eq!(
            (message_id.as_str(), update.status),
            ("m-2", DeliveryStatus::Read)
        );
        assert_eq!(update.at, now());
    }

    #[test]
    fn what_msgspool_does_not_follow_is_ignored_and_garbage_is_refused() {
        let ignored = |b: &[u8]| matches!(parse(b, now()), Ok(Event::Ignored(_)));
        assert!(ignored(br#"{"event":"sms.outbound","payload":{"id":"m"}}"#));
        assert!(ignored(
            br#"{"event":"whatsapp.interaction","payload":{"messageId":"m","type":"tap"}}"#
        ));
        assert!(ignored(
            br#"{"event":"whatsapp.outbound","payload":{"id":"m","status":"teleported"}}"#
        ));
        assert_eq!(parse(b"{not json", now()), Err(BadEvent::NotJson));
        assert_eq!(
            parse(br#"{"payload":{}}"#, now()),
            Err(BadEvent::NoEventName)
        );
        assert_eq!(
            parse(
                br#"{"event":"whatsapp.outbound","payload":{"status":"sent"}}"#,
                now()
            ),
            Err(BadEvent::NoMessageId)
        );
        assert_eq!(
            parse(br#"{"event":"whatsapp.outbound","payload":[]}"#, now()),
            Err(BadEvent::NoMessageId)
        );
    }
}
