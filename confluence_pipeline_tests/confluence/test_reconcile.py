"""Deletion reconciliation and cheap detection against both sandbox flavours, over real HTTP, into real search."""

from __future__ import annotations

import psycopg
import pytest

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.reconcile import (
    DeletionLimitExceeded,
    ListingIncomplete,
    ReconcileSettings,
    list_current_page_ids,
    parse_strategies,
    reconcile_space,
)
from confluence_pipeline.confluence.sync import detect_changes, fetch_space, sync_space
from confluence_pipeline.embed.local import LocalEmbedder
from confluence_pipeline.search.hybrid import search
from confluence_pipeline.stages import StageSettings, chunk_space, convert_space, embed_space
from confluence_pipeline.store import pages as store
from confluence_pipeline_tests.confluence.helpers import sandbox_settings

SPACE = "ENG"
WORDS = ("zebracorn", "quokkaflux", "marmotwave", "lynxpetal")
PROVIDER = LocalEmbedder(log_selection=False)
# Small pages so that every listing here follows several cursors (and, on Cloud, meets a next link to nothing).
SETTINGS = ReconcileSettings(listing_page_size=7)


@pytest.fixture(params=["cloud", "dc"])
def flavor(request: pytest.FixtureRequest) -> str:
    """Every test here runs against both flavours of the sandbox."""
    return request.param


def _client(server, **overrides: object) -> ConfluenceClient:
    return ConfluenceClient(sandbox_settings(server, **overrides))


def _ingest(conn: psycopg.Connection, client: ConfluenceClient, key: str = SPACE) -> None:
    """What the ingest job does for a space: sync, Markdown, chunks, embeddings."""
    stages = StageSettings(workers=1)
    sync_space(conn, client, key)
    convert_space(conn, key, stages)
    chunk_space(conn, key, stages)
    embed_space(conn, key, [PROVIDER], stages)


def _found(conn: psycopg.Connection, word: str) -> list[str]:
    """Pages hybrid search serves for a word, best first (the vector half always contributes neighbours)."""
    return [r.page_id for r in search(conn, word, PROVIDER, k=5)]


def _served(conn: psycopg.Connection, marked: dict[str, str], word: str) -> bool:
    """Whether search serves the page that carries ``word`` (first, as the only page containing it)."""
    found = _found(conn, word)
    assert found[:1] == [marked[word]] or marked[word] not in found
    return marked[word] in found


def _live_chunks(conn: psycopg.Connection, page_id: str) -> int:
    return conn.execute("SELECT count(*) FROM chunks WHERE document_id = %s AND is_live", (page_id,)).fetchone()[0]


def _row(conn: psycopg.Connection, page_id: str) -> tuple[str, bool]:
    return conn.execute("SELECT status, deleted_at IS NOT NULL FROM pages WHERE page_id = %s", (page_id,)).fetchone()  # type: ignore[return-value]


@pytest.fixture
def synced(make_sandbox, conn: psycopg.Connection, flavor: str):
    """A sandbox whose ENG space is ingested and searchable; four of its pages carry a word of their own."""
    server = make_sandbox(pages=100, flavor=flavor)
    pages = [str(p.id) for p in server.corpus.pages(space_key=SPACE, statuses=["current"])]
    marked = dict(zip(WORDS, pages[-len(WORDS) :], strict=True))
    for word, page_id in marked.items():
        server.edit_page(page_id, body=f"<p>The {word} procedure is documented here.</p>")
    client = _client(server)
    for key in (SPACE, "OPS"):
        with conn.transaction():
            store.upsert_space(conn, fetch_space(client, key))
        _ingest(conn, client, key)
    for word, page_id in marked.items():
        assert _found(conn, word)[:1] == [page_id]
    return server, client, marked


