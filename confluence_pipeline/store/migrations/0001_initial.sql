-- Spaces: one row per Confluence space the pipeline knows, with its sync watermark and last-sync metrics.
CREATE TABLE spaces (
    space_key          text PRIMARY KEY,
    space_id           bigint,
    name               text NOT NULL,
    space_type         text NOT NULL,                  -- global | personal
    status             text NOT NULL,                  -- current | archived | missing
    web_url            text,
    homepage_id        text,
    watermark          timestamptz,                    -- newest lastmodified whose page data is committed (UTC)
    last_sync_at       timestamptz,
    last_sync_seconds  double precision,
    last_sync_pages    integer,
    last_sync_requests integer,
    discovered_at      timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Pages: metadata plus the raw storage-format body, as last fetched.
CREATE TABLE pages (
    page_id         text PRIMARY KEY,
    space_key       text NOT NULL REFERENCES spaces (space_key),
    title           text NOT NULL,
    status          text NOT NULL,                     -- current | archived | trashed | deleted
    version_number  integer NOT NULL,
    version_at      timestamptz NOT NULL,
    version_author  text,
    created_by      text,
    created_at      timestamptz,
    parent_id       text,
    ancestors       jsonb NOT NULL DEFAULT '[]',       -- [{"id", "title"}], root first, direct parent last
    path            text NOT NULL,                     -- materialized path "/root/…/parent/self/"
    labels          text[] NOT NULL DEFAULT '{}',
    attachments     jsonb NOT NULL DEFAULT '[]',       -- [{"id", "title", "media_type", "size", "download_url"}]
    web_url         text,
    jira_keys       text[] NOT NULL DEFAULT '{}',
    mentions        text[] NOT NULL DEFAULT '{}',      -- user refs (accountId / userKey / username)
    metadata        jsonb NOT NULL DEFAULT '{}',
    body_storage    text NOT NULL,
    content_hash    text NOT NULL,                     -- what the Markdown depends on: title, body, attachments
    fetched_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);
CREATE INDEX pages_space_idx ON pages (space_key);
CREATE INDEX pages_path_idx ON pages (path text_pattern_ops);
CREATE INDEX pages_labels_gin ON pages USING gin (labels);
CREATE INDEX pages_jira_keys_gin ON pages USING gin (jira_keys);
CREATE INDEX pages_mentions_gin ON pages USING gin (mentions);
CREATE INDEX pages_metadata_gin ON pages USING gin (metadata jsonb_path_ops);

-- Pages that still failed after their retries; retried by every later sync until they succeed.
CREATE TABLE sync_failures (
    page_id         text PRIMARY KEY,
    space_key       text NOT NULL,
    error           text NOT NULL,
    attempts        integer NOT NULL,
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    last_failed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_failures_space_idx ON sync_failures (space_key);

-- Users mentioned in bodies, resolved to display names once and cached.
CREATE TABLE users (
    user_ref      text PRIMARY KEY,                    -- accountId (Cloud) or userKey / username (Data Center)
    display_name  text NOT NULL,
    fetched_at    timestamptz NOT NULL DEFAULT now()
);

-- Facts about the Confluence site that are costly to ask for every run (e.g. its time zone).
CREATE TABLE site_info (
    key         text PRIMARY KEY,
    value       text NOT NULL,
    fetched_at  timestamptz NOT NULL DEFAULT now()
);

-- Markdown converted from a page's storage body.
CREATE TABLE page_markdown (
    page_id        text PRIMARY KEY REFERENCES pages (page_id) ON DELETE CASCADE,
    source_hash    text NOT NULL,                      -- pages.content_hash it was converted from
    markdown       text NOT NULL,
    markdown_hash  text NOT NULL,
    warnings       jsonb NOT NULL DEFAULT '[]',
    converted_at   timestamptz NOT NULL DEFAULT now()
);

-- Chunks, source-agnostic so that other sources can share the table. A document's new chunks are written
-- with is_live = false and swapped in, together with their embeddings, in one transaction.
CREATE TABLE chunks (
    chunk_id       text PRIMARY KEY,
    source         text NOT NULL DEFAULT 'confluence',
    document_id    text NOT NULL,
    source_hash    text NOT NULL,                      -- hash of the Markdown the chunk was cut from
    chunk_index    integer NOT NULL,
    section_title  text NOT NULL,
    text           text NOT NULL,
    token_count    integer NOT NULL,
    content_hash   text NOT NULL,                      -- sha256 of text: the embedding cache key
    is_live        boolean NOT NULL DEFAULT false,
    tsv            tsvector NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chunks_document_idx ON chunks (source, document_id);
CREATE INDEX chunks_content_hash_idx ON chunks (content_hash);
CREATE INDEX chunks_pending_idx ON chunks (source, document_id) WHERE NOT is_live;
CREATE INDEX chunks_tsv_gin ON chunks USING gin (tsv) WHERE is_live;

-- Embedding models the store has seen; search serves the active one.
CREATE TABLE embedding_models (
    model        text PRIMARY KEY,
    provider     text NOT NULL,
    dimensions   integer NOT NULL,
    state        text NOT NULL DEFAULT 'building',    -- building | active | retired
    created_at   timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz
);

-- Embeddings keyed by (model, content hash): text embedded once is never sent to a provider again.
-- Dimensions vary per model, so each model gets a partial HNSW index on a cast to its own vector(N).
CREATE TABLE embeddings (
    model         text NOT NULL REFERENCES embedding_models (model),
    content_hash  text NOT NULL,
    embedding     vector NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, content_hash)
);
