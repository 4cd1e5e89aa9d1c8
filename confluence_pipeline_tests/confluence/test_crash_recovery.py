"""A sync killed with SIGKILL at random points resumes without loss, duplicates or refetching stored pages."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.sync import fetch_space, sync_space
from confluence_pipeline.store import pages as store
from confluence_pipeline_tests.confluence.helpers import sandbox_settings

SPACE = "ENG"

_SYNC_SCRIPT = """
import sys
from confluence_pipeline.confluence.sync import sync_space
from confluence_pipeline.defs.resources import configured_resources
resources = configured_resources()
with resources.postgres.connect() as conn:
    sync_space(conn, resources.confluence.client(), sys.argv[1])
print("done")
"""


def _stored(conn: psycopg.Connection) -> dict[str, int]:
    rows = conn.execute(
        "SELECT page_id, version_number FROM pages WHERE space_key = %s AND status = 'current'", (SPACE,)
    ).fetchall()
    return dict(rows)


def _expected(server) -> dict[str, int]:
    return {str(p.id): p.version for p in server.corpus.pages(space_key=SPACE, statuses=["current"])}


@pytest.mark.parametrize("flavor", ["cloud", "dc"])
def test_sync_killed_at_random_points_converges(
    make_sandbox, conn: psycopg.Connection, db_url: str, flavor: str
) -> None:
    server = make_sandbox(pages=400, seed=5, flavor=flavor)
    settings = sandbox_settings(server, fetch_batch_size=4, list_page_size=25)
    client = ConfluenceClient(settings)
    with conn.transaction():
        store.upsert_space(conn, fetch_space(client, SPACE))
    # Slow responses stretch the sync so the kills land mid-run; edits between kills move the target.
    server.set_faults(latency_ms=40)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CONFLUENCE_")},
        "DATABASE_URL": db_url,
        "CONFLUENCE_BASE_URL": server.base_url,
        "CONFLUENCE_DEPLOYMENT": "cloud" if flavor == "cloud" else "datacenter",
        "CONFLUENCE_PAT": server.token,
        "CONFLUENCE_EMAIL": server.email,
        "CONFLUENCE_API_TOKEN": server.token,
        "CONFLUENCE_FETCH_BATCH_SIZE": "4",
        "CONFLUENCE_LIST_PAGE_SIZE": "25",
        "CONFLUENCE_RATE_LIMIT_RPS": "1000",
        "CONFLUENCE_BACKOFF_BASE_S": "0.01",
        "CONFLUENCE_BACKOFF_MAX_S": "0.1",
    }
    rng = random.Random(20261122)
    kills = 0
    for round_ in range(3):
        # Kill at a random point measured in committed progress, not in seconds, so the test does not race.
        already = len(_stored(conn))
        remaining = len(_expected(server)) - already
        target = already + rng.randint(1, max(1, remaining // 2))
        proc = subprocess.Popen([sys.executable, "-c", _SYNC_SCRIPT, SPACE], env=env, stdout=subprocess.PIPE)
        while proc.poll() is None and len(_stored(conn)) < target:
            time.sleep(0.01)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        page = sorted(_expected(server))[round_ * 3]
        server.edit_page(page, body=f"<p>edited between kills, round {round_}</p>")
    assert kills >= 2, "the sync finished before it could be killed"
    assert _stored(conn) and _stored(conn) != _expected(server)

    server.set_faults(latency_ms=0)
    before = _stored(conn)
    result = sync_space(conn, client, SPACE)
    expected = _expected(server)
    assert _stored(conn) == expected
    # Only what was missing or stale got fetched: nothing already stored was fetched again.
    stale = {pid for pid, version in expected.items() if before.get(pid) != version}
    assert result.fetched == len(stale)
    duplicates = conn.execute("SELECT count(*) - count(DISTINCT page_id) FROM pages").fetchone()[0]
    assert duplicates == 0
    assert sync_space(conn, client, SPACE).written == 0
