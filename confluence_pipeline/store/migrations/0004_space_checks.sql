-- The change sensor's probes: when each space was last checked against Confluence, and when a check last found the
-- store current (no page version it lacked, no failed page pending). A row of its own, so that a probe every few
-- minutes never touches the space's row, and an idle sync still writes nothing.
CREATE TABLE space_checks (
    space_key     text PRIMARY KEY,
    checked_at    timestamptz NOT NULL,            -- last probe that got an answer from Confluence
    current_at    timestamptz,                     -- last probe that found nothing to fetch
    total_size    integer,                         -- Confluence's count of current pages at checked_at
    changes_found boolean NOT NULL DEFAULT false   -- what the last probe found
);
