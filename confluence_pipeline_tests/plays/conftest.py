"""Fixtures for Play tracking: a sandbox with the Play space (pages current to a fixed day), its settings, a sync."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.sync import fetch_space, sync_space
from confluence_pipeline.plays.settings import PlaySettings
from confluence_pipeline.store import pages as page_store
from confluence_pipeline_tests.confluence.helpers import sandbox_settings
from confluence_sandbox import SandboxServer, generate_corpus
from confluence_sandbox import plays as sandbox_plays

SEOUL = ZoneInfo("Asia/Seoul")
# The sandbox's Play pages run up to the day before AS_OF; NOW is that morning. Both lie before the sandbox clock's
# floor (the corpus epoch, 2026-01-05), so no page is modified "in the future" of the sandbox, whatever the date.
AS_OF = date(2025, 11, 30)
NOW = datetime(2025, 11, 30, 10, 0, tzinfo=SEOUL)


def play_settings(**overrides: Any) -> PlaySettings:
    """Settings for the sandbox's Play pages, with short waits so retries do not slow the suite."""
    values: dict[str, Any] = {
        "todo_page_id": str(sandbox_plays.TODO_PAGE_ID),
        "play_db_page_id": str(sandbox_plays.PLAY_DB_PAGE_ID),
        "action_log_page_id": str(sandbox_plays.ACTION_LOG_PAGE_ID),
        "live_docs": {k: str(v) for k, v in sandbox_plays.live_doc_ids().items()},
        "outbox_backoff_s": 0.01,
        "outbox_requeue_s": 0.0,
        "request_retries": 0,
    }
    values.update(overrides)
    return PlaySettings(**values)


@pytest.fixture
def play_server() -> Iterator[SandboxServer]:
    """A Cloud sandbox with the Play space only (no generated or real pages), site time zone Asia/Seoul."""
    corpus = generate_corpus(0, 5, include_fixtures=False, include_plays=True, plays_as_of=AS_OF, timezone="Asia/Seoul")
    server = SandboxServer(corpus).start()
    yield server
    server.stop()


@pytest.fixture
def play_client(play_server: SandboxServer) -> ConfluenceClient:
    """A real client for the Play sandbox."""
    return ConfluenceClient(sandbox_settings(play_server))


@pytest.fixture
def sync_plays(conn: psycopg.Connection, play_client: ConfluenceClient) -> Callable[[], int]:
    """Sync the Play space into the database (the aggregation reads the stored pages); returns pages written."""

    def run() -> int:
        with conn.transaction():
            page_store.upsert_space(conn, fetch_space(play_client, sandbox_plays.PLAY_SPACE_KEY))
        return sync_space(conn, play_client, sandbox_plays.PLAY_SPACE_KEY).written

    return run


def page_body(server: SandboxServer, page_id: int | str) -> str:
    """A page's current storage body, as the sandbox holds it."""
    page = server.corpus.page(page_id)
    assert page is not None
    return server.corpus.body(page)


def writes(server: SandboxServer) -> int:
    """Requests that write (PUT or POST) the sandbox has answered since its stats were reset."""
    return sum(n for endpoint, n in server.stats()["by_endpoint"].items() if endpoint.startswith(("PUT", "POST")))
