//! Where a due send goes: Bird over HTTPS, or, with `--dry-run`, standard output.

use std::io::Write;

use serde_json::Value;

use crate::bird::{BirdClient, SendResult};

pub enum Transport {
    Bird(BirdClient),
    /// Prints each payload as one JSON line and reports it accepted with status `dry-run`.
    DryRun,
}

impl Transport {
    pub async fn send(&self, channel_id: &str, body: &Value) -> SendResult {
        match self {
            Transport::Bird(client) => client.send_message(channel_id, body).await,
            Transport::DryRun => {
                let line = body.to_string();
                let mut out = std::io::stdout().lock();
                // A closed stdout must not stop the daemon; the send is still recorded.
                let _ = writeln!(out, "{line}").and_then(|()| out.flush());
                SendResult::Accepted {
                    message_id: format!("dry-run-{}", uuid::Uuid::new_v4()),
                    status: "dry-run".to_owned(),
                }
            }
        }
    }
}
