//! Bird's answers as types: the status sorted into a [`SendResult`], `Retry-After` read as
//! seconds or an HTTP-date, and bodies read with a bound.
//!
//! Trusts nothing from the network: a header or body of any size or shape gives a value,
//! never a panic. Guarantees: only a 2xx carrying a JSON message id is [`SendResult::Accepted`];
//! a 2xx without one is [`SendResult::Unconfirmed`] (Bird may have taken it, so it must not
//! be posted again), and a 3xx is [`SendResult::Redirected`] (never followed).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// The most of an answer's body that is read; the rest is left unread.
pub const MAX_BODY: usize = 64 * 1024;

/// Bird's error body (`RequestError` / `ValidationError`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct BirdError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub details: Option<Value>,
}

/// A `Retry-After` header as sent: a number of seconds (of any size) or an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    Seconds(u64),
    At(DateTime<Utc>),
}

impl RetryAfter {
    /// Reads the header: digits are seconds (saturating, so `10000000000000` is just very
    /// long), otherwise an HTTP-date (`Sun, 06 Nov 1994 08:49:37 GMT`); `None` for
    /// anything else.
    pub fn parse(text: &str) -> Option<RetryAfter> {
        let text = text.trim();
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            let seconds = text.parse::<u64>().unwrap_or(u64::MAX);
            return Some(RetryAfter::Seconds(seconds));
        }
        DateTime::parse_from_rfc2822(text)
            .ok()
            .map(|t| RetryAfter::At(t.with_timezone(&Utc)))
    }

    /// The wait it asks for from `now` (zero for an instant already past).
    pub fn wait_from(self, now: DateTime<Utc>) -> Duration {
        match self {
            RetryAfter::Seconds(s) => Duration::from_secs(s),
            RetryAfter::At(t) => (t - now).to_std().unwrap_or(Duration::ZERO),
        }
    }
}

/// Everything a POST of a message can end in.
#[derive(Debug, Clone, PartialEq)]
pub enum SendResult {
    /// 2xx with a message id: Bird took the message.
    Accepted { message_id: String, status: String },
    /// 2xx without a JSON message id: maybe taken, maybe not; never post it again.
    Unconfirmed { http_status: u16, detail: String },
    /// 3xx: not followed (a wrong `base_url`, most likely); the POST did not reach Bird.
    Redirected {
        http_status: u16,
        location: Option<String>,
    },
    /// 429: not processed; try again later.
    Throttled { retry_after: Option<RetryAfter> },
    /// 401/403: the key is wrong or lacks rights.
    Unauthorized { http_status: u16, error: BirdError },
    /// 400/404/409/422 and other 4xx: Bird will not take this message as it is.
    Rejected { http_status: u16, error: BirdError },
    /// 5xx, 408 and unexpected statuses: Bird could not answer now.
    ServerError { http_status: u16, detail: String },
    /// No HTTP answer: connection refused or dropped, timeout.
    Transport { detail: String },
}

/// Sorts an HTTP answer into a [`SendResult`].
pub fn classify(
    status: u16,
    retry_after: Option<RetryAfter>,
    location: Option<String>,
    text: &str,
) -> SendResult {
    let error = || {
        serde_json::from_str::<BirdError>(text).unwrap_or_else(|_| BirdError {
            code: String::new(),
            message: snippet(text),
            details: None,
        })
    };
    match status {
        200..=299 => {
            let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            match v.get("id").and_then(Value::as_str) {
                Some(id) if !id.is_empty() => SendResult::Accepted {
                    message_id: id.to_owned(),
                    status: v
                        .get("status")
                        .and_then(Value::as_str)
                        .unwrap_or("accepted")
                        .to_owned(),
                },
                _ => SendResult::Unconfirmed {
                    http_status: status,
                    detail: format!("no message id in the answer: {:?}", snippet(text)),
                },
            }
        }
        300..=399 => SendResult::Redirected {
            http_status: status,
            location: location.map(|l| snippet(&l)),
        },
        429 => SendResult::Throttled { retry_after },
        401 | 403 => SendResult::Unauthorized {
            http_status: status,
            error: error(),
        },
        408 => SendResult::ServerError {
            http_status: status,
            detail: snippet(text),
        },
        400..=499 => SendResult::Rejected {
            http_status: status,
            error: error(),
        },
        _ => SendResult::ServerError {
            http_status: status,
            detail: snippet(text),
        },
    }
}

/// A header of an answer as text, if it is there and readable.
pub fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Reads at most [`MAX_BODY`] bytes of a body, as text (invalid UTF-8 replaced).
pub async fn read_bounded(mut response: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_BODY {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The start of a body, for error messages.
pub fn snippet(text: &str) -> String {
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_sorted_by_status() {
        let ok = classify(202, None, None, r#"{"id":"m1","status":"accepted"}"#);
        assert_eq!(
            ok,
            SendResult::Accepted {
                message_id: "m1".into(),
                status: "accepted".into()
            }
        );
        assert_eq!(
            classify(429, Some(RetryAfter::Seconds(1)), None, ""),
            SendResult::Throttled {
                retry_after: Some(RetryAfter::Seconds(1))
            }
        );
        let rejected = classify(
            422,
            None,
            None,
            r#"{"code":"InvalidPayload","message":"bad","details":{"body":["x"]}}"#,
        );
        let SendResult::Rejected { http_status, error } = rejected else {
            panic!("422 is a rejection");
        };
        assert_eq!((http_status, error.code.as_str()), (422, "InvalidPayload"));
        assert!(error.details.is_some());
        assert!(matches!(
            classify(401, None, None, "{}"),
            SendResult::Unauthorized { .. }
        ));
        assert!(matches!(
            classify(503, None, None, "down"),
            SendResult::ServerError { .. }
        ));
        assert!(matches!(
            classify(408, None, None, ""),
            SendResult::ServerError { .. }
        ));
    }

    #[test]
    fn a_2xx_without_a_message_id_is_unconfirmed() {
        for body in [
            "<html>moved</html>",
            "",
            "{}",
            r#"{"id":""}"#,
            r#"{"id":7}"#,
        ] {
            assert!(
                matches!(
                    classify(200, None, None, body),
                    SendResult::Unconfirmed { .. }
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn a_redirect_names_its_location() {
        let r = classify(301, None, Some("https://example.com/x".into()), "");
        assert_eq!(
            r,
            SendResult::Redirected {
                http_status: 301,
                location: Some("https://example.com/x".into())
            }
        );
    }

    #[test]
    fn retry_after_is_read_as_seconds_of_any_size_or_an_http_date() {
        assert_eq!(RetryAfter::parse(" 7 "), Some(RetryAfter::Seconds(7)));
        assert_eq!(
            RetryAfter::parse("10000000000000"),
            Some(RetryAfter::Seconds(10_000_000_000_000))
        );
        assert_eq!(
            RetryAfter::parse("18446744073709551616999"),
            Some(RetryAfter::Seconds(u64::MAX))
        );
        let at = RetryAfter::parse("Wed, 02 Dec 2026 10:00:05 GMT").unwrap();
        let now = DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(at.wait_from(now), Duration::from_secs(5));
        assert_eq!(
            at.wait_from(now + chrono::Duration::hours(1)),
            Duration::ZERO
        );
        for junk in ["", "-1", "1.5", "soon", "\u{0}"] {
            assert_eq!(RetryAfter::parse(junk), None, "{junk:?}");
        }
    }
}
