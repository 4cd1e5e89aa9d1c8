-- Conversion dependencies: macros that show content from other pages (include, excerpt-include, children, pagetree,
-- gallery, contentbylabel). Each edge records what a page's Markdown was made from, and the state of that thing the
-- conversion saw; a page is converted again when the state of one of its edges moves (see
-- confluence_pipeline.store.references). Kinds and targets are those of confluence_pipeline.convert.resolve.
CREATE TABLE page_dependencies (
    page_id  text NOT NULL REFERENCES pages (page_id) ON DELETE CASCADE,
    kind     text NOT NULL,                           -- page | page-id | tree | tree-modified | label | attachments | home
    target   text NOT NULL,                           -- "SPACE:Title", a page id, a label or a space key
    seen     text NOT NULL,                           -- conversion_dependency_state(kind, target) when converted
    PRIMARY KEY (page_id, kind, target)
);
CREATE INDEX page_dependencies_target_idx ON page_dependencies (kind, target);

-- md5 of the page's edges with their seen states (NULL: no dependencies). The Markdown is stale when the same hash
-- over the current states differs: so the hash that decides re-conversion covers the dependencies' versions.
ALTER TABLE page_markdown ADD COLUMN deps_hash text;

-- Lookups of the resolver: pages by title within a space, children by parent.
CREATE INDEX pages_space_title_idx ON pages (space_key, lower(title)) WHERE status = 'current';
CREATE INDEX pages_parent_idx ON pages (parent_id) WHERE status = 'current';

-- The state of one dependency now: what the Markdown shows of it, or 'missing'. One definition, used both when a
-- page is converted (the seen state) and when staleness is checked, so the two can never disagree.
CREATE FUNCTION conversion_dependency_state(dep_kind text, dep_target text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(CASE dep_kind
        WHEN 'page' THEN (
            SELECT p.page_id || ':' || p.content_hash || ':' || COALESCE(p.parent_id, '') FROM pages p
            WHERE p.status = 'current' AND p.space_key = split_part(dep_target, ':', 1)
              AND lower(p.title) = lower(substr(dep_target, strpos(dep_target, ':') + 1))
            ORDER BY p.page_id LIMIT 1)
        WHEN 'page-id' THEN (
            SELECT p.content_hash || ':' || COALESCE(p.parent_id, '') FROM pages p
            WHERE p.page_id = dep_target AND p.status = 'current')
        WHEN 'tree' THEN (
            SELECT md5(COALESCE(string_agg(d.page_id || '|' || d.title || '|' || COALESCE(d.parent_id, '') || '|'
                                           || COALESCE(d.metadata ->> 'position', '') || '|'
                                           || COALESCE(d.created_at::text, ''), E'\n' ORDER BY d.page_id), ''))
            FROM pages r JOIN pages d
              -- descendants: paths that start with the root's ("/1/2/" … "/1/20" in byte order, index-friendly)
              ON d.path ~>=~ r.path AND d.path ~<~ (left(r.path, -1) || '0') AND d.page_id <> r.page_id
                 AND d.status = 'current'
            WHERE r.page_id = dep_target)
        WHEN 'tree-modified' THEN (
            SELECT md5(COALESCE(string_agg(d.page_id || '|' || d.title || '|' || COALESCE(d.parent_id, '') || '|'
                                           || COALESCE(d.metadata ->> 'position', '') || '|'
                                           || COALESCE(d.created_at::text, '') || '|' || d.version_at::text,
                                           E'\n' ORDER BY d.page_id), ''))
            FROM pages r JOIN pages d
              -- descendants: paths that start with the root's ("/1/2/" … "/1/20" in byte order, index-friendly)
              ON d.path ~>=~ r.path AND d.path ~<~ (left(r.path, -1) || '0') AND d.page_id <> r.page_id
                 AND d.status = 'current'
            WHERE r.page_id = dep_target)
        WHEN 'label' THEN (
            SELECT md5(COALESCE(string_agg(p.page_id || '|' || p.title || '|' || p.space_key || '|'
                                           || p.version_at::text || '|' || COALESCE(p.created_at::text, ''),
                                           E'\n' ORDER BY p.page_id), ''))
            FROM pages p WHERE p.status = 'current' AND p.labels @> ARRAY[dep_target])
        WHEN 'attachments' THEN (
            SELECT md5(p.attachments::text) FROM pages p WHERE p.page_id = dep_target AND p.status = 'current')
        WHEN 'home' THEN (SELECT s.homepage_id FROM spaces s WHERE s.space_key = dep_target)
    END, 'missing')
$$;

-- What chunks are embedded and indexed as (confluence_pipeline.convert.reader.READER_TEXT_VERSION): 1, the chunk
-- text as stored, for every chunk cut before this migration; 2, the text without link and image destinations. The
-- chunk stage cuts older sets again; each page's old chunks (and their vectors) stay live until its new set has
-- every vector, as during a model switch.
ALTER TABLE chunks ADD COLUMN input_version smallint NOT NULL DEFAULT 1;
ALTER TABLE chunks ALTER COLUMN input_version SET DEFAULT 2;
