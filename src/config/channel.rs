//! The channels a config names: Bird's channel id, the kind of traffic (which sets the
//! default validity) and its own quiet-hours setting; and the error of a job naming a
//! channel the config does not have.

use std::fmt;
use std::time::Duration;

use super::QuietHours;

/// One Bird channel that jobs may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub name: String,
    /// Bird's channel id.
    pub id: String,
    pub kind: ChannelKind,
    pub quiet_hours: ChannelQuietHours,
}

/// A channel's own quiet-hours setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelQuietHours {
    /// Use the config's `[quiet_hours]` (none if it has none).
    Inherit,
    /// `quiet_hours = false`: no quiet hours for this channel.
    Off,
    /// `[channels.NAME.quiet_hours]`: these instead of the config's.
    Own(QuietHours),
}

/// The kind of traffic a channel carries; it sets the default `validity` (DESIGN.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    Promotional,
    Conversational,
    Transactional,
    TwoFa,
}

impl ChannelKind {
    pub(super) const ALL: [ChannelKind; 4] = [
        ChannelKind::Promotional,
        ChannelKind::Conversational,
        ChannelKind::Transactional,
        ChannelKind::TwoFa,
    ];

    /// How long Bird may keep trying to deliver when a job sets no `validity`.
    pub fn default_validity(self) -> Duration {
        match self {
            ChannelKind::TwoFa => Duration::from_secs(600),
            ChannelKind::Promotional | ChannelKind::Conversational | ChannelKind::Transactional => {
                Duration::from_secs(129_600)
            }
        }
    }

    /// The name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Promotional => "promotional",
            ChannelKind::Conversational => "conversational",
            ChannelKind::Transactional => "transactional",
            ChannelKind::TwoFa => "2fa",
        }
    }

    pub(super) fn from_name(name: &str) -> Option<ChannelKind> {
        ChannelKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job named a channel the config does not have, or named none when it had to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelLookupError {
    #[error("unknown channel `{name}`; the config defines {}", known_list(.known))]
    Unknown { name: String, known: Vec<String> },
    #[error(
        "no channel given and the config defines {}; set `channel` to one of them",
        known_list(.known)
    )]
    NotChosen { known: Vec<String> },
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        return "no channels".to_owned();
    }
    let names: Vec<String> = known.iter().map(|n| format!("`{n}`")).collect();
    format!(
        "{}: {}",
        if known.len() == 1 {
            "one channel"
        } else {
            "channels"
        },
        names.join(", ")
    )
}
