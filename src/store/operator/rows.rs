//! What the operator's reads hand out and what its writes answer: plain data, times
//! parsed, states as enums, nothing tied to a connection. The CLI formats these; it never
//! sees SQL.

use chrono::{DateTime, Utc};

use crate::store::{AttemptOutcome, JobKind, SendState};

/// The states of a job, as stored in `jobs.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// It still has (or will have) sends to make.
    Active,
    /// Every send reached a final state.
    Finished,
    /// An operator canceled it; it sends nothing more.
    Canceled,
    /// A recurring job that no longer passes the rules under the current config; it sends
    /// nothing until a reload makes it valid again (`broken_reason` says why).
    Broken,
}

impl JobState {
    /// The lower-case word stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Active => "active",
            JobState::Finished => "finished",
            JobState::Canceled => "canceled",
            JobState::Broken => "broken",
        }
    }

    /// The state a stored word names, if it names one.
    pub fn from_word(word: &str) -> Option<JobState> {
        [
            JobState::Active,
            JobState::Finished,
            JobState::Canceled,
            JobState::Broken,
        ]
        .into_iter()
        .find(|state| state.as_str() == word)
    }
}

/// One row of `jobs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub id: String,
    pub channel: String,
    pub kind: JobKind,
    pub cron: Option<String>,
    pub timezone: Option<String>,
    pub until: Option<DateTime<Utc>>,
    pub source_name: String,
    pub source_text: String,
    pub sha256: String,
    pub state: JobState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Why a `broken` job no longer passes the rules.
    pub broken_reason: Option<String>,
}

/// One row of `sends`, with its job's channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRow {
    pub id: i64,
    pub job_id: String,
    pub channel: String,
    pub state: SendState,
    pub occurrence_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Set while the send waits (`scheduled`); kept while it is `sending`.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub attempts: u32,
    pub reference: String,
    pub bird_message_id: Option<String>,
    pub bird_status: Option<String>,
    pub last_error: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// Bird's error details, JSON text.
    pub error_details: Option<String>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bird's JSON body as stored (without `validity`).
    pub payload: String,
}

impl SendRow {
    /// When the send is due next while it waits (its next attempt), else when it was due.
    /// `msgspool list` sorts and filters by this.
    pub fn due(&self) -> DateTime<Utc> {
        self.next_attempt_at.unwrap_or(self.due_at)
    }
}

/// One row of `attempts`: one HTTP try of a send and Bird's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    pub id: i64,
    pub send_id: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// `None` when no HTTP answer came.
    pub http_status: Option<u16>,
    pub outcome: AttemptOutcome,
    pub error: Option<String>,
}

/// One row of `events` about a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub detail: String,
}

/// Which sends [`crate::store::Store::list_sends`] returns; every field narrows the list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendFilter {
    /// Sends in any of these states; every state when empty.
    pub states: Vec<SendState>,
    /// Sends of exactly this job.
    pub job_id: Option<String>,
    /// Sends of jobs whose id starts with this.
    pub job_prefix: Option<String>,
    /// Sends due (see [`SendRow::due`]) strictly before this instant.
    pub due_before: Option<DateTime<Utc>>,
    /// At most this many; all when `None`.
    pub limit: Option<usize>,
}

/// A send and every attempt of it, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendDetails {
    pub send: SendRow,
    pub attempts: Vec<AttemptRow>,
}

/// Everything `msgspool show` tells about a job, read in one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDetails {
    pub job: JobRow,
    /// Its sends by occurrence (only the one asked for by `show --send`).
    pub sends: Vec<SendDetails>,
    /// Its events, oldest first.
    pub events: Vec<EventRow>,
}

/// Sends that reached a final state within some window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FinishedCounts {
    pub sent: i64,
    pub failed: i64,
    pub expired: i64,
}

/// The numbers behind `msgspool stats`, read in one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// The instant the windows below end at.
    pub at: DateTime<Utc>,
    /// Every send state (zero when no send is in it), in [`SendState::ALL`] order.
    pub by_state: Vec<(SendState, i64)>,
    /// Sends that finished in the hour before `at`.
    pub last_hour: FinishedCounts,
    /// Sends that finished in the day before `at`.
    pub last_day: FinishedCounts,
    /// Job files rejected in the day before `at`.
    pub rejections_last_day: i64,
}

/// What a cancel did; not finding the job or send is a [`crate::store::StoreError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// These sends are `canceled` now, committed. `scheduled` ones will never be tried.
    /// `in_flight` ones had a request under way, which cannot be called back: if Bird
    /// accepts it the send ends `sent`, otherwise it is not tried again.
    Canceled {
        job_id: String,
        scheduled: Vec<i64>,
        in_flight: Vec<i64>,
    },
    /// It was canceled before; nothing changed.
    AlreadyCanceled { job_id: String },
    /// It had ended already (`state` is the job's or the send's); nothing changed.
    AlreadyEnded { job_id: String, state: &'static str },
    /// The send is an occurrence of a `cron` job, and only the job as a whole is canceled:
    /// dispatch adds a recurring job's next occurrence when one ends, so a canceled
    /// occurrence would end the schedule unnoticed. Nothing changed.
    RecurringSend { job_id: String },
}

/// What a retry did with one send; not finding it is a [`crate::store::StoreError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryOutcome {
    /// Scheduled again, due now, attempts back to 0, its job active (if it had
    /// finished); committed.
    Scheduled {
        send_id: i64,
        job_id: String,
        /// Its expiry now (later than before when it was extended).
        expires_at: DateTime<Utc>,
        extended: bool,
    },
    /// Only `failed` and `expired` sends are retried; nothing changed.
    NotRetryable { send_id: i64, state: SendState },
    /// Its expiry has passed and no new one was given; nothing changed.
    PastExpiry {
        send_id: i64,
        expires_at: DateTime<Utc>,
    },
    /// Its job was canceled, so nothing of it is sent any more; nothing changed.
    JobCanceled { send_id: i64, job_id: String },
    /// It is an occurrence of a `cron` job whose next occurrence (`next`) is already due:
    /// dispatch would skip it as overtaken. Nothing changed.
    Overtaken {
        send_id: i64,
        job_id: String,
        next: DateTime<Utc>,
    },
}
