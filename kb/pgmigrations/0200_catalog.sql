-- 0200_catalog: the shop's catalogue, customers, orders, FAQs and answer templates for a cluster,
-- copied from a SQLite knowledge base with CopyCatalogFrom. Money is BIGINT minor units, times BIGINT
-- Unix milliseconds, as in SQLite. Full-text search uses generated tsvector columns.

CREATE TABLE IF NOT EXISTS products (
    sku         TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    category    TEXT NOT NULL DEFAULT '',
    price_minor BIGINT NOT NULL CHECK (price_minor >= 0),
    currency    TEXT NOT NULL DEFAULT 'EUR',
    stock       INTEGER NOT NULL DEFAULT 0,
    attributes  TEXT NOT NULL DEFAULT '{}',
    image_url   TEXT NOT NULL DEFAULT '',
    active      BOOLEAN NOT NULL DEFAULT true,
    search      tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', sku), 'A') || setweight(to_tsvector('english', name), 'A') ||
        setweight(to_tsvector('english', category), 'B') || setweight(to_tsvector('english', attributes), 'C') ||
        setweight(to_tsvector('english', description), 'D')) STORED
);
CREATE INDEX IF NOT EXISTS products_search ON products USING gin (search);

CREATE TABLE IF NOT EXISTS customers (
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
    created_at    BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS orders (
    number        TEXT PRIMARY KEY,
    number_key    TEXT NOT NULL UNIQUE,
    digits_key    TEXT NOT NULL,
    customer_id   TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL,
    email         TEXT NOT NULL DEFAULT '',
    address_name  TEXT NOT NULL DEFAULT '',
    address_line1 TEXT NOT NULL DEFAULT '',
    address_line2 TEXT NOT NULL DEFAULT '',
    city          TEXT NOT NULL DEFAULT '',
    postcode      TEXT NOT NULL DEFAULT '',
    country       TEXT NOT NULL DEFAULT '',
    total_minor   BIGINT NOT NULL DEFAULT 0,
    currency      TEXT NOT NULL DEFAULT 'EUR',
    placed_at     BIGINT NOT NULL,
    items         JSONB NOT NULL DEFAULT '[]',
    shipments     JSONB NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS orders_digits ON orders(digits_key);
CREATE INDEX IF NOT EXISTS orders_customer ON orders(customer_id, placed_at);

-- Failed order lookups, counted across nodes (per requester and per order number).
CREATE TABLE IF NOT EXISTS lookup_failures (
    key TEXT NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS lookup_failures_key ON lookup_failures(key, at);

CREATE TABLE IF NOT EXISTS faqs (
    id       BIGINT PRIMARY KEY,
    key      TEXT NOT NULL,
    locale   TEXT NOT NULL DEFAULT 'en',
    question TEXT NOT NULL,
    variants TEXT NOT NULL DEFAULT '',
    answer   TEXT NOT NULL,
    tags     TEXT NOT NULL DEFAULT '',
    enabled  BOOLEAN NOT NULL DEFAULT true,
    search   tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', question), 'A') || setweight(to_tsvector('english', variants), 'B') ||
        setweight(to_tsvector('english', tags), 'C') || setweight(to_tsvector('english', answer), 'D')) STORED,
    UNIQUE (key, locale)
);
CREATE INDEX IF NOT EXISTS faqs_search ON faqs USING gin (search);

CREATE TABLE IF NOT EXISTS answer_templates (
    intent TEXT NOT NULL,
    locale TEXT NOT NULL DEFAULT 'en',
    text   TEXT NOT NULL,
    PRIMARY KEY (intent, locale)
);
