-- Conversations and messages for a cluster of shopchat nodes sharing one PostgreSQL database.
CREATE TABLE IF NOT EXISTS conversations (
	id          TEXT PRIMARY KEY,
	customer_id TEXT NOT NULL DEFAULT '',
	locale      TEXT NOT NULL DEFAULT '',
	status      TEXT NOT NULL DEFAULT 'bot',
	last_seq    BIGINT NOT NULL DEFAULT 0,
	state       BYTEA,
	created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
	updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS messages (
	conv_id    TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	seq        BIGINT NOT NULL,
	client_id  TEXT NOT NULL DEFAULT '',
	sender     TEXT NOT NULL,
	agent_id   TEXT NOT NULL DEFAULT '',
	type       TEXT NOT NULL DEFAULT 'message',
	text       TEXT NOT NULL DEFAULT '',
	payload    BYTEA,
	intent     TEXT NOT NULL DEFAULT '',
	confidence DOUBLE PRECISION NOT NULL DEFAULT 0,
	entities   BYTEA,
	created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
	PRIMARY KEY (conv_id, seq)
);

CREATE UNIQUE INDEX IF NOT EXISTS messages_dedup ON messages (conv_id, sender, client_id) WHERE client_id <> '';
