"""Fixtures for the Play tracking glue: the Play sandbox, and this process's environment pointing at it."""

from __future__ import annotations

import json

import pytest

from confluence_pipeline_tests.confluence.helpers import sandbox_environ
from confluence_pipeline_tests.plays.conftest import play_client, play_server, play_settings, sync_plays
from confluence_sandbox import SandboxServer

# The Play fixtures live with the plain module's tests; these are the same fixtures, not copies.
__all__ = ["play_client", "play_server", "sync_plays"]


def play_environ(server: SandboxServer, db_url: str) -> dict[str, str]:
    """The variables a deployment would set for the sandbox's Play pages (short waits, so retries stay quick)."""
    settings = play_settings()
    return sandbox_environ(
        server,
        db_url,
        CONFLUENCE_BACKOFF_BASE_S="0.01",
        CONFLUENCE_BACKOFF_MAX_S="0.2",
        CONFLUENCE_TODO_PAGE_ID=settings.todo_page_id,
        CONFLUENCE_PLAY_DB_PAGE_ID=settings.play_db_page_id,
        CONFLUENCE_ACTION_LOG_PAGE_ID=settings.action_log_page_id,
        CONFLUENCE_PLAY_LIVE_DOCS=json.dumps(dict(settings.live_docs)),
        PLAY_OUTBOX_BACKOFF_S="0.01",
        PLAY_OUTBOX_REQUEUE_S="0",
        PLAY_REQUEST_RETRIES="0",
    )


@pytest.fixture
def play_env(play_server: SandboxServer, db_url: str, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """This process's environment set for the Play sandbox and the test database; returns the sandbox."""
    for name, value in play_environ(play_server, db_url).items():
        monkeypatch.setenv(name, value)
    return play_server
