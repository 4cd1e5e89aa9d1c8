"""The change probe records its answer per space, still with one request, and writes nothing else."""

from __future__ import annotations

import psycopg

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.sync import detect_changes, fetch_space, sync_space
from confluence_pipeline.store import pages as store
from confluence_pipeline.store.space_checks import space_checks
from confluence_pipeline_tests.confluence.helpers import sandbox_settings

SPACE = "ENG"


def test_each_probe_is_recorded_and_only_a_quiet_one_confirms_the_store(make_sandbox, conn: psycopg.Connection) -> None:
    server = make_sandbox(pages=30)
    client = ConfluenceClient(sandbox_settings(server))
    with conn.transaction():
        store.upsert_space(conn, fetch_space(client, SPACE))
    sync_space(conn, client, SPACE)
    space_row = conn.execute("SELECT xmin::text FROM spaces WHERE space_key = %s", (SPACE,)).fetchone()

    server.reset_stats()
    quiet = detect_changes(conn, client, SPACE)
    assert quiet.marker is None and server.stats()["total"] == 1
    first = space_checks(conn)[SPACE]
    assert first.current_at == first.checked_at and not first.changes_found
    assert first.total_size == quiet.total_size

    page = next(iter(server.corpus.pages(space_key=SPACE, statuses=["current"])))
    server.edit_page(page.id, body="<p>edited</p>")
    server.reset_stats()
    busy = detect_changes(conn, client, SPACE)
    assert busy.marker is not None and server.stats()["total"] == 1
    second = space_checks(conn)[SPACE]
    assert second.changes_found and second.checked_at >= first.checked_at and second.current_at == first.current_at
    # The space's own row is untouched by probes: its last change stays what the sync wrote.
    assert conn.execute("SELECT xmin::text FROM spaces WHERE space_key = %s", (SPACE,)).fetchone() == space_row
