//! The `sends` table: its row types and the one reader of its rows; the statements live
//! beside, split by what they do: [`reads`], [`moves`] (a send's way through dispatch) and
//! [`replace`] (new content for a job, an operator's cancel and retry).
//!
//! Owns: [`SendRow`] (a whole row, with its job's channel), [`ClaimedSend`] (what dispatch
//! gets from a claim, read by the same reader), [`NewSend`], [`SendFilter`].
//! Trusts: its caller for the connection and the transaction. Guarantees: every row is
//! read through [`StoredSend`]: a word that is not a state, a timestamp that is not ours
//! or a count beyond `u32` is a [`StoreError::BadValue`] naming the column.

pub(super) mod moves;
pub(super) mod reads;
pub(super) mod replace;

use chrono::{DateTime, Utc};
use rusqlite::Row;

use super::{SendState, StoreError, instant, optional_instant};

/// The columns [`StoredSend::read`] reads, in its order; statements add their own after.
macro_rules! select_sends {
    () => {
        "SELECT s.id, s.job_id, j.channel, s.state, s.occurrence_at, s.due_at, s.expires_at,
                s.next_attempt_at, s.attempts, s.reference, s.bird_message_id, s.bird_status,
                s.last_error, s.error_code, s.error_message, s.error_details, s.claimed_at,
                s.finished_at, s.created_at, s.updated_at, s.payload, s.reconcile_from"
    };
}
pub(super) use select_sends;

/// One message to send, as intake (or a recurring job's next occurrence) hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSend {
    /// The time the job asked for (`scheduledFor` or the cron occurrence).
    pub occurrence: DateTime<Utc>,
    /// When to make the first attempt (after Bird's immediate window and quiet hours).
    pub due: DateTime<Utc>,
    /// When the message stops being worth sending (its validity runs out).
    pub expires: DateTime<Utc>,
    /// Bird's JSON body, without `validity` (set per attempt).
    pub payload: String,
    /// The `reference` Bird receives.
    pub reference: String,
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
    /// Set while an earlier attempt's outcome is unknown: the start of that attempt, from
    /// which Bird's listing is searched before the send is posted again.
    pub reconcile_from: Option<DateTime<Utc>>,
}

impl SendRow {
    /// When the send is due next while it waits (its next attempt), else when it was due.
    /// `msgspool list` sorts and filters by this.
    pub fn due(&self) -> DateTime<Utc> {
        self.next_attempt_at.unwrap_or(self.due_at)
    }
}

/// A send claimed for dispatch: now in state `sending`, committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedSend {
    pub send_id: i64,
    pub job_id: String,
    pub channel: String,
    pub payload: String,
    pub reference: String,
    pub due: DateTime<Utc>,
    /// The occurrence this send is for (the time asked for).
    pub occurrence: DateTime<Utc>,
    /// True when the job is a `cron` job, whose next occurrence follows this one.
    pub recurring: bool,
    /// The job's `ignoreQuietHours` (read with the row; `plan::quiet_window` decides).
    pub ignore_quiet_hours: bool,
    pub expires: DateTime<Utc>,
    /// Attempts counted so far (before this one).
    pub attempts: u32,
    /// The start of an earlier attempt whose outcome is unknown: Bird is asked about it
    /// before this send is posted again (`dispatch/reconcile.rs`).
    pub reconcile_from: Option<DateTime<Utc>>,
}

impl ClaimedSend {
    /// The claim of a row read as `scheduled`, with what its job adds.
    fn of(row: SendRow, recurring: bool, ignore_quiet_hours: bool) -> ClaimedSend {
        ClaimedSend {
            send_id: row.id,
            job_id: row.job_id,
            channel: row.channel,
            payload: row.payload,
            reference: row.reference,
            due: row.due_at,
            occurrence: row.occurrence_at,
            recurring,
            ignore_quiet_hours,
            expires: row.expires_at,
            attempts: row.attempts,
            reconcile_from: row.reconcile_from,
        }
    }
}

/// Which sends a listing returns; every field narrows the list.
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

/// A `sends` row as stored, before its words and times are parsed.
struct StoredSend {
    id: i64,
    job_id: String,
    channel: String,
    state: String,
    occurrence_at: String,
    due_at: String,
    expires_at: String,
    next_attempt_at: Option<String>,
    attempts: i64,
    reference: String,
    bird_message_id: Option<String>,
    bird_status: Option<String>,
    last_error: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
    error_details: Option<String>,
    claimed_at: Option<String>,
    finished_at: Option<String>,
    created_at: String,
    updated_at: String,
    payload: String,
    reconcile_from: Option<String>,
}

impl StoredSend {
    /// The number of columns [`select_sends`] selects.
    const COLUMNS: usize = 22;

    fn read(row: &Row) -> rusqlite::Result<StoredSend> {
        Ok(StoredSend {
            id: row.get(0)?,
            job_id: row.get(1)?,
            channel: row.get(2)?,
            state: row.get(3)?,
            occurrence_at: row.get(4)?,
            due_at: row.get(5)?,
            expires_at: row.get(6)?,
            next_attempt_at: row.get(7)?,
            attempts: row.get(8)?,
            reference: row.get(9)?,
            bird_message_id: row.get(10)?,
            bird_status: row.get(11)?,
            last_error: row.get(12)?,
            error_code: row.get(13)?,
            error_message: row.get(14)?,
            error_details: row.get(15)?,
            claimed_at: row.get(16)?,
            finished_at: row.get(17)?,
            created_at: row.get(18)?,
            updated_at: row.get(19)?,
            payload: row.get(20)?,
            reconcile_from: row.get(21)?,
        })
    }

    fn parse(self) -> Result<SendRow, StoreError> {
        Ok(SendRow {
            id: self.id,
            job_id: self.job_id,
            channel: self.channel,
            state: SendState::read(self.state)?,
            occurrence_at: instant("sends.occurrence_at", &self.occurrence_at)?,
            due_at: instant("sends.due_at", &self.due_at)?,
            expires_at: instant("sends.expires_at", &self.expires_at)?,
            next_attempt_at: optional_instant("sends.next_attempt_at", self.next_attempt_at)?,
            attempts: u32::try_from(self.attempts).map_err(|_| StoreError::BadValue {
                column: "sends.attempts",
                value: self.attempts.to_string(),
            })?,
            reference: self.reference,
            bird_message_id: self.bird_message_id,
            bird_status: self.bird_status,
            last_error: self.last_error,
            error_code: self.error_code,
            error_message: self.error_message,
            error_details: self.error_details,
            claimed_at: optional_instant("sends.claimed_at", self.claimed_at)?,
            finished_at: optional_instant("sends.finished_at", self.finished_at)?,
            created_at: instant("sends.created_at", &self.created_at)?,
            updated_at: instant("sends.updated_at", &self.updated_at)?,
            payload: self.payload,
            reconcile_from: optional_instant("sends.reconcile_from", self.reconcile_from)?,
        })
    }
}
