//! The fake's webhooks: Bird's `whatsapp.outbound` and `whatsapp.interaction` events for
//! the messages it took, posted to a URL signed as Bird signs them, unsigned, or signed
//! with the wrong key.
//!
//! Owns the event bodies and the signing, done by the `openssl` command (not by msgspool's
//! code under test): base64(HMAC-SHA256(key, timestamp + "\n" + public URL + "\n" +
//! SHA-256(body))).

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine;
use serde_json::{Value, json};

use super::FakeBird;

/// How a webhook is signed.
#[derive(Debug, Clone, Copy)]
pub enum Signing<'a> {
    /// With the subscription's key, as Bird does.
    Key(&'a str),
    /// No `messagebird-signature` header.
    Unsigned,
    /// With a key that is not the subscription's.
    WrongKey,
}

/// `openssl dgst -sha256 [-hmac KEY] -binary` of `data`.
fn openssl_digest(hmac_key: Option<&str>, data: &[u8]) -> Vec<u8> {
    let mut cmd = Command::new("openssl");
    cmd.args(["dgst", "-sha256", "-binary"]);
    if let Some(key) = hmac_key {
        cmd.args(["-hmac", key]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl failed");
    out.stdout
}

/// Bird's signature of `body` posted to `public_url` at `timestamp` under `key`.
pub fn bird_signature(key: &str, timestamp: &str, public_url: &str, body: &[u8]) -> String {
    let mut message = format!("{timestamp}\n{public_url}\n").into_bytes();
    message.extend(openssl_digest(None, body));
    base64::engine::general_purpose::STANDARD.encode(openssl_digest(Some(key), &message))
}

impl FakeBird {
    /// A `whatsapp.outbound` event: message `id` reached `status` at `at` (RFC 3339).
    pub fn outbound_event(&self, id: &str, status: &str, at: &str) -> Value {
        json!({
            "service": "channels",
            "event": "whatsapp.outbound",
            "payload": {
                "id": id, "channelId": self.shared.cfg.channel_id, "direction": "outgoing",
                "status": status, "lastStatusAt": at,
            },
        })
    }

    /// A `whatsapp.interaction` event: message `id` was read at `at`.
    pub fn read_event(&self, id: &str, at: &str) -> Value {
        json!({
            "service": "channels",
            "event": "whatsapp.interaction",
            "payload": {
                "id": uuid::Uuid::new_v4().to_string(), "channelId": self.shared.cfg.channel_id,
                "messageId": id, "type": "read", "createdAt": at,
            },
        })
    }
}

/// POSTs `body` to `url` (the listener), signed for `public_url`; the HTTP status.
pub fn post_webhook(url: &str, public_url: &str, body: &[u8], signing: Signing<'_>) -> u16 {
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let signature = match signing {
        Signing::Key(key) => Some(bird_signature(key, &timestamp, public_url, body)),
        Signing::WrongKey => Some(bird_signature("not-the-key", &timestamp, public_url, body)),
        Signing::Unsigned => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut request = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .header("messagebird-request-timestamp", &timestamp)
            .body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header("messagebird-signature", signature);
        }
        request
            .send()
            .await
            .expect("webhook POST")
            .status()
            .as_u16()
    })
}

/// GETs `url`: its status and body.
pub fn get(url: &str) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let answer = reqwest::get(url).await.expect("GET");
        let status = answer.status().as_u16();
        (status, answer.text().await.unwrap_or_default())
    })
}
