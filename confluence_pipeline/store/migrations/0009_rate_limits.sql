-- The Confluence rate limit, shared by every process that uses this database: concurrent runs, the daemon's sensors,
-- CLI commands, on one machine or many. One row per site, a generic cell rate algorithm (GCRA) on the server's clock:
-- `next_at` is when the site's next request is due at the configured rate; each request moves it on by 1/rate.
-- `paused_until` holds back every process after a 429 until the server's Retry-After has passed.
CREATE TABLE rate_limits (
    site text PRIMARY KEY,                     -- the REST base URL, without any user information
    next_at double precision NOT NULL DEFAULT 0,       -- seconds since the epoch, server clock
    paused_until double precision NOT NULL DEFAULT 0   -- seconds since the epoch, server clock
);
