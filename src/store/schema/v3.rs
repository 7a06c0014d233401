//! Migration 3: what happened to every message after Bird took it, and the mark that
//! makes dispatch ask Bird before posting a send again.
//!
//! Owns the SQL of version 3. `sends.reconcile_from` is the start of the earliest attempt
//! whose outcome msgspool never learned (a timeout, a connection lost after the request
//! was written, a crash): while it is set, the send is looked up at Bird by its
//! `reference` before any new POST. The delivery columns hold the latest status Bird
//! reported (by polling or webhook); `delivery_events` keeps one row per status change.
//! Guarantees: every new column is NULL (or 0) for rows written before, so the migration
//! leaves every stored row valid; statuses are lower-case words checked by CHECK.

/// Bird's message statuses, as `sends.delivery_status` and `delivery_events.status` hold
/// them (`read` is WhatsApp's read interaction, stored as a status of its own).
pub(super) const V3_DELIVERY: &str = "
ALTER TABLE sends ADD COLUMN reconcile_from TEXT
    CHECK (reconcile_from GLOB '????-??-??T??:??:??.???Z');
ALTER TABLE sends ADD COLUMN delivery_status TEXT
    CHECK (delivery_status IN ('accepted', 'scheduled', 'processing', 'sent', 'delivered',
           'read', 'sending_failed', 'delivery_failed', 'rejected', 'skipped', 'deleted'));
ALTER TABLE sends ADD COLUMN delivery_status_at TEXT
    CHECK (delivery_status_at GLOB '????-??-??T??:??:??.???Z');
ALTER TABLE sends ADD COLUMN failure_code TEXT;
ALTER TABLE sends ADD COLUMN failure_source TEXT;
ALTER TABLE sends ADD COLUMN failure_reason TEXT;
ALTER TABLE sends ADD COLUMN read_at TEXT CHECK (read_at GLOB '????-??-??T??:??:??.???Z');
ALTER TABLE sends ADD COLUMN next_poll_at TEXT
    CHECK (next_poll_at GLOB '????-??-??T??:??:??.???Z');
ALTER TABLE sends ADD COLUMN polls INTEGER NOT NULL DEFAULT 0 CHECK (polls >= 0);

-- Start-up's cron review reads only the cron jobs; without this it walks every job row
-- (a million one-shot jobs make a restart take a second).
CREATE INDEX jobs_cron ON jobs (id) WHERE kind = 'cron';

-- The poller's question: which sent messages are due for a status look-up.
CREATE INDEX sends_by_next_poll ON sends (next_poll_at) WHERE next_poll_at IS NOT NULL;
-- Webhooks and late answers find a send by Bird's id.
CREATE INDEX sends_by_bird_message_id ON sends (bird_message_id)
    WHERE bird_message_id IS NOT NULL;

CREATE TABLE delivery_events (
    id          INTEGER PRIMARY KEY,
    send_id     INTEGER NOT NULL REFERENCES sends (id) ON DELETE CASCADE,
    status      TEXT NOT NULL CHECK (status IN ('accepted', 'scheduled', 'processing', 'sent',
                'delivered', 'read', 'sending_failed', 'delivery_failed', 'rejected',
                'skipped', 'deleted')),
    status_at   TEXT NOT NULL CHECK (status_at GLOB '????-??-??T??:??:??.???Z'),
    source      TEXT NOT NULL CHECK (source IN ('post', 'reconcile', 'poll', 'webhook')),
    failure_code   TEXT,
    failure_source TEXT,
    failure_reason TEXT,
    recorded_at TEXT NOT NULL CHECK (recorded_at GLOB '????-??-??T??:??:??.???Z'),
    UNIQUE (send_id, status)
);

CREATE INDEX delivery_events_by_time ON delivery_events (status_at);

-- Sent messages that Bird has not reported delivered (or read) and whose validity is
-- over: they will not arrive any more.
CREATE VIEW undelivered AS
SELECT s.id AS send_id, s.job_id, j.channel, s.finished_at AS sent_at, s.expires_at,
       s.bird_message_id, s.delivery_status, s.delivery_status_at, s.failure_code,
       s.failure_source, s.failure_reason
FROM sends s JOIN jobs j ON j.id = s.job_id
WHERE s.state = 'sent'
  AND COALESCE(s.delivery_status, '') NOT IN ('delivered', 'read')
  AND s.expires_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
ORDER BY s.finished_at DESC, s.id DESC;

-- Today's (UTC) sent messages counted by their latest delivery status.
CREATE VIEW delivery_today AS
SELECT COALESCE(delivery_status, 'unknown') AS delivery_status, COUNT(*) AS sends
FROM sends
WHERE state = 'sent' AND finished_at >= strftime('%Y-%m-%dT00:00:00.000Z', 'now')
GROUP BY COALESCE(delivery_status, 'unknown')
ORDER BY sends DESC, delivery_status;
";
