-- 0002_faq_search: an FAQ index for fast ranked search: full detail (FTS5 bm25 is much slower with
-- detail=column), the FAQ's locale as an indexed column so a query can be restricted to a
-- language inside the index, and BM25 with column weights as the table's rank, so that
-- "ORDER BY rank LIMIT n" is evaluated by FTS5 itself.
DROP TRIGGER faqs_ai;
DROP TRIGGER faqs_ad;
DROP TRIGGER faqs_au;
DROP TABLE faqs_fts;

CREATE VIRTUAL TABLE faqs_fts USING fts5(
    question, variants, answer, tags, locale,
    content='faqs', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2',
    detail=full
);
INSERT INTO faqs_fts(faqs_fts, rank) VALUES ('rank', 'bm25(6.0, 4.0, 1.0, 2.0, 0.0)');
INSERT INTO faqs_fts(faqs_fts) VALUES ('rebuild');

CREATE TRIGGER faqs_ai AFTER INSERT ON faqs BEGIN
    INSERT INTO faqs_fts(rowid, question, variants, answer, tags, locale)
    VALUES (new.id, new.question, new.variants, new.answer, new.tags, new.locale);
END;
CREATE TRIGGER faqs_ad AFTER DELETE ON faqs BEGIN
    INSERT INTO faqs_fts(faqs_fts, rowid, question, variants, answer, tags, locale)
    VALUES ('delete', old.id, old.question, old.variants, old.answer, old.tags, old.locale);
END;
CREATE TRIGGER faqs_au AFTER UPDATE ON faqs BEGIN
    INSERT INTO faqs_fts(faqs_fts, rowid, question, variants, answer, tags, locale)
    VALUES ('delete', old.id, old.question, old.variants, old.answer, old.tags, old.locale);
    INSERT INTO faqs_fts(rowid, question, variants, answer, tags, locale)
    VALUES (new.id, new.question, new.variants, new.answer, new.tags, new.locale);
END;
