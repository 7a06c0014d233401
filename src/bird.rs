//! The HTTP client for Bird's Channels API and Bird's answers as types.
//!
//! Owns one `reqwest` client (rustls, connection pooling, a request timeout) and the access
//! key. It sends exactly what it is given and turns every possible answer, including
//! transport failures, into a [`SendResult`] without judging it: whether to retry is
//! decided in `dispatch::outcome`. The key goes only into the `Authorization` header; no
//! error or log line built here contains it.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::config::{AccessKey, BirdConfig};

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

/// Everything a POST of a message can end in.
#[derive(Debug, Clone, PartialEq)]
pub enum SendResult {
    /// 2xx: Bird took the message.
    Accepted { message_id: String, status: String },
    /// 429: not processed; try again later.
    Throttled { retry_after: Option<Duration> },
    /// 401/403: the key is wrong or lacks rights.
    Unauthorized { http_status: u16, error: BirdError },
    /// 400/404/409/422 and other 4xx: Bird will not take this message as it is.
    Rejected { http_status: u16, error: BirdError },
    /// 5xx, 408 and unexpected statuses: Bird could not answer now.
    ServerError { http_status: u16, detail: String },
    /// No HTTP answer: connection refused or dropped, timeout.
    Transport { detail: String },
}

/// Bird's answer to "get channel details for a contact".
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactChannelInfo {
    pub service_window_expire_at: Option<String>,
    pub is_permanent_session: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
}

/// A client for one Bird workspace.
#[derive(Clone)]
pub struct BirdClient {
    http: reqwest::Client,
    base_url: String,
    workspace_id: String,
    key: AccessKey,
}

impl BirdClient {
    pub fn new(cfg: &BirdConfig, workspace_id: &str, key: AccessKey) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(cfg.request_timeout)
            .pool_max_idle_per_host(cfg.max_in_flight.max(1))
            .user_agent(concat!("msgspool/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Build(e.to_string()))?;
        Ok(Self {
            http,
            base_url: cfg.base_url.trim_end_matches('/').to_owned(),
            workspace_id: workspace_id.to_owned(),
            key,
        })
    }

    fn auth(&self) -> String {
        format!("AccessKey {}", self.key.expose())
    }

    /// `POST /workspaces/{w}/channels/{c}/messages` with `body`.
    pub async fn send_message(&self, channel_id: &str, body: &Value) -> SendResult {
        let url = format!(
            "{}/workspaces/{}/channels/{}/messages",
            self.base_url, self.workspace_id, channel_id
        );
        let response = self
            .http
            .post(&url)
            .header("Authorization", self.auth())
            .json(body)
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                return SendResult::Transport {
                    detail: describe(&e),
                };
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) => {
                return SendResult::Transport {
                    detail: describe(&e),
                };
            }
        };
        classify(status, retry_after, &text)
    }

    /// `GET /workspaces/{w}/channels/{c}/contacts/{id}?contactIdentifierValue=...`.
    pub async fn contact_info(
        &self,
        channel_id: &str,
        contact_id: &str,
        identifier: Option<&str>,
    ) -> Result<ContactChannelInfo, SendResult> {
        let url = format!(
            "{}/workspaces/{}/channels/{}/contacts/{}",
            self.base_url, self.workspace_id, channel_id, contact_id
        );
        let mut req = self.http.get(&url).header("Authorization", self.auth());
        if let Some(v) = identifier {
            req = req.query(&[("contactIdentifierValue", v)]);
        }
        let response = req.send().await.map_err(|e| SendResult::Transport {
            detail: describe(&e),
        })?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| SendResult::Transport {
            detail: describe(&e),
        })?;
        if status == 200 {
            return serde_json::from_str(&text).map_err(|e| SendResult::ServerError {
                http_status: status,
                detail: format!("unreadable answer: {e}"),
            });
        }
        Err(classify(status, None, &text))
    }
}

/// Sorts an HTTP answer into a [`SendResult`].
pub fn classify(status: u16, retry_after: Option<Duration>, text: &str) -> SendResult {
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
            SendResult::Accepted {
                message_id: v["id"].as_str().unwrap_or_default().to_owned(),
                status: v["status"].as_str().unwrap_or("accepted").to_owned(),
            }
        }
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

/// The start of a body, for error messages.
fn snippet(text: &str) -> String {
    text.chars().take(300).collect()
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "connection error"
    };
    // Display of a reqwest error names the URL (no credentials in it) and the cause.
    let mut detail = format!("{kind}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(&format!(": {s}"));
        source = s.source();
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_sorted_by_status() {
        let ok = classify(202, None, r#"{"id":"m1","status":"accepted"}"#);
        assert_eq!(
            ok,
            SendResult::Accepted {
                message_id: "m1".into(),
                status: "accepted".into()
            }
        );
        assert_eq!(
            classify(429, Some(Duration::from_secs(1)), ""),
            SendResult::Throttled {
                retry_after: Some(Duration::from_secs(1))
            }
        );
        let rejected = classify(
            422,
            None,
            r#"{"code":"InvalidPayload","message":"bad","details":{"body":["x"]}}"#,
        );
        let SendResult::Rejected { http_status, error } = rejected else {
            panic!("422 is a rejection");
        };
        assert_eq!((http_status, error.code.as_str()), (422, "InvalidPayload"));
        assert!(error.details.is_some());
        assert!(matches!(
            classify(401, None, "{}"),
            SendResult::Unauthorized { .. }
        ));
        assert!(matches!(
            classify(503, None, "down"),
            SendResult::ServerError { .. }
        ));
        assert!(matches!(
            classify(408, None, ""),
            SendResult::ServerError { .. }
        ));
    }
}
