-- The vector half of search reads its own table: one row per live chunk text of a page, holding the vector of the
-- model search serves and the page's filter columns. An HNSW walk then tests a space, label or subtree filter on
-- the row it reached, instead of looking up the chunk and its page for every index tuple (the filter rejects most
-- of them when the query's neighbourhood lies elsewhere): at 100k chunks ~4 µs a tuple against ~15 µs.
--
-- embeddings stays the cache of vectors by text. Rows are keyed by the page and the text's hash, not by chunk id,
-- so that an edit keeps the rows (and their index entries) of the texts it did not change.
CREATE TABLE search_vectors (
    model text NOT NULL REFERENCES embedding_models (model),
    source text NOT NULL,
    document_id text NOT NULL,
    content_hash text NOT NULL,
    space_key text,
    labels text[] NOT NULL DEFAULT '{}',
    path text,
    embedding vector NOT NULL,
    -- The page first: the triggers below find a page's rows, whatever the model, through it.
    PRIMARY KEY (source, document_id, content_hash, model)
) WITH (fillfactor = 80);  -- room for in-page (HOT) updates of the filter columns, which then skip the HNSW index

-- A row lives as long as a chunk of its page holds its text: the rows of texts an edit or a deletion removed go
-- with the statement that removed the chunks. Pending chunks count, so a promotion (old live set deleted, pending
-- set made live) keeps the rows of the texts the page still holds.
CREATE FUNCTION search_vectors_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_vectors v
    USING (SELECT DISTINCT source, document_id, content_hash FROM gone) g
    WHERE v.source = g.source AND v.document_id = g.document_id AND v.content_hash = g.content_hash
      AND NOT EXISTS (SELECT 1 FROM chunks c
                      WHERE c.source = g.source AND c.document_id = g.document_id
                        AND c.content_hash = g.content_hash);
    RETURN NULL;
END $$;

CREATE TRIGGER chunks_forget_search_vectors AFTER DELETE ON chunks
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION search_vectors_forget();

-- The full-text half tests the filters on the chunk rows the same way (a page lookup per candidate cost a
-- filtered search up to ~5 ms): chunks carry their page's filter columns too, written with the chunks.
ALTER TABLE chunks ADD COLUMN space_key text, ADD COLUMN labels text[] NOT NULL DEFAULT '{}', ADD COLUMN path text;

UPDATE chunks c SET space_key = p.space_key, labels = p.labels, path = p.path
FROM pages p WHERE c.source = 'confluence' AND p.page_id = c.document_id;

-- The filter columns follow the page: a relabelled or moved page is found under its new labels and subtree.
CREATE FUNCTION search_filters_follow_page() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE chunks SET space_key = NEW.space_key, labels = NEW.labels, path = NEW.path
    WHERE source = 'confluence' AND document_id = NEW.page_id;
    UPDATE search_vectors SET space_key = NEW.space_key, labels = NEW.labels, path = NEW.path
    WHERE source = 'confluence' AND document_id = NEW.page_id;
    RETURN NULL;
END $$;

CREATE TRIGGER pages_follow_search_filters AFTER UPDATE OF space_key, labels, path ON pages
    FOR EACH ROW
    WHEN (OLD.space_key IS DISTINCT FROM NEW.space_key OR OLD.labels IS DISTINCT FROM NEW.labels
          OR OLD.path IS DISTINCT FROM NEW.path)
    EXECUTE FUNCTION search_filters_follow_page();

-- What is live today, for the model search serves; its HNSW index is built on search_vectors by the next embedding
-- run (or `confluence-pipeline` commands that build it), and the old indexes on embeddings are no longer read.
INSERT INTO search_vectors (model, source, document_id, content_hash, space_key, labels, path, embedding)
SELECT DISTINCT ON (c.source, c.document_id, c.content_hash)
       e.model, c.source, c.document_id, c.content_hash, p.space_key, COALESCE(p.labels, '{}'), p.path, e.embedding
FROM chunks c
JOIN embedding_models m ON m.state = 'active'
JOIN embeddings e ON e.model = m.model AND e.content_hash = c.content_hash
LEFT JOIN pages p ON c.source = 'confluence' AND p.page_id = c.document_id
WHERE c.is_live;

DO $$
DECLARE name text;
BEGIN
    FOR name IN SELECT indexname FROM pg_indexes WHERE tablename = 'embeddings' AND indexname LIKE 'embeddings_hnsw_%'
    LOOP
        EXECUTE format('DROP INDEX %I', name);
    END LOOP;
END $$;
