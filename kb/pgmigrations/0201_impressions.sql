-- 0201_impressions: products shown in conversations, so that recommendations do not repeat
-- themselves on whichever node the customer lands.
CREATE TABLE IF NOT EXISTS impressions (
    id          BIGSERIAL PRIMARY KEY,
    conv_id     TEXT NOT NULL,
    customer_id TEXT NOT NULL DEFAULT '',
    sku         TEXT NOT NULL,
    source      TEXT NOT NULL DEFAULT '',
    at          BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS impressions_conv ON impressions(conv_id);
