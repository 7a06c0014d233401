//! Migration 1: the initial schema (jobs, sends, attempts, rejections, events) and the
//! views operators read (`upcoming`, `failures`, `recent_activity`).
//!
//! A shipped migration is never edited: later changes are higher-numbered ones (see
//! [`super::v2`]), so this text is what every database started from.

/// Version 1: every table and view.
pub(super) const V1_INITIAL: &str = "
CREATE TABLE jobs (
    id          TEXT PRIMARY KEY NOT NULL,
    channel     TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('once', 'cron')),
    cron        TEXT,
    timezone    TEXT,
    until_at    TEXT CHECK (until_at GLOB '????-??-??T??:??:??.???Z'),
    source_name TEXT NOT NULL,
    source_text TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'active'
                CHECK (state IN ('active', 'finished', 'canceled')),
    created_at  TEXT NOT NULL CHECK (created_at GLOB '????-??-??T??:??:??.???Z'),
    updated_at  TEXT NOT NULL CHECK (updated_at GLOB '????-??-??T??:??:??.???Z'),
    CHECK ((kind = 'cron') = (cron IS NOT NULL))
);

CREATE TABLE sends (
    id              INTEGER PRIMARY KEY,
    job_id          TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    occurrence_at   TEXT NOT NULL CHECK (occurrence_at GLOB '????-??-??T??:??:??.???Z'),
    due_at          TEXT NOT NULL CHECK (due_at GLOB '????-??-??T??:??:??.???Z'),
    expires_at      TEXT NOT NULL CHECK (expires_at GLOB '????-??-??T??:??:??.???Z'),
    state           TEXT NOT NULL DEFAULT 'scheduled'
                    CHECK (state IN ('scheduled', 'sending', 'sent', 'failed', 'expired', 'canceled')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT CHECK (next_attempt_at GLOB '????-??-??T??:??:??.???Z'),
    payload         TEXT NOT NULL CHECK (json_valid(payload)),
    reference       TEXT NOT NULL,
    bird_message_id TEXT,
    bird_status     TEXT,
    last_error      TEXT,
    error_code      TEXT,
    error_message   TEXT,
    error_details   TEXT CHECK (error_details IS NULL OR json_valid(error_details)),
    claimed_at      TEXT CHECK (claimed_at GLOB '????-??-??T??:??:??.???Z'),
    finished_at     TEXT CHECK (finished_at GLOB '????-??-??T??:??:??.???Z'),
    created_at      TEXT NOT NULL CHECK (created_at GLOB '????-??-??T??:??:??.???Z'),
    updated_at      TEXT NOT NULL CHECK (updated_at GLOB '????-??-??T??:??:??.???Z'),
    UNIQUE (job_id, occurrence_at),
    CHECK (state <> 'scheduled' OR next_attempt_at IS NOT NULL)
);

-- The dispatcher's question (the earliest scheduled send) and the count per state.
CREATE INDEX sends_by_state_and_next_attempt ON sends (state, next_attempt_at);

CREATE TABLE attempts (
    id          INTEGER PRIMARY KEY,
    send_id     INTEGER NOT NULL REFERENCES sends (id) ON DELETE CASCADE,
    started_at  TEXT NOT NULL CHECK (started_at GLOB '????-??-??T??:??:??.???Z'),
    finished_at TEXT NOT NULL CHECK (finished_at GLOB '????-??-??T??:??:??.???Z'),
    http_status INTEGER CHECK (http_status BETWEEN 100 AND 999),
    outcome     TEXT NOT NULL CHECK (outcome IN
                ('sent', 'retry', 'throttled', 'failed', 'unauthorized', 'expired', 'interrupted')),
    error       TEXT
);

CREATE INDEX attempts_by_send ON attempts (send_id);
CREATE INDEX attempts_by_start ON attempts (started_at);

CREATE TABLE rejections (
    id          INTEGER PRIMARY KEY,
    file_name   TEXT NOT NULL,
    rejected_at TEXT NOT NULL CHECK (rejected_at GLOB '????-??-??T??:??:??.???Z'),
    error       TEXT NOT NULL
);

CREATE TABLE events (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL CHECK (at GLOB '????-??-??T??:??:??.???Z'),
    kind    TEXT NOT NULL CHECK (kind <> ''),
    job_id  TEXT REFERENCES jobs (id) ON DELETE SET NULL,
    detail  TEXT NOT NULL
);

CREATE INDEX events_by_time ON events (at);
CREATE INDEX events_by_job ON events (job_id);

-- Sends waiting for their time (or their next retry), earliest first.
CREATE VIEW upcoming AS
SELECT s.id AS send_id, s.job_id, j.channel, s.due_at, s.next_attempt_at, s.expires_at,
       s.attempts, s.last_error, s.reference
FROM sends s JOIN jobs j ON j.id = s.job_id
WHERE s.state = 'scheduled'
ORDER BY s.next_attempt_at, s.id;

-- Sends that ended without being sent, most recent first.
CREATE VIEW failures AS
SELECT s.id AS send_id, s.job_id, j.channel, s.state, s.finished_at, s.attempts,
       s.last_error, s.error_code, s.error_message, s.error_details
FROM sends s JOIN jobs j ON j.id = s.job_id
WHERE s.state IN ('failed', 'expired')
ORDER BY s.finished_at DESC, s.id DESC;

-- Every attempt of the last 24 hours, newest first.
CREATE VIEW recent_activity AS
SELECT a.started_at, a.finished_at, a.send_id, s.job_id, j.channel, a.outcome,
       a.http_status, a.error, s.state AS send_state, s.attempts
FROM attempts a
JOIN sends s ON s.id = a.send_id
JOIN jobs j ON j.id = s.job_id
WHERE a.started_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day')
ORDER BY a.started_at DESC, a.id DESC;
";