def test_purged_archived_and_trashed_pages_leave_search_after_reconcile(synced, conn: psycopg.Connection) -> None:
    server, client, marked = synced
    purged, archived, trashed, kept = marked.values()
    server.delete_page(purged)
    server.set_status(archived, "archived")
    server.set_status(trashed, "trashed")
    # The change listing cannot see any of this: CQL matches current pages only.
    _ingest(conn, client)
    assert _row(conn, purged) == ("current", False) and _live_chunks(conn, purged) > 0

    stored = len(store.current_page_ids(conn, SPACE))
    server.reset_stats()
    result = reconcile_space(conn, client, SPACE, SETTINGS)
    assert result.removed == {purged: "deleted", archived: "archived", trashed: "trashed"}
    assert result.stored == stored and result.listed == stored - 3 == result.total_size
    for page_id, status in result.removed.items():
        assert _row(conn, page_id) == (status, True)  # the row stays, with deleted_at
        assert _live_chunks(conn, page_id) == 0
    assert not any(_served(conn, marked, word) for word in ("zebracorn", "quokkaflux", "marmotwave"))
    assert _served(conn, marked, "lynxpetal") and marked["lynxpetal"] == kept

    stats = server.stats()
    listing_requests = stats["by_endpoint"]["GET /rest/api/search"]
    assert listing_requests >= result.listed // 7  # ids only, several cursors followed
    assert stats["by_endpoint"]["GET /rest/api/content/{id}"] == 3  # one status lookup per missing page
    assert stats["total"] == listing_requests + 3 == result.requests
    meta = result.metadata()
    assert meta["pages_removed"] == 3 and meta["removed_page_ids"] == ", ".join(sorted(result.removed, key=int))
    assert meta["removed_archived"] == meta["removed_trashed"] == meta["removed_deleted"] == 1
    assert meta["pages_listed"] == result.listed and meta["seconds"] >= 0
    assert store.last_reconcile_time(conn, SPACE) is not None

    again = reconcile_space(conn, client, SPACE, SETTINGS)
    assert again.removed == {} and again.listed == result.listed


def test_a_listing_that_fails_half_way_deletes_nothing(synced, conn: psycopg.Connection) -> None:
    server, _, marked = synced
    victim = marked["zebracorn"]
    server.set_status(victim, "trashed")
    server.set_faults(fail_endpoint="GET /rest/api/search", fail_endpoint_after=2)
    client = _client(server, max_retries=1)
    with pytest.raises(ListingIncomplete, match=r"space ENG is incomplete: request 3 failed .*Nothing was deleted"):
        reconcile_space(conn, client, SPACE, SETTINGS)
    assert _row(conn, victim) == ("current", False) and _live_chunks(conn, victim) > 0
    assert store.last_reconcile_time(conn, SPACE) is None

    server.set_faults(fail_endpoint=None)
    assert reconcile_space(conn, client, SPACE, SETTINGS).removed == {victim: "trashed"}


def test_a_cursor_that_ends_early_deletes_nothing(synced, conn: psycopg.Connection) -> None:
    server, client, marked = synced
    server.set_status(marked["zebracorn"], "trashed")
    server.set_faults(end_cursor_after=14)
    ended = r"counts \d+ current pages \(totalSize\) but the cursor ended after 14 were listed"
    with pytest.raises(ListingIncomplete, match=ended):
        reconcile_space(conn, client, SPACE, SETTINGS)
    assert _row(conn, marked["zebracorn"]) == ("current", False)


def test_a_listing_past_its_time_limit_deletes_nothing(synced, conn: psycopg.Connection) -> None:
    server, client, marked = synced
    server.set_status(marked["zebracorn"], "trashed")
    ticks = iter(range(0, 10_000, 100))
    slow = ReconcileSettings(listing_page_size=7, listing_timeout_s=150)
    with pytest.raises(ListingIncomplete, match="still running after 150 s"):
        reconcile_space(conn, client, SPACE, slow, clock=lambda: float(next(ticks)))
    assert _row(conn, marked["zebracorn"]) == ("current", False)


def test_a_space_that_suddenly_lists_no_pages_is_never_emptied_without_force(synced, conn: psycopg.Connection) -> None:
    server, client, marked = synced
    stored = store.current_page_ids(conn, SPACE)
    # The token lost permission to the space: CQL lists nothing (totalSize 0) and its pages answer 404.
    server.set_faults(hidden_spaces=[SPACE])
    server.reset_stats()
    with pytest.raises(DeletionLimitExceeded) as caught:
        reconcile_space(conn, client, SPACE, SETTINGS)
    message = str(caught.value)
    assert f"every one of its {len(stored)} stored pages" in message and "Nothing was deleted" in message
    assert "--force" in message and "`force: true`" in message
    assert caught.value.details["listed"] == 0 and caught.value.reason == "limit"
    assert server.stats()["total"] == 1  # refused before looking up a single page
    assert store.current_page_ids(conn, SPACE) == stored
    assert _served(conn, marked, "zebracorn")


