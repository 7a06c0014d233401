//! Where a due send goes: Bird over HTTPS, or, with `--dry-run`, standard output.

use std::io::Write;

use crate::bird::{BirdClient, SendResult};

pub enum Transport {
    Bird(BirdClient),
    /// Prints each payload as one JSON line and reports it accepted with status `dry-run`.
    DryRun,
}

impl Transport {
    /// Sends `body`, a JSON text.
    pub async fn send(&self, channel_id: &str, body: String) -> SendResult {
        match self {
            Transport::Bird(client) => client.send_message(channel_id, body).await,
            Transport::DryRun => {
                let mut out = std::io::stdout().lock();
                // A closed stdout must not stop the daemon; the send is still recorded.
                let _ = writeln!(out, "{body}").and_then(|()| out.flush());
                SendResult::Accepted {
                    message_id: format!("dry-run-{}", uuid::Uuid::new_v4()),
                    status: "dry-run".to_owned(),
                }
            }
        }
    }
}
