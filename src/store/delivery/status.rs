//! Bird's message statuses as one type, and the order they move in.
//!
//! Pure. Owns the words (`accepted` … `deleted`, plus `read`, WhatsApp's read interaction
//! stored as the last step) and the rule that a status only moves forward: Bird retries a
//! webhook for hours with its original timestamp, and a poll may overtake a webhook, so
//! whatever arrives late must not undo what is already known.

/// A message's delivery status as Bird reports it (and `read`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeliveryStatus {
    Accepted,
    Scheduled,
    Processing,
    Sent,
    Delivered,
    Read,
    SendingFailed,
    DeliveryFailed,
    Rejected,
    Skipped,
    Deleted,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 11] = [
        DeliveryStatus::Accepted,
        DeliveryStatus::Scheduled,
        DeliveryStatus::Processing,
        DeliveryStatus::Sent,
        DeliveryStatus::Delivered,
        DeliveryStatus::Read,
        DeliveryStatus::SendingFailed,
        DeliveryStatus::DeliveryFailed,
        DeliveryStatus::Rejected,
        DeliveryStatus::Skipped,
        DeliveryStatus::Deleted,
    ];

    /// The lower-case word Bird uses and the database stores.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Accepted => "accepted",
            DeliveryStatus::Scheduled => "scheduled",
            DeliveryStatus::Processing => "processing",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::SendingFailed => "sending_failed",
            DeliveryStatus::DeliveryFailed => "delivery_failed",
            DeliveryStatus::Rejected => "rejected",
            DeliveryStatus::Skipped => "skipped",
            DeliveryStatus::Deleted => "deleted",
        }
    }

    /// Reads Bird's word; `None` for one msgspool does not know (it is then not stored).
    pub fn from_word(word: &str) -> Option<DeliveryStatus> {
        DeliveryStatus::ALL.into_iter().find(|s| s.as_str() == word)
    }

    /// How far along the message is: a status replaces another only when its step is
    /// higher. Every end Bird reports shares one step, so the first end reported stands;
    /// `read` comes after `delivered`.
    pub fn step(self) -> u8 {
        match self {
            DeliveryStatus::Accepted | DeliveryStatus::Scheduled => 0,
            DeliveryStatus::Processing => 1,
            DeliveryStatus::Sent => 2,
            DeliveryStatus::Delivered
            | DeliveryStatus::SendingFailed
            | DeliveryStatus::DeliveryFailed
            | DeliveryStatus::Rejected
            | DeliveryStatus::Skipped
            | DeliveryStatus::Deleted => 3,
            DeliveryStatus::Read => 4,
        }
    }

    /// True when Bird will report nothing after it (polling stops).
    pub fn is_final(self) -> bool {
        self.step() >= 3
    }

    /// True for the statuses that mean the message did not arrive.
    pub fn is_failure(self) -> bool {
        match self {
            DeliveryStatus::SendingFailed
            | DeliveryStatus::DeliveryFailed
            | DeliveryStatus::Rejected
            | DeliveryStatus::Skipped
            | DeliveryStatus::Deleted => true,
            DeliveryStatus::Accepted
            | DeliveryStatus::Scheduled
            | DeliveryStatus::Processing
            | DeliveryStatus::Sent
            | DeliveryStatus::Delivered
            | DeliveryStatus::Read => false,
        }
    }

    /// Whether `self` may replace `current` (`None`: nothing known yet).
    pub fn moves_forward_from(self, current: Option<DeliveryStatus>) -> bool {
        current.is_none_or(|c| self.step() > c.step())
    }
}

#[cfg(test)]
mod tests {
    use super::DeliveryStatus as S;

    #[test]
    fn every_word_reads_back_as_itself() {
        for s in S::ALL {
            assert_eq!(S::from_word(s.as_str()), Some(s));
        }
        assert_eq!(S::from_word("Delivered"), None);
    }

    #[test]
    fn a_status_only_moves_forward() {
        assert!(S::Delivered.moves_forward_from(Some(S::Sent)));
        assert!(S::Read.moves_forward_from(Some(S::Delivered)));
        assert!(!S::Sent.moves_forward_from(Some(S::Delivered)));
        assert!(!S::DeliveryFailed.moves_forward_from(Some(S::Delivered)));
        assert!(!S::Delivered.moves_forward_from(Some(S::Delivered)));
        assert!(S::Accepted.moves_forward_from(None));
    }
}
