//! PostgreSQL migration 1: the tables and views of SQLite's migrations 1 to 3 (the same
//! names and columns, so an operator's query reads both), and what several daemons on one
//! database need: the lease columns of `sends`, `nodes`, `leader` and `rate_buckets`.
//!
//! A shipped migration is never edited: later changes are higher-numbered ones, numbered
//! in step with SQLite's from here on.

/// Version 1: every table, index and view.
pub(super) const V1_INITIAL: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    channel       TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('once', 'cron')),
    cron          TEXT,
    timezone      TEXT,
    until_at      TIMESTAMPTZ,
    source_name   TEXT NOT NULL,
    source_text   TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'active'
                  CHECK (state IN ('active', 'finished', 'canceled', 'broken')),
    broken_reason TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    CHECK ((kind = 'cron') = (cron IS NOT NULL))
);

CREATE INDEX jobs_cron ON jobs (id) WHERE kind = 'cron';

CREATE TABLE sends (
    id                 BIGSERIAL PRIMARY KEY,
    job_id             TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    occurrence_at      TIMESTAMPTZ NOT NULL,
    due_at             TIMESTAMPTZ NOT NULL,
    expires_at         TIMESTAMPTZ NOT NULL,
    state              TEXT NOT NULL DEFAULT 'scheduled'
                       CHECK (state IN ('scheduled', 'sending', 'sent', 'failed', 'expired',
                              'canceled', 'replaced')),
    attempts           INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at    TIMESTAMPTZ,
    payload            TEXT NOT NULL,
    reference          TEXT NOT NULL,
    bird_message_id    TEXT,
    bird_status        TEXT,
    last_error         TEXT,
    error_code         TEXT,
    error_message      TEXT,
    error_details      TEXT,
    claimed_at         TIMESTAMPTZ,
    finished_at        TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    reconcile_from     TIMESTAMPTZ,
    delivery_status    TEXT CHECK (delivery_status IN ('accepted', 'scheduled', 'processing',
                       'sent', 'delivered', 'read', 'sending_failed', 'delivery_failed',
                       'rejected', 'skipped', 'deleted')),
    delivery_status_at TIMESTAMPTZ,
    failure_code       TEXT,
    failure_source     TEXT,
    failure_reason     TEXT,
    read_at            TIMESTAMPTZ,
    next_poll_at       TIMESTAMPTZ,
    polls              INTEGER NOT NULL DEFAULT 0 CHECK (polls >= 0),
    -- Who holds a `sending` send, with which token, until when: every later write of the
    -- send names the token, so a daemon whose lease was taken over changes nothing.
    lease_owner        TEXT,
    lease_token        BIGINT,
    lease_expires_at   TIMESTAMPTZ,
    UNIQUE (job_id, occurrence_at),
    CHECK (state <> 'scheduled' OR next_attempt_at IS NOT NULL)
);

CREATE INDEX sends_by_state_and_next_attempt ON sends (state, next_attempt_at);
-- The claim's question: scheduled sends by next attempt, and nothing else.
CREATE INDEX sends_due ON sends (next_attempt_at, id) WHERE state = 'scheduled';
-- The leader's question: leases that ran out.
CREATE INDEX sends_by_lease ON sends (lease_expires_at) WHERE state = 'sending';
CREATE INDEX sends_by_next_poll ON sends (next_poll_at) WHERE next_poll_at IS NOT NULL;
CREATE INDEX sends_by_bird_message_id ON sends (bird_message_id)
    WHERE bird_message_id IS NOT NULL;

CREATE TABLE attempts (
    id          BIGSERIAL PRIMARY KEY,
    send_id     BIGINT NOT NULL REFERENCES sends (id) ON DELETE CASCADE,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    http_status INTEGER CHECK (http_status BETWEEN 100 AND 999),
    outcome     TEXT NOT NULL CHECK (outcome IN ('sent', 'retry', 'throttled', 'failed',
                'unauthorized', 'redirected', 'expired', 'interrupted', 'unknown',
                'reconciled', 'not_found')),
    error       TEXT,
    -- The node that made the attempt (NULL on SQLite, where there is one).
    node        TEXT
);

CREATE INDEX attempts_by_send ON attempts (send_id);
CREATE INDEX attempts_by_start ON attempts (started_at);

CREATE TABLE rejections (
    id          BIGSERIAL PRIMARY KEY,
    file_name   TEXT NOT NULL,
    rejected_at TIMESTAMPTZ NOT NULL,
    error       TEXT NOT NULL
);

