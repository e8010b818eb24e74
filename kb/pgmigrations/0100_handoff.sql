-- 0100_handoff: agents, console sessions, handoff episodes and events, canned responses, notes,
-- webhook deliveries, CSAT and the unanswered inbox, shared by every node of a cluster. Mirrors the
-- SQLite schema (kb/migrations/0100_handoff.sql): times are BIGINT Unix milliseconds, 0 for "not yet".

CREATE TABLE IF NOT EXISTS agents (
    id             TEXT PRIMARY KEY,
    email          TEXT NOT NULL,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('agent', 'admin')),
    skills         TEXT NOT NULL DEFAULT '[]',
    max_concurrent INTEGER NOT NULL DEFAULT 0 CHECK (max_concurrent >= 0),
    disabled       BOOLEAN NOT NULL DEFAULT false,
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS agents_email ON agents (lower(email));

CREATE TABLE IF NOT EXISTS agent_sessions (
    token_hash TEXT PRIMARY KEY,
    agent_id   TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    user_agent TEXT NOT NULL DEFAULT '',
    remote_ip  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS agent_sessions_agent ON agent_sessions(agent_id);
CREATE INDEX IF NOT EXISTS agent_sessions_expires ON agent_sessions(expires_at);

CREATE TABLE IF NOT EXISTS handoffs (
    conv_id           TEXT NOT NULL,
    requested_at      BIGINT NOT NULL,
    customer_id       TEXT NOT NULL DEFAULT '',
    state             TEXT NOT NULL CHECK (state IN ('bot', 'queued', 'assigned', 'resolved')),
    skill             TEXT NOT NULL DEFAULT '',
    priority          INTEGER NOT NULL DEFAULT 0,
    reason            TEXT NOT NULL DEFAULT '',
    agent_id          TEXT NOT NULL DEFAULT '',
    requeues          INTEGER NOT NULL DEFAULT 0,
    queued_at         BIGINT NOT NULL DEFAULT 0,
    assigned_at       BIGINT NOT NULL DEFAULT 0,
    first_response_at BIGINT NOT NULL DEFAULT 0,
    resolved_at       BIGINT NOT NULL DEFAULT 0,
    outcome           TEXT NOT NULL DEFAULT '',
    version           BIGINT NOT NULL DEFAULT 0,
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (conv_id, requested_at)
);
CREATE INDEX IF NOT EXISTS handoffs_open ON handoffs(state) WHERE state IN ('queued', 'assigned');
CREATE INDEX IF NOT EXISTS handoffs_requested ON handoffs(requested_at);

CREATE TABLE IF NOT EXISTS handoff_events (
    id         BIGSERIAL PRIMARY KEY,
    conv_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    agent_id   TEXT NOT NULL DEFAULT '',
    prev_agent TEXT NOT NULL DEFAULT '',
    actor      TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '',
    at         BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS handoff_events_conv ON handoff_events(conv_id, id);

CREATE TABLE IF NOT EXISTS canned_responses (
    id         BIGSERIAL PRIMARY KEY,
    shortcut   TEXT NOT NULL,
    title      TEXT NOT NULL DEFAULT '',
    text       TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS canned_shortcut ON canned_responses (lower(shortcut));

CREATE TABLE IF NOT EXISTS handoff_notes (
    id         BIGSERIAL PRIMARY KEY,
    conv_id    TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS handoff_notes_conv ON handoff_notes(conv_id, id);

CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id               BIGSERIAL PRIMARY KEY,
    event_id         TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL,
    conv_id          TEXT NOT NULL DEFAULT '',
    url              TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_status_code INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    next_attempt_at  BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_pending ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';

CREATE TABLE IF NOT EXISTS csat (
    conv_id      TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    agent_id     TEXT NOT NULL DEFAULT '',
    rating       INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment      TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (conv_id, requested_at)
);

CREATE TABLE IF NOT EXISTS unanswered (
    id          BIGSERIAL PRIMARY KEY,
    conv_id     TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    text        TEXT NOT NULL,
    intent      TEXT NOT NULL DEFAULT '',
    confidence  DOUBLE PRECISION NOT NULL DEFAULT 0,
    reason      TEXT NOT NULL DEFAULT '',
    label       TEXT NOT NULL DEFAULT '',
    labelled_by TEXT NOT NULL DEFAULT '',
    labelled_at BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    UNIQUE (conv_id, seq)
);
CREATE INDEX IF NOT EXISTS unanswered_open ON unanswered(created_at) WHERE label = '';
