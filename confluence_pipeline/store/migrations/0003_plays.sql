-- Play tracking: quarter-to-date figures per Play, the audit of every page write, and the event outbox.

-- Quarter-to-date figures per Play, one snapshot per (quarter, Play, day of the run): the history across weeks.
CREATE TABLE play_qtd_stats (
    quarter      text NOT NULL,                       -- 2026Q4
    play_id      text NOT NULL,
    as_of        date NOT NULL,                       -- the run's day in the team's time zone
    activity     integer NOT NULL,
    signal       integer NOT NULL,
    brief        integer NOT NULL,
    s2           integer NOT NULL,
    s3           integer NOT NULL,
    status       text NOT NULL CHECK (status IN ('Green', 'Amber', 'Red')),
    computed_at  timestamptz NOT NULL,
    run_id       text,
    PRIMARY KEY (quarter, play_id, as_of)
);
CREATE INDEX play_qtd_stats_latest_idx ON play_qtd_stats (quarter, as_of DESC);

-- Every write the pipeline made to a Confluence page: what, when, the versions around it, and what caused it.
CREATE TABLE play_page_writes (
    id              bigserial PRIMARY KEY,
    page_id         text NOT NULL,
    page_title      text NOT NULL,
    kind            text NOT NULL,                    -- play_db_aggregation | action_log_row | live_doc_append | …
    source          text,                             -- the Dagster run id, or the outbox event id
    quarter         text,
    outcome         text NOT NULL,                    -- written | created | already_applied
    version_before  integer,
    version_after   integer,
    changes         jsonb NOT NULL DEFAULT '[]',
    written_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX play_page_writes_page_idx ON play_page_writes (page_id, written_at);

-- The outbox: events to write to Confluence, durable across restarts and outages. seq is the order of arrival.
CREATE TABLE play_events (
    seq          bigserial PRIMARY KEY,
    event_id     text NOT NULL UNIQUE,
    event_type   text NOT NULL,
    play_id      text NOT NULL,
    title        text NOT NULL,
    url          text,
    actor        text,
    payload      jsonb NOT NULL DEFAULT '{}',
    occurred_at  timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed', 'synced')),
    synced_at    timestamptz
);
CREATE INDEX play_events_status_idx ON play_events (status, seq);

-- The page writes an event routes to, each applied once, in event order per target page.
CREATE TABLE play_event_writes (
    event_seq        bigint NOT NULL REFERENCES play_events (seq) ON DELETE CASCADE,
    step             integer NOT NULL,                -- order of the event's writes
    target           text NOT NULL,                   -- action_log_row | live_doc_append | live_doc_update | play_db_…
    page_key         text NOT NULL,                   -- action_log | play_db | live_doc:<play id>
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed', 'synced')),
    attempts         integer NOT NULL DEFAULT 0,
    last_error       text,
    last_attempt_at  timestamptz,
    next_attempt_at  timestamptz,
    synced_at        timestamptz,
    page_id          text,
    version_after    integer,
    PRIMARY KEY (event_seq, step)
);
CREATE INDEX play_event_writes_open_idx ON play_event_writes (page_key, event_seq) WHERE status <> 'synced';
