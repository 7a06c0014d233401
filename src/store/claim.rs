//! Claiming sends for dispatch, and giving back the ones a stopped daemon left claimed.
//!
//! Trusts: the writer to run each operation in one transaction (rolled back alone if it
//! fails), and to run it again from the start if its batch is retried. Guarantees: a claim
//! moves only `scheduled` sends to `sending`, in the transaction that read them, so two
//! claims never return the same send; one unreadable row is failed loudly and does not
//! stop the others; a send put back carries an `interrupted` attempt that does not count.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::sends::{ClaimedSend, moves, reads};
use super::{AttemptOutcome, AttemptRecord, EventKind, StoreError, attempts, events, outcome};

/// Claims due scheduled sends, oldest first: they become `sending`.
pub(super) fn claim_due(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<ClaimedSend>, StoreError> {
    let mut claimed = Vec::new();
    for row in reads::due(conn, now, limit)? {
        match row {
            Ok(send) => {
                moves::mark_sending(conn, send.send_id, now)?;
                claimed.push(send);
            }
            Err((send_id, error)) => {
                // One bad row must not stop every claim: that send ends failed, loudly.
                let reason = error.to_string();
                tracing::error!(send = send_id, %reason, "a send's row cannot be read: it is failed (unreadable row), the others go on");
                if moves::quarantine(conn, send_id, &reason, now)? > 0 {
                    let detail = format!("send {send_id} failed: unreadable row: {reason}");
                    let job = reads::job_of(conn, send_id)?;
                    events::insert(conn, now, EventKind::Quarantined, job.as_deref(), &detail)?;
                    if let Some(job) = job {
                        outcome::on_send_finished(conn, &job, now)?;
                    }
                }
            }
        }
    }
    Ok(claimed)
}

/// Puts every send left in `sending` back to `scheduled`, due `now` (or at its instant, for
/// one claimed ahead of it), with an `interrupted` attempt each (not counted) and one event.
pub(super) fn recover_interrupted(
    conn: &Connection,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let interrupted = reads::in_flight(conn)?;
    for send in &interrupted {
        let attempt = AttemptRecord {
            started: send.claimed_at.unwrap_or(now),
            finished: now,
            http_status: None,
            outcome: AttemptOutcome::Interrupted,
            error: Some(
                "msgspool stopped before the outcome of this attempt was recorded; \
                 Bird may or may not have received it"
                    .to_owned(),
            ),
        };
        attempts::insert(conn, send.send_id, &attempt)?;
        moves::unclaim(conn, send.send_id, Some(now), now)?;
    }
    if !interrupted.is_empty() {
        let detail = format!(
            "recovered {} interrupted send(s): scheduled again, due now (or at their instant)",
            interrupted.len()
        );
        events::insert(conn, now, EventKind::Recovered, None, &detail)?;
    }
    Ok(interrupted.len())
}

/// Puts claimed sends back to `scheduled` as they were due, counting nothing, each with an
/// `interrupted` attempt row saying the daemon stopped before its request finished.
pub(super) fn requeue(
    conn: &Connection,
    send_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for &send_id in send_ids {
        if moves::unclaim(conn, send_id, None, now)? == 0 {
            continue;
        }
        let attempt = AttemptRecord {
            started: now,
            finished: now,
            http_status: None,
            outcome: AttemptOutcome::Interrupted,
            error: Some(
                "msgspool was stopping: this send's request was not made or did not finish \
                 within shutdown_grace; it goes out after the restart"
                    .to_owned(),
            ),
        };
        attempts::insert(conn, send_id, &attempt)?;
    }
    Ok(())
}
