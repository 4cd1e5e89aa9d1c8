-- When each space's metadata was last fetched from Confluence, changed or not: the space asset asks again only once
-- this is older than CONFLUENCE_SPACE_REFRESH_HOURS, so that a run with nothing changed costs one request per space.
ALTER TABLE spaces ADD COLUMN refreshed_at timestamptz;