CREATE TABLE events (
    id      BIGSERIAL PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    kind    TEXT NOT NULL CHECK (kind <> ''),
    job_id  TEXT REFERENCES jobs (id) ON DELETE SET NULL,
    detail  TEXT NOT NULL
);

CREATE INDEX events_by_time ON events (at);
CREATE INDEX events_by_job ON events (job_id);

CREATE TABLE delivery_events (
    id             BIGSERIAL PRIMARY KEY,
    send_id        BIGINT NOT NULL REFERENCES sends (id) ON DELETE CASCADE,
    status         TEXT NOT NULL CHECK (status IN ('accepted', 'scheduled', 'processing',
                   'sent', 'delivered', 'read', 'sending_failed', 'delivery_failed',
                   'rejected', 'skipped', 'deleted')),
    status_at      TIMESTAMPTZ NOT NULL,
    source         TEXT NOT NULL CHECK (source IN ('post', 'reconcile', 'poll', 'webhook')),
    failure_code   TEXT,
    failure_source TEXT,
    failure_reason TEXT,
    recorded_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (send_id, status)
);

CREATE INDEX delivery_events_by_time ON delivery_events (status_at);

-- Every daemon on this database, with its last sign of life.
CREATE TABLE nodes (
    name         TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    spool        TEXT NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL
);

-- Singleton work (lease take-back, cron repair, pruning, node cleanup) is done by the
-- node holding this row's term; a term runs out unless renewed.
CREATE TABLE leader (
    name       TEXT PRIMARY KEY,
    node       TEXT NOT NULL,
    term       BIGINT NOT NULL,
    elected_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- One token bucket per workspace, shared by every daemon.
CREATE TABLE rate_buckets (
    workspace    TEXT PRIMARY KEY,
    tokens       DOUBLE PRECISION NOT NULL,
    refilled_at  TIMESTAMPTZ NOT NULL,
    paused_until TIMESTAMPTZ
);

CREATE VIEW upcoming AS
SELECT s.id AS send_id, s.job_id, j.channel, s.due_at, s.next_attempt_at, s.expires_at,
       s.attempts, s.last_error, s.reference
FROM sends s JOIN jobs j ON j.id = s.job_id
WHERE s.state = 'scheduled'
ORDER BY s.next_attempt_at, s.id;

CREATE VIEW failures AS
SELECT s.id AS send_id, s.job_id, j.channel, s.state, s.finished_at, s.attempts,
       s.last_error, s.error_code, s.error_message, s.error_details
FROM sends s JOIN jobs j ON j.id = s.job_id
WHERE s.state IN ('failed', 'expired')
ORDER BY s.finished_at DESC, s.id DESC;

CREATE VIEW recent_activity AS
SELECT a.started_at, a.finished_at, a.send_id, s.job_id, j.channel, a.outcome,
       a.http_status, a.error, s.state AS send_state, s.attempts
FROM attempts a
JOIN sends s ON s.id = a.send_id
JOIN jobs j ON j.id = s.job_id
WHERE a.started_at >= now() - interval '1 day'
ORDER BY a.started_at DESC, a.id DESC;

CREATE VIEW undelivered AS
SELECT s.id AS send_id, s.job_id, j.channel, s.finished_at AS sent_at, s.expires_at,
       s.bird_message_id, s.delivery_status, s.delivery_status_at, s.failure_code,
       s.failure_source, s.failure_reason
FROM sends s JOIN jobs j ON j.id = s.job_id
WHERE s.state = 'sent'
  AND COALESCE(s.delivery_status, '') NOT IN ('delivered', 'read')
  AND s.expires_at < now()
ORDER BY s.finished_at DESC, s.id DESC;

CREATE VIEW delivery_today AS
SELECT COALESCE(delivery_status, 'unknown') AS delivery_status, COUNT(*) AS sends
FROM sends
WHERE state = 'sent' AND finished_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
GROUP BY COALESCE(delivery_status, 'unknown')
ORDER BY sends DESC, delivery_status;

-- Who is alive, and what each holds (PostgreSQL only).
CREATE VIEW cluster AS
SELECT n.name AS node, n.host, n.pid, n.spool, n.started_at, n.heartbeat_at,
       now() - n.heartbeat_at AS silent_for,
       (SELECT l.node = n.name AND l.expires_at > now() FROM leader l WHERE l.name = 'msgspool')
           IS TRUE AS leader,
       (SELECT COUNT(*) FROM sends s WHERE s.state = 'sending' AND s.lease_owner = n.name)
           AS sends_held,
       (SELECT MAX(now() - s.claimed_at) FROM sends s
        WHERE s.state = 'sending' AND s.lease_owner = n.name) AS oldest_lease_age
FROM nodes n
ORDER BY n.name;
"#;
