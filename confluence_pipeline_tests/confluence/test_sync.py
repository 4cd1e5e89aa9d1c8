"""Incremental sync against the sandbox over real HTTP, on the embedded PostgreSQL."""

from __future__ import annotations

import math

import psycopg
import pytest

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.sync import discover_spaces, fetch_space, sync_space
from confluence_pipeline.store import pages as store
from confluence_pipeline_tests.confluence.helpers import sandbox_settings

SPACE = "ENG"


@pytest.fixture(params=["cloud", "dc"])
def flavor(request: pytest.FixtureRequest) -> str:
    """Every test here runs against both flavours of the sandbox."""
    return request.param


def _register(conn: psycopg.Connection, client: ConfluenceClient, key: str = SPACE) -> None:
    with conn.transaction():
        store.upsert_space(conn, fetch_space(client, key))


def _stored(conn: psycopg.Connection, key: str = SPACE) -> dict[str, int]:
    rows = conn.execute(
        "SELECT page_id, version_number FROM pages WHERE space_key = %s AND status = 'current'", (key,)
    ).fetchall()
    return dict(rows)


def _expected(server, key: str = SPACE) -> dict[str, int]:
    return {str(p.id): p.version for p in server.corpus.pages(space_key=key, statuses=["current"])}


def _space_requests(server) -> int:
    return server.stats()["total"]


def test_full_sync_stores_every_current_page_then_idle_refresh_costs_one_request(
    make_sandbox, conn: psycopg.Connection, flavor: str
) -> None:
    server = make_sandbox(pages=80, flavor=flavor)
    client = ConfluenceClient(sandbox_settings(server, list_page_size=10, fetch_batch_size=7))
    _register(conn, client)
    result = sync_space(conn, client, SPACE)
    assert _stored(conn) == _expected(server)
    assert result.written == len(_expected(server)) and not result.failed
    assert result.watermark_after is not None

    fetched_at = conn.execute("SELECT max(fetched_at) FROM pages").fetchone()
    server.reset_stats()
    idle = ConfluenceClient(sandbox_settings(server, list_page_size=10, fetch_batch_size=7))
    again = sync_space(conn, idle, SPACE)
    assert again.written == 0 and again.fetched == 0
    assert _space_requests(server) == 1
    assert conn.execute("SELECT max(fetched_at) FROM pages").fetchone() == fetched_at


def test_a_first_sync_lists_with_bodies_and_a_later_edit_is_fetched_alone(
    make_sandbox, conn: psycopg.Connection, flavor: str
) -> None:
    server = make_sandbox(pages=80, flavor=flavor)
    client = ConfluenceClient(sandbox_settings(server, list_page_size=20, fetch_batch_size=10))
    _register(conn, client)
    server.reset_stats()
    result = sync_space(conn, client, SPACE)
    expected = _expected(server)
    assert _stored(conn) == expected and result.fetched == len(expected) and not result.failed
    # The bodies came with the listing, ten a request: no second request per ten pages to fetch them by id.
    assert server.stats()["by_endpoint"]["GET /rest/api/content/search"] == math.ceil(len(expected) / 10)

    edited = sorted(expected)[0]
    server.edit_page(edited, body="<p>edited after the first sync</p>")
    again = sync_space(conn, client, SPACE)
    # Later syncs list light and fetch only what moved.
    assert again.written == 1 and again.fetched == 1
    assert _stored(conn) == _expected(server)


def test_mentioned_users_are_looked_up_in_bulk_on_cloud_and_one_by_one_on_data_center(
    make_sandbox, conn: psycopg.Connection, flavor: str
) -> None:
    server = make_sandbox(pages=80, flavor=flavor)
    client = ConfluenceClient(sandbox_settings(server))
    _register(conn, client)
    server.reset_stats()
    result = sync_space(conn, client, SPACE)
    mentioned = {u.account_id if flavor == "cloud" else u.user_key for u in server.corpus.users}
    stored = dict(conn.execute("SELECT user_ref, display_name FROM users").fetchall())
    assert result.users_resolved == len(stored) > 1 and set(stored) <= mentioned
    assert stored == {ref: server.corpus.find_user(ref).display_name for ref in stored}
    by_endpoint = server.stats()["by_endpoint"]
    if flavor == "cloud":
        assert by_endpoint["GET /rest/api/user/bulk"] == 1 and "GET /rest/api/user" not in by_endpoint
    else:
        assert by_endpoint["GET /rest/api/user"] >= len(stored) and "GET /rest/api/user/bulk" not in by_endpoint


