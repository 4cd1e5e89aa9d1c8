"""CLI fixtures: the command line's environment on the test server, with a Dagster instance of its own."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def cli_env(temporary_database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """DATABASE_URL, a Dagster instance (DAGSTER_HOME, DAGSTER_PG_URL) and a sandbox port for the CLI; no Confluence."""
    with temporary_database(migrated=False) as dagster_url:
        monkeypatch.setenv("DATABASE_URL", db_url)
        # dagster-postgres needs psycopg2 (DESIGN.md): psycopg 3 breaks its NOTIFY statement.
        monkeypatch.setenv("DAGSTER_PG_URL", dagster_url.replace("postgresql://", "postgresql+psycopg2://", 1))
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
        monkeypatch.setenv("SANDBOX_PORT", str(free_port()))
        monkeypatch.setenv("PIPELINE_WORKERS", "1")
        for name in ("CONFLUENCE_BASE_URL", "CONFLUENCE_EMAIL", "CONFLUENCE_API_TOKEN", "CONFLUENCE_DEPLOYMENT"):
            monkeypatch.delenv(name, raising=False)
        yield
