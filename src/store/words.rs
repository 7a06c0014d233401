//! Every state and outcome word the database holds, each enum generated from one list.
//!
//! Owns: [`SendState`], [`JobState`], [`JobKind`], [`AttemptOutcome`], [`EventKind`],
//! [`RunMode`] and the lower-case words stored for them. Trusts: the schema's CHECK constraints to allow
//! these words (a test in `store::tests::schema` writes every one of them).
//!
//! Guarantees: each enum, its `as_str`, its `from_word` and its `ALL` array come from the
//! same `words!` list, so a new variant cannot compile without its word, and no array can
//! miss a variant. `as_str` and `from_word` are exact inverses (tested below).

use super::StoreError;

/// Declares an enum of stored words: the variants, one word each, and the column they
/// are stored in (named when a stored word is not one of them).
macro_rules! words {
    (
        $(#[$meta:meta])*
        pub enum $name:ident in $column:literal {
            $($(#[$variant_meta:meta])* $variant:ident = $word:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [$name; [$($word),+].len()] = [$($name::$variant),+];

            /// The lower-case word stored in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }

            /// The variant a stored word names, if it names one.
            pub fn from_word(word: &str) -> Option<$name> {
                match word {
                    $($word => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// Reads a stored word, naming the column when it is not one of ours.
            #[allow(dead_code, reason = "event kinds are read back as text")]
            pub(super) fn read(text: String) -> Result<$name, StoreError> {
                $name::from_word(&text).ok_or(StoreError::BadValue {
                    column: $column,
                    value: text,
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

words! {
    /// The states of a send, as stored in `sends.state`, in the order a send moves
    /// through them.
    pub enum SendState in "sends.state" {
        Scheduled = "scheduled",
        Sending = "sending",
        Sent = "sent",
        Failed = "failed",
        Expired = "expired",
        Canceled = "canceled",
        /// New content for its job replaced it before it was sent; its attempts are kept.
        Replaced = "replaced",
    }
}

words! {
    /// The states of a job, as stored in `jobs.state`.
    pub enum JobState in "jobs.state" {
        /// It still has (or will have) sends to make.
        Active = "active",
        /// Every send reached a final state.
        Finished = "finished",
        /// An operator canceled it; it sends nothing more.
        Canceled = "canceled",
        /// A recurring job that no longer passes the rules under the current config; it
        /// sends nothing until a reload makes it valid again (`broken_reason` says why).
        Broken = "broken",
    }
}

words! {
    /// Whether a job sends once or on a cron schedule, as stored in `jobs.kind`.
    pub enum JobKind in "jobs.kind" {
        Once = "once",
        Cron = "cron",
    }
}

words! {
    /// How one try ended, as stored in `attempts.outcome`.
    pub enum AttemptOutcome in "attempts.outcome" {
        Sent = "sent",
        Retry = "retry",
        Throttled = "throttled",
        Failed = "failed",
        Unauthorized = "unauthorized",
        /// A 3xx: not followed, so Bird never saw the message.
        Redirected = "redirected",
        Expired = "expired",
        Interrupted = "interrupted",
        /// No answer came after the request may have reached Bird (a timeout, a connection
        /// lost after the request was written): Bird is asked before any re-post.
        Unknown = "unknown",
        /// Bird's listing held the message: it counts as sent, no POST was made.
        Reconciled = "reconciled",
        /// A complete search of Bird's listing did not find it: it may be posted again.
        NotFound = "not_found",
    }
}

words! {
    /// How a daemon sends, as stored in the `mode` row of `meta`: to Bird, or printed
    /// (`--dry-run`).
    pub enum RunMode in "meta.value (mode)" {
        Live = "live",
        DryRun = "dry-run",
    }
}

words! {
    /// What an `events` row tells of, as stored in `events.kind`. The schema allows any
    /// non-empty word there (rows an operator added stay readable), msgspool writes these.
    pub enum EventKind in "events.kind" {
        /// New content for a job replaced its pending sends.
        Replaced = "replaced",
        /// A send's row could not be read: it was failed.
        Quarantined = "quarantined",
        /// Sends left `sending` by a stopped daemon were scheduled again.
        Recovered = "recovered",
        /// A recurring job passed over occurrences (downtime catch-up).
        Skipped = "skipped",
        Canceled = "canceled",
        Retried = "retried",
        Broken = "broken",
        Mended = "mended",
        /// The database's run mode was recorded.
        Mode = "mode",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks that every variant's word reads back as that variant and that no two
    /// variants share a word.
    fn round_trips<T: Copy + PartialEq + std::fmt::Debug>(
        all: &[T],
        as_str: fn(T) -> &'static str,
        from_word: fn(&str) -> Option<T>,
    ) {
        for &variant in all {
            assert_eq!(from_word(as_str(variant)), Some(variant));
            let same_word = all.iter().filter(|&&v| as_str(v) == as_str(variant));
            assert_eq!(same_word.count(), 1, "{variant:?} shares its word");
        }
    }

    #[test]
    fn every_word_reads_back_as_its_variant() {
        round_trips(&SendState::ALL, SendState::as_str, SendState::from_word);
        round_trips(&JobState::ALL, JobState::as_str, JobState::from_word);
        round_trips(&JobKind::ALL, JobKind::as_str, JobKind::from_word);
        round_trips(
            &AttemptOutcome::ALL,
            AttemptOutcome::as_str,
            AttemptOutcome::from_word,
        );
        round_trips(&EventKind::ALL, EventKind::as_str, EventKind::from_word);
        round_trips(&RunMode::ALL, RunMode::as_str, RunMode::from_word);
    }

    #[test]
    fn a_word_that_is_not_ours_names_its_column() {
        assert_eq!(
            SendState::read("Sent".to_owned()),
            Err(StoreError::BadValue {
                column: "sends.state",
                value: "Sent".to_owned()
            })
        );
        assert_eq!(JobKind::from_word("daily"), None);
    }
}
