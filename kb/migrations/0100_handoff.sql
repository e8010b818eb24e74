-- 0100_handoff: human handoff and the agent console. Times are INTEGER Unix milliseconds (UTC), 0 for
-- "not yet"; JSON documents are TEXT.

CREATE TABLE agents (
    id             TEXT PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('agent', 'admin')),
    skills         TEXT NOT NULL DEFAULT '[]',
    max_concurrent INTEGER NOT NULL DEFAULT 0 CHECK (max_concurrent >= 0),
    disabled       INTEGER NOT NULL DEFAULT 0,
    password_hash  TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- Only the SHA-256 of a session token is stored.
CREATE TABLE agent_sessions (
    token_hash TEXT PRIMARY KEY,
    agent_id   TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    user_agent TEXT NOT NULL DEFAULT '',
    remote_ip  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX agent_sessions_agent ON agent_sessions(agent_id);
CREATE INDEX agent_sessions_expires ON agent_sessions(expires_at);

-- One row per handoff episode of a conversation (a conversation handed off twice has two rows).
CREATE TABLE handoffs (
    conv_id           TEXT NOT NULL,
    requested_at      INTEGER NOT NULL,
    customer_id       TEXT NOT NULL DEFAULT '',
    state             TEXT NOT NULL CHECK (state IN ('bot', 'queued', 'assigned', 'resolved')),
    skill             TEXT NOT NULL DEFAULT '',
    priority          INTEGER NOT NULL DEFAULT 0,
    reason            TEXT NOT NULL DEFAULT '',
    agent_id          TEXT NOT NULL DEFAULT '',
    requeues          INTEGER NOT NULL DEFAULT 0,
    queued_at         INTEGER NOT NULL DEFAULT 0,
    assigned_at       INTEGER NOT NULL DEFAULT 0, -- the first assignment
    first_response_at INTEGER NOT NULL DEFAULT 0, -- the first agent reply
    resolved_at       INTEGER NOT NULL DEFAULT 0, -- resolved, returned to the bot or failed
    outcome           TEXT NOT NULL DEFAULT '',   -- resolved, returned, failed, cancelled
    version           INTEGER NOT NULL DEFAULT 0,
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (conv_id, requested_at)
) WITHOUT ROWID;
CREATE INDEX handoffs_open ON handoffs(state) WHERE state IN ('queued', 'assigned');
CREATE INDEX handoffs_requested ON handoffs(requested_at);

CREATE TABLE handoff_events (
    id         INTEGER PRIMARY KEY,
    conv_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    agent_id   TEXT NOT NULL DEFAULT '',
    prev_agent TEXT NOT NULL DEFAULT '',
    actor      TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '',
    at         INTEGER NOT NULL
);
CREATE INDEX handoff_events_conv ON handoff_events(conv_id, id);

CREATE TABLE canned_responses (
    id         INTEGER PRIMARY KEY,
    shortcut   TEXT NOT NULL UNIQUE COLLATE NOCASE,
    title      TEXT NOT NULL DEFAULT '',
    text       TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
);

-- Internal notes: agents only, never sent to the customer.
CREATE TABLE handoff_notes (
    id         INTEGER PRIMARY KEY,
    conv_id    TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX handoff_notes_conv ON handoff_notes(conv_id, id);

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY,
    event_id         TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL,
    conv_id          TEXT NOT NULL DEFAULT '',
    url              TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_status_code INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    next_attempt_at  INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';

-- Customer satisfaction after a resolved handoff: one rating per handoff episode.
CREATE TABLE csat (
    conv_id      TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    agent_id     TEXT NOT NULL DEFAULT '',
    rating       INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment      TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (conv_id, requested_at)
) WITHOUT ROWID;

-- Customer messages the bot was unsure about or that led to a handoff, for agents to label.
CREATE TABLE unanswered (
    id          INTEGER PRIMARY KEY,
    conv_id     TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    text        TEXT NOT NULL,
    intent      TEXT NOT NULL DEFAULT '',
    confidence  REAL NOT NULL DEFAULT 0,
    reason      TEXT NOT NULL DEFAULT '',
    label       TEXT NOT NULL DEFAULT '',
    labelled_by TEXT NOT NULL DEFAULT '',
    labelled_at INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    UNIQUE (conv_id, seq)
);
CREATE INDEX unanswered_open ON unanswered(created_at) WHERE label = '';