def test_edits_in_the_same_minute_as_the_watermark_are_picked_up_exactly_once(
    make_sandbox, conn: psycopg.Connection, flavor: str
) -> None:
    server = make_sandbox(pages=40, timezone="Asia/Seoul", flavor=flavor)
    # Cloud reports the zone for the token's user; Data Center does not, so the operator sets it.
    client = ConfluenceClient(sandbox_settings(server, timezone=None if flavor == "cloud" else "Asia/Seoul"))
    _register(conn, client)
    sync_space(conn, client, SPACE)
    watermark = store.get_watermark(conn, SPACE)
    page_ids = list(_expected(server))
    # Two edits in the minute the watermark lies in, one after a sync in between, in a UTC+9 site.
    server.set_clock(now=watermark.isoformat(), frozen=True)
    server.edit_page(page_ids[0], body="<p>first edit</p>")
    first = sync_space(conn, client, SPACE)
    server.set_clock(advance_s=20, frozen=True)
    server.edit_page(page_ids[1], body="<p>second edit in the same minute</p>")
    second = sync_space(conn, client, SPACE)
    assert first.written == 1 and second.written == 1
    assert _stored(conn) == _expected(server)
    assert sync_space(conn, client, SPACE).written == 0


def test_a_page_that_keeps_failing_is_recorded_skipped_and_retried_next_run(
    make_sandbox, conn: psycopg.Connection, flavor: str
) -> None:
    server = make_sandbox(pages=40, flavor=flavor)
    bad = sorted(_expected(server))[3]
    server.set_faults(fail_page_ids=[int(bad)])
    client = ConfluenceClient(sandbox_settings(server, max_retries=1, fetch_batch_size=8))
    _register(conn, client)
    result = sync_space(conn, client, SPACE)
    assert set(result.failed) == {bad}
    assert set(_stored(conn)) == set(_expected(server)) - {bad}
    assert store.failed_page_ids(conn, SPACE) == [bad]

    server.set_faults(fail_page_ids=[])
    retry = sync_space(conn, ConfluenceClient(sandbox_settings(server)), SPACE)
    assert retry.retried_failures == 1 and not retry.failed
    assert _stored(conn) == _expected(server)
    assert store.failed_page_ids(conn, SPACE) == []


def test_full_sync_survives_throttling_and_server_errors(make_sandbox, conn: psycopg.Connection, flavor: str) -> None:
    server = make_sandbox(pages=60, flavor=flavor)
    client = ConfluenceClient(sandbox_settings(server, max_retries=8, list_page_size=10, fetch_batch_size=10))
    _register(conn, client)
    # A burst of 2: a first sync lists with bodies and makes only a handful of requests, all within a larger burst.
    faults = {"rate_limit_rps": 5, "rate_limit_burst": 2, "retry_after_s": 0.05, "error_rate": 0.2, "latency_ms": 2}
    if flavor == "dc":
        faults["throttle_status"] = 403  # Data Center may throttle with 403 plus rate-limit headers
    server.set_faults(**faults)
    result = sync_space(conn, client, SPACE)
    assert not result.failed
    assert _stored(conn) == _expected(server)
    assert client.stats.retries > 0 and client.stats.throttled > 0


def test_a_page_that_turns_trashed_leaves_search_when_seen(make_sandbox, conn: psycopg.Connection, flavor: str) -> None:
    server = make_sandbox(pages=40, flavor=flavor)
    client = ConfluenceClient(sandbox_settings(server))
    _register(conn, client)
    sync_space(conn, client, SPACE)
    victim = sorted(_expected(server))[0]
    conn.execute(
        "INSERT INTO chunks (chunk_id, document_id, source_hash, chunk_index, section_title, text, token_count,"
        " content_hash, is_live, tsv) VALUES ('c1', %s, 'h', 0, 't', 'x', 1, 'h', true, ''::tsvector)",
        (victim,),
    )
    server.set_status(victim, "trashed", bump_version=True)
    server.edit_page(sorted(_expected(server))[1], body="<p>edit that makes the victim's neighbour listed</p>")
    # The listing only shows current pages: the next full reconciliation sees the trashed page by id.
    with conn.transaction():
        store.record_failures(conn, SPACE, {victim: "probe"})
    sync_space(conn, client, SPACE)
    row = conn.execute("SELECT status, deleted_at IS NOT NULL FROM pages WHERE page_id = %s", (victim,)).fetchone()
    assert row == ("trashed", True)
    assert conn.execute("SELECT count(*) FROM chunks WHERE document_id = %s", (victim,)).fetchone() == (0,)


def test_space_discovery_skips_archived_and_honours_filters(make_sandbox, flavor: str) -> None:
    server = make_sandbox(pages=30, flavor=flavor)
    keys = [s.key for s in discover_spaces(ConfluenceClient(sandbox_settings(server)))]
    assert "LEGACY" not in keys and "~alice" in keys and SPACE in keys
    no_personal = ConfluenceClient(sandbox_settings(server, include_personal_spaces=False))
    assert "~alice" not in [s.key for s in discover_spaces(no_personal)]
    only = ConfluenceClient(sandbox_settings(server, spaces=("ENG", "QM")))
    assert [s.key for s in discover_spaces(only)] == ["ENG", "QM"]
