-- 0001_init: the knowledge base's first schema. Times are INTEGER Unix milliseconds (UTC); money is
-- INTEGER minor units (cents); JSON documents are TEXT. Names 0100_* and above belong to later work
-- (0100_handoff: agents, handoffs, canned responses, webhook deliveries, CSAT).

CREATE TABLE products (
    sku         TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    category    TEXT NOT NULL DEFAULT '',
    price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
    currency    TEXT NOT NULL DEFAULT 'EUR',
    stock       INTEGER NOT NULL DEFAULT 0,
    attributes  TEXT NOT NULL DEFAULT '{}',
    image_url   TEXT NOT NULL DEFAULT '',
    active      INTEGER NOT NULL DEFAULT 1,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX products_category ON products(category);

-- Full-text index over the catalogue (external content: products stays the source of truth).
CREATE VIRTUAL TABLE products_fts USING fts5(
    sku, name, category, description, attributes,
    content='products', content_rowid='rowid',
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER products_ai AFTER INSERT ON products BEGIN
    INSERT INTO products_fts(rowid, sku, name, category, description, attributes)
    VALUES (new.rowid, new.sku, new.name, new.category, new.description, new.attributes);
END;
CREATE TRIGGER products_ad AFTER DELETE ON products BEGIN
    INSERT INTO products_fts(products_fts, rowid, sku, name, category, description, attributes)
    VALUES ('delete', old.rowid, old.sku, old.name, old.category, old.description, old.attributes);
END;
CREATE TRIGGER products_au AFTER UPDATE ON products BEGIN
    INSERT INTO products_fts(products_fts, rowid, sku, name, category, description, attributes)
    VALUES ('delete', old.rowid, old.sku, old.name, old.category, old.description, old.attributes);
    INSERT INTO products_fts(rowid, sku, name, category, description, attributes)
    VALUES (new.rowid, new.sku, new.name, new.category, new.description, new.attributes);
END;

CREATE TABLE customers (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL DEFAULT '',
    first_name    TEXT NOT NULL DEFAULT '',
    last_name     TEXT NOT NULL DEFAULT '',
    phone         TEXT NOT NULL DEFAULT '',
    locale        TEXT NOT NULL DEFAULT '',
    address_name  TEXT NOT NULL DEFAULT '',
    address_line1 TEXT NOT NULL DEFAULT '',
    address_line2 TEXT NOT NULL DEFAULT '',
    city          TEXT NOT NULL DEFAULT '',
    postcode      TEXT NOT NULL DEFAULT '',
    country       TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX customers_email ON customers(email COLLATE NOCASE);

CREATE TABLE orders (
    number        TEXT PRIMARY KEY,
    number_key    TEXT NOT NULL UNIQUE,  -- upper case, without '#', '-' and spaces
    digits_key    TEXT NOT NULL,         -- the digits only, for "where is 10023?"
    customer_id   TEXT REFERENCES customers(id) ON DELETE SET NULL,
    status        TEXT NOT NULL,
    email         TEXT NOT NULL DEFAULT '',
    address_name  TEXT NOT NULL DEFAULT '',
    address_line1 TEXT NOT NULL DEFAULT '',
    address_line2 TEXT NOT NULL DEFAULT '',
    city          TEXT NOT NULL DEFAULT '',
    postcode      TEXT NOT NULL DEFAULT '',
    country       TEXT NOT NULL DEFAULT '',
    total_minor   INTEGER NOT NULL DEFAULT 0,
    currency      TEXT NOT NULL DEFAULT 'EUR',
    placed_at     INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX orders_digits ON orders(digits_key);
CREATE INDEX orders_customer ON orders(customer_id, placed_at);

CREATE TABLE order_items (
    order_number     TEXT NOT NULL REFERENCES orders(number) ON DELETE CASCADE,
    line             INTEGER NOT NULL,
    sku              TEXT NOT NULL,
    name             TEXT NOT NULL DEFAULT '',
    quantity         INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_minor INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (order_number, line)
);
CREATE INDEX order_items_sku ON order_items(sku);

CREATE TABLE shipments (
    order_number       TEXT NOT NULL REFERENCES orders(number) ON DELETE CASCADE,
    tracking_number    TEXT NOT NULL,
    carrier            TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL DEFAULT '',
    shipped_at         INTEGER,
    estimated_delivery INTEGER,
    delivered_at       INTEGER,
    PRIMARY KEY (order_number, tracking_number)
);

CREATE TABLE faqs (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL,
    locale     TEXT NOT NULL DEFAULT 'en',
    question   TEXT NOT NULL,
    variants   TEXT NOT NULL DEFAULT '',  -- alternative phrasings, one per line
    answer     TEXT NOT NULL,
    tags       TEXT NOT NULL DEFAULT '',  -- comma separated
    enabled    INTEGER NOT NULL DEFAULT 1,
    updated_at INTEGER NOT NULL,
    UNIQUE (key, locale)
);
CREATE VIRTUAL TABLE faqs_fts USING fts5(
    question, variants, answer, tags,
    content='faqs', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER faqs_ai AFTER INSERT ON faqs BEGIN
    INSERT INTO faqs_fts(rowid, question, variants, answer, tags)
    VALUES (new.id, new.question, new.variants, new.answer, new.tags);
END;
CREATE TRIGGER faqs_ad AFTER DELETE ON faqs BEGIN
    INSERT INTO faqs_fts(faqs_fts, rowid, question, variants, answer, tags)
    VALUES ('delete', old.id, old.question, old.variants, old.answer, old.tags);
END;
CREATE TRIGGER faqs_au AFTER UPDATE ON faqs BEGIN
    INSERT INTO faqs_fts(faqs_fts, rowid, question, variants, answer, tags)
    VALUES ('delete', old.id, old.question, old.variants, old.answer, old.tags);
    INSERT INTO faqs_fts(rowid, question, variants, answer, tags)
    VALUES (new.id, new.question, new.variants, new.answer, new.tags);
END;

CREATE TABLE answer_templates (
    intent     TEXT NOT NULL,
    locale     TEXT NOT NULL DEFAULT 'en',
    text       TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (intent, locale)
);

CREATE TABLE conversations (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL DEFAULT '',
    locale      TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'bot',
    last_seq    INTEGER NOT NULL DEFAULT 0,
    state       BLOB,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX conversations_customer ON conversations(customer_id) WHERE customer_id <> '';
CREATE INDEX conversations_updated ON conversations(updated_at);

CREATE TABLE messages (
    conv_id    TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    client_id  TEXT NOT NULL DEFAULT '',
    sender     TEXT NOT NULL,
    agent_id   TEXT NOT NULL DEFAULT '',
    type       TEXT NOT NULL DEFAULT 'message',
    text       TEXT NOT NULL DEFAULT '',
    payload    TEXT,
    intent     TEXT NOT NULL DEFAULT '',
    confidence REAL NOT NULL DEFAULT 0,
    entities   TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (conv_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX messages_dedup ON messages(conv_id, sender, client_id) WHERE client_id <> '';

-- Registry of trained models; at most one active model per kind.
CREATE TABLE models (
    kind       TEXT NOT NULL,           -- intent, recommender
    version    TEXT NOT NULL,           -- content hash
    path       TEXT NOT NULL,
    metrics    TEXT NOT NULL DEFAULT '{}',
    active     INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (kind, version)
);
CREATE UNIQUE INDEX models_active ON models(kind) WHERE active = 1;

-- Browsing and cart signals for the recommender (purchases come from order_items).
CREATE TABLE interactions (
    customer_id TEXT NOT NULL,
    sku         TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('view', 'cart', 'purchase')),
    weight      REAL NOT NULL DEFAULT 1,
    at          INTEGER NOT NULL
);
CREATE INDEX interactions_customer ON interactions(customer_id);

-- Products shown to a shopper, so that recommendations do not repeat themselves.
CREATE TABLE impressions (
    id          INTEGER PRIMARY KEY,
    conv_id     TEXT NOT NULL,
    customer_id TEXT NOT NULL DEFAULT '',
    sku         TEXT NOT NULL,
    source      TEXT NOT NULL DEFAULT '',
    at          INTEGER NOT NULL
);
CREATE INDEX impressions_conv ON impressions(conv_id);
CREATE INDEX impressions_customer ON impressions(customer_id) WHERE customer_id <> '';

-- Append-only event log for analytics.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    conv_id     TEXT NOT NULL DEFAULT '',
    customer_id TEXT NOT NULL DEFAULT '',
    data        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_kind_at ON events(kind, at);
CREATE INDEX events_customer ON events(customer_id) WHERE customer_id <> '';
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events BEGIN
    SELECT RAISE(ABORT, 'events is append-only');
END;
