//! Reading messages back from Bird: the channel's listing (reconciliation) and one message
//! by id (delivery polling).
//!
//! Owns the two GET requests and Bird's message object as far as msgspool reads it (id,
//! reference, status, `lastStatusAt`, `reason`, `failure`). Trusts nothing in the answer:
//! a message without an id is skipped, codes may be numbers or strings, an unreadable
//! body is a [`SendResult::ServerError`]. Guarantees the same as the POST: redirects not
//! followed, bodies read with a bound, the key only in the `Authorization` header.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{BirdClient, SendResult, answer, classify, describe};

/// The most messages one listing page asks for.
pub const PAGE_LIMIT: u32 = 100;

/// What msgspool reads of one of Bird's message objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    pub id: String,
    pub reference: Option<String>,
    pub status: String,
    pub last_status_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    /// `failure.source.code` when given (WhatsApp's error code), else `failure.code`.
    pub failure_code: Option<String>,
    pub failure_source: Option<String>,
}

/// One page of the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagePage {
    pub messages: Vec<MessageInfo>,
    pub next_page_token: Option<String>,
}

/// The time window and page a listing asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery<'a> {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub page_token: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPage {
    #[serde(default)]
    results: Vec<Value>,
    next_page_token: Option<String>,
}

/// Reads a message object; `None` without a string id.
pub fn message_info(v: &Value) -> Option<MessageInfo> {
    let text = |p: &str| v.pointer(p).and_then(code_text);
    let id = v
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())?;
    Some(MessageInfo {
        id: id.to_owned(),
        reference: text("/reference"),
        status: text("/status").unwrap_or_default(),
        last_status_at: v
            .get("lastStatusAt")
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc)),
        reason: text("/reason").or_else(|| text("/failure/description")),
        failure_code: text("/failure/source/code").or_else(|| text("/failure/code")),
        failure_source: text("/failure/source/name"),
    })
}

/// A code or word as text, whether Bird sent it as a string or a number; bounded.
fn code_text(v: &Value) -> Option<String> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Null | Value::Bool(_) | Value::Array(_) | Value::Object(_) => return None,
    };
    Some(answer::snippet(&text)).filter(|t| !t.is_empty())
}

impl BirdClient {
    /// `GET /workspaces/{w}/channels/{c}/messages?direction=outgoing&startAt&endAt&limit
    /// [&pageToken]`: one page of the channel's outgoing messages in the window.
    pub async fn list_messages(
        &self,
        channel_id: &str,
        query: &ListQuery<'_>,
    ) -> Result<MessagePage, SendResult> {
        let url = format!(
            "{}/workspaces/{}/channels/{}/messages",
            self.base_url, self.workspace_id, channel_id
        );
        let mut params = vec![
            ("direction", "outgoing".to_owned()),
            (
                "startAt",
                query.start.to_rfc3339_opts(SecondsFormat::Millis, true),
            ),
            (
                "endAt",
                query.end.to_rfc3339_opts(SecondsFormat::Millis, true),
            ),
            ("limit", PAGE_LIMIT.to_string()),
        ];
        if let Some(token) = query.page_token {
            params.push(("pageToken", token.to_owned()));
        }
        let text = self.get_json(&url, &params).await?;
        let page: RawPage = serde_json::from_str(&text).map_err(|e| unreadable(&e))?;
        Ok(MessagePage {
            messages: page.results.iter().filter_map(message_info).collect(),
            next_page_token: page.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    /// `GET /workspaces/{w}/channels/{c}/messages/{id}`.
    pub async fn get_message(
        &self,
        channel_id: &str,
        message_id: &str,
    ) -> Result<MessageInfo, SendResult> {
        let url = format!(
            "{}/workspaces/{}/channels/{}/messages/{}",
            self.base_url, self.workspace_id, channel_id, message_id
        );
        let text = self.get_json(&url, &[]).await?;
        let v: Value = serde_json::from_str(&text).map_err(|e| unreadable(&e))?;
        message_info(&v).ok_or_else(|| SendResult::ServerError {
            http_status: 200,
            detail: "a message without an id in the answer".to_owned(),
        })
    }

    /// A GET whose 200 body is returned as text; anything else sorted like a POST's answer.
    async fn get_json(&self, url: &str, params: &[(&str, String)]) -> Result<String, SendResult> {
        let transport = |e: reqwest::Error| SendResult::Transport {
            detail: describe(&e),
        };
        let response = self
            .http
            .get(url)
            .header("Authorization", self.auth())
            .query(params)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let header = |name: &str| answer::header(&response, name);
        let retry_after = header("retry-after").and_then(|v| super::RetryAfter::parse(&v));
        let location = header("location");
        let text = answer::read_bounded(response).await.map_err(transport)?;
        if status == 200 {
            return Ok(text);
        }
        Err(classify(status, retry_after, location, &text))
    }
}

fn unreadable(e: &serde_json::Error) -> SendResult {
    SendResult::ServerError {
        http_status: 200,
        detail: format!("unreadable answer: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_message_gives_whatsapps_code_and_the_reason() {
        let v = serde_json::json!({
            "id": "m1", "reference": "r1", "status": "delivery_failed",
            "lastStatusAt": "2026-12-02T10:00:00.000Z", "reason": "undeliverable",
            "failure": {"code": 5001, "source": {"name": "whatsapp", "code": 131026}}
        });
        let m = message_info(&v).unwrap();
        assert_eq!(m.failure_code.as_deref(), Some("131026"));
        assert_eq!(m.failure_source.as_deref(), Some("whatsapp"));
        assert_eq!(m.reason.as_deref(), Some("undeliverable"));
        assert!(m.last_status_at.is_some());
    }

    #[test]
    fn a_message_without_an_id_is_skipped() {
        for v in [
            serde_json::json!({"status": "sent"}),
            serde_json::json!({"id": 7}),
            serde_json::json!([]),
        ] {
            assert_eq!(message_info(&v), None);
        }
    }
}
