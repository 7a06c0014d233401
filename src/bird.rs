//! The HTTP client for Bird's Channels API and Bird's answers as types.
//!
//! Owns one `reqwest` client (rustls, connection pooling, a request timeout) and the access
//! key. It sends exactly what it is given and turns every possible answer, including
//! transport failures, into a [`SendResult`] without judging it: whether to retry is
//! decided in `dispatch::outcome`. Redirects are never followed (a 301/302 would turn the
//! POST into a GET whose 200 looks like success; a 307/308 to plain http would re-send the
//! body unencrypted), and no body is read past [`MAX_BODY`]. The key goes only into the `Authorization` header; no
//! error or log line built here contains it.

mod answer;
pub mod messages;

use serde::Deserialize;

pub use answer::{BirdError, MAX_BODY, RetryAfter, SendResult, classify};
pub use messages::{ListQuery, MessageInfo, MessagePage};

use crate::config::{AccessKey, BirdConfig};

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
            .redirect(reqwest::redirect::Policy::none())
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

    /// `POST /workspaces/{w}/channels/{c}/messages` with `body`, a JSON text.
    pub async fn send_message(&self, channel_id: &str, body: String) -> SendResult {
        let url = format!(
            "{}/workspaces/{}/channels/{}/messages",
            self.base_url, self.workspace_id, channel_id
        );
        let response = self
            .http
            .post(&url)
            .header("Authorization", self.auth())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
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
        let header = |name: &str| answer::header(&response, name);
        let retry_after = header("retry-after").and_then(|v| RetryAfter::parse(&v));
        let location = header("location");
        let text = match answer::read_bounded(response).await {
            Ok(t) => t,
            Err(e) => {
                return SendResult::Transport {
                    detail: describe(&e),
                };
            }
        };
        classify(status, retry_after, location, &text)
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
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = answer::read_bounded(response)
            .await
            .map_err(|e| SendResult::Transport {
                detail: describe(&e),
            })?;
        if status == 200 {
            return serde_json::from_str(&text).map_err(|e| SendResult::ServerError {
                http_status: status,
                detail: format!("unreadable answer: {e}"),
            });
        }
        Err(classify(status, None, location, &text))
    }
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