def test_losing_thirty_percent_deletes_nothing_without_force(synced, conn: psycopg.Connection) -> None:
    server, client, _ = synced
    stored = sorted(store.current_page_ids(conn, SPACE), key=int)
    lost = stored[: round(len(stored) * 0.3)]
    for page_id in lost:
        server.set_status(page_id, "trashed")
    with pytest.raises(DeletionLimitExceeded, match=rf"would remove {len(lost)} of its {len(stored)} stored pages"):
        reconcile_space(conn, client, SPACE, SETTINGS)
    assert store.current_page_ids(conn, SPACE) == set(stored)

    # A higher limit, or force, lets a real mass deletion through.
    loose = ReconcileSettings(listing_page_size=7, max_delete_share=0.5)
    assert reconcile_space(conn, client, SPACE, loose).removed == dict.fromkeys(lost, "trashed")
    for page_id in lost:
        server.set_status(page_id, "current", bump_version=True)
    _ingest(conn, client)
    assert store.current_page_ids(conn, SPACE) == set(stored)
    for page_id in lost:
        server.set_status(page_id, "trashed")
    forced = reconcile_space(conn, client, SPACE, SETTINGS, force=True)
    assert forced.removed == dict.fromkeys(lost, "trashed") and forced.metadata()["forced"] is True


def test_a_page_that_comes_back_is_served_again_after_the_next_sync(synced, conn: psycopg.Connection) -> None:
    server, client, marked = synced
    restored, unarchived, other = marked["zebracorn"], marked["quokkaflux"], marked["lynxpetal"]
    server.set_status(restored, "trashed")
    server.set_status(unarchived, "archived")
    assert set(reconcile_space(conn, client, SPACE, SETTINGS).removed) == {restored, unarchived}
    assert not _served(conn, marked, "zebracorn") and not _served(conn, marked, "quokkaflux")
    # An hour of other edits moves the watermark well past the two pages' last versions.
    server.set_clock(advance_s=3600)
    server.edit_page(other, body="<p>The lynxpetal procedure, revised.</p>")
    _ingest(conn, client)

    # Restoring from the trash makes a new version (the REST API requires it), so the change listing sees it.
    server.set_status(restored, "current", bump_version=True)
    # Unarchiving here leaves lastmodified alone: only the count shows it, and reconciliation fetches it.
    server.set_status(unarchived, "current")
    check = detect_changes(conn, client, SPACE)
    assert check.marker is not None and check.reconcile_needed
    _ingest(conn, client)
    assert _served(conn, marked, "zebracorn")
    assert _row(conn, unarchived) == ("archived", True)
    check = detect_changes(conn, client, SPACE)
    assert check.reconcile_needed and check.marker is None
    assert check.total_size == check.known_current + 1
    result = reconcile_space(conn, client, SPACE, SETTINGS)
    assert result.removed == {} and result.refreshed == 1
    _ingest(conn, client)
    assert _served(conn, marked, "quokkaflux")
    assert _row(conn, unarchived) == ("current", False)
    assert not detect_changes(conn, client, SPACE).reconcile_needed


def test_a_page_the_search_index_lost_is_kept_because_confluence_says_current(synced, conn: psycopg.Connection) -> None:
    server, client, marked = synced
    lagging, trashed = marked["zebracorn"], marked["quokkaflux"]
    server.set_faults(unindexed_page_ids=[int(lagging)])
    server.set_status(trashed, "trashed")
    result = reconcile_space(conn, client, SPACE, SETTINGS)
    assert result.removed == {trashed: "trashed"} and result.kept == [lagging]
    assert result.metadata()["pages_kept_current"] == 1
    assert _row(conn, lagging) == ("current", False) and _served(conn, marked, "zebracorn")


def test_a_missing_page_confluence_cannot_describe_stays_until_it_can(synced, conn: psycopg.Connection) -> None:
    server, _, marked = synced
    victim = marked["zebracorn"]
    server.set_status(victim, "trashed")
    server.set_faults(fail_endpoint="GET /rest/api/content/{id}")
    client = _client(server, max_retries=0)
    result = reconcile_space(conn, client, SPACE, SETTINGS)
    assert result.removed == {} and list(result.unresolved) == [victim]
    assert result.metadata()["unresolved_page_ids"] == victim
    assert _row(conn, victim) == ("current", False)
    server.set_faults(fail_endpoint=None)
    assert reconcile_space(conn, client, SPACE, SETTINGS).removed == {victim: "trashed"}


