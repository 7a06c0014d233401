//! The `[delivery]` table: following each sent message's status at Bird.
//!
//! Owns [`DeliveryConfig`] and its raw form. Polling is on by default; `poll_start` is the
//! first step of the look-up schedule (30 s; the later steps keep Bird's proportions:
//! 2 min, 10 min, 1 h, 6 h, 24 h at the default) so that a test can run the whole schedule
//! in seconds. Guarantees: `poll_start` is longer than zero and at most a day.

use std::time::Duration;

use serde::Deserialize;

use super::raw::RawDuration;

/// How delivery statuses are followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// Look sent messages up at Bird (`GET .../messages/{id}`) until a final status.
    pub poll: bool,
    /// The first wait of the look-up schedule.
    pub poll_start: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            poll: true,
            poll_start: Duration::from_secs(30),
        }
    }
}

/// `[delivery]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDelivery {
    pub(super) poll: Option<bool>,
    pub(super) poll_start: RawDuration,
}