def test_a_page_moved_to_another_space_follows_it(synced, conn: psycopg.Connection) -> None:
    server, client, marked = synced
    to_tracked, to_untracked = marked["zebracorn"], marked["quokkaflux"]
    server.move_page(to_tracked, space="OPS")
    server.move_page(to_untracked, space="DATA")
    result = reconcile_space(conn, client, SPACE, SETTINGS)
    assert result.removed == {to_untracked: "moved"} and result.refreshed == 1
    assert conn.execute("SELECT space_key, status FROM pages WHERE page_id = %s", (to_tracked,)).fetchone() == (
        "OPS",
        "current",
    )
    assert _row(conn, to_untracked) == ("moved", True) and _live_chunks(conn, to_untracked) == 0


def test_detection_asks_for_reconcile_with_one_request(synced, conn: psycopg.Connection) -> None:
    server, client, marked = synced
    server.reset_stats()
    idle = detect_changes(conn, client, SPACE)
    assert idle.marker is None and not idle.reconcile_needed and idle.total_size == idle.known_current
    assert server.stats()["by_endpoint"] == {"GET /rest/api/search": 1}

    server.set_status(marked["zebracorn"], "trashed")
    server.reset_stats()
    check = detect_changes(conn, client, SPACE)
    assert check.reconcile_needed and check.marker is None
    assert check.total_size == check.known_current - 1
    assert check.reconcile_marker == f"count-{check.total_size}-{check.known_current}"
    stats = server.stats()
    assert stats["total"] == 1 and stats["by_endpoint"] == {"GET /rest/api/search": 1}

    # A new page raises the count too, but it is among the newest results: a sync, not a reconciliation.
    reconcile_space(conn, client, SPACE, SETTINGS)
    server.create_page(SPACE, "A page created after the reconciliation")
    created = detect_changes(conn, client, SPACE)
    assert created.marker is not None and not created.reconcile_needed


def test_a_failing_page_does_not_make_detection_ask_for_reconcile(synced, conn: psycopg.Connection) -> None:
    server, client, _ = synced
    new = server.create_page(SPACE, "A page whose body cannot be rendered")
    server.set_faults(fail_page_ids=[int(new["id"])])
    sync_space(conn, _client(server, max_retries=0), SPACE)
    assert store.failed_page_ids(conn, SPACE) == [new["id"]]
    check = detect_changes(conn, client, SPACE)
    assert check.marker is not None
    assert not check.reconcile_needed and check.total_size == check.known_current


def test_listing_returns_every_current_id_and_checks_the_count(make_sandbox, flavor: str) -> None:
    server = make_sandbox(pages=100, flavor=flavor)
    expected = {str(p.id) for p in server.corpus.pages(space_key="OPS", statuses=["current"])}
    listing = list_current_page_ids(_client(server), "OPS")
    assert listing.page_ids == expected and listing.total_size == len(expected) and listing.responses == 1
    small = list_current_page_ids(_client(server), "OPS", page_size=5)
    assert small.page_ids == expected and small.responses >= len(expected) // 5


def test_strategies_parse_per_space_and_say_when_a_space_is_due() -> None:
    from datetime import UTC, datetime, timedelta

    settings = ReconcileSettings.parse("weekly,ENG=every_sync", "HR=on_demand", max_delete_share=0.3)
    assert settings.strategy == "weekly" and settings.max_delete_share == 0.3
    assert [settings.strategy_for(k) for k in ("ENG", "HR", "OPS")] == ["every_sync", "on_demand", "weekly"]
    now = datetime(2026, 1, 12, tzinfo=UTC)
    assert settings.is_due("OPS", None, now) and settings.is_due("OPS", now - timedelta(days=7), now)
    assert not settings.is_due("OPS", now - timedelta(days=6), now)
    assert settings.is_due("ENG", now, now) and not settings.is_due("HR", None, now)
    assert parse_strategies("") == (None, {})
    assert ReconcileSettings.parse("ENG=on_demand").strategy == "weekly"
    for bad, message in [
        ("monthly", "names no strategy"),
        ("weekly,every_sync", "two default strategies"),
        ("ENG=weekly,ENG=on_demand", "given twice"),
        ('E"NG=weekly', "not a valid Confluence space key"),
    ]:
        with pytest.raises(ValueError, match=message):
            ReconcileSettings.parse(bad)
    with pytest.raises(ValueError, match="MAX_DELETE_SHARE"):
        ReconcileSettings.parse("weekly", max_delete_share=0)
