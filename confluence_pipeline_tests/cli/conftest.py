"""Fixtures for the CLI tests: a Dagster instance and the pipeline's database on the test server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from confluence_pipeline_tests.cli.helpers import free_port


@pytest.fixture
def cli_env(temporary_database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """DATABASE_URL, a Dagster instance (DAGSTER_HOME, DAGSTER_PG_URL) and a sandbox port for the CLI; no Confluence."""
    with temporary_database(migrated=False) as dagster_url:
        monkeypatch.setenv("DATABASE_URL", db_url)
        # dagster-postgres needs psycopg2 (DESIGN.md): psycopg 3 breaks its NOTIFY statement.
        monkeypatch.setenv("DAGSTER_PG_URL", dagster_url.replace("postgresql://", "postgresql+psycopg2://", 1))
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
        monkeypatch.setenv("CONFLUENCE_PIPELINE_HOME", str(tmp_path / "local"))
        monkeypatch.setenv("SANDBOX_PORT", str(free_port()))
        monkeypatch.setenv("PIPELINE_WORKERS", "1")
        # Spaces run in this process: starting a process per space costs seconds a command. The tests of the
        # processes (test_materialize_processes, test_end_to_end) ask for them.
        monkeypatch.setenv("PIPELINE_SPACE_PROCESSES", "1")
        for name in (
            "CONFLUENCE_BASE_URL",
            "CONFLUENCE_EMAIL",
            "CONFLUENCE_API_TOKEN",
            "CONFLUENCE_DEPLOYMENT",
            "CONFLUENCE_PAT",
            "CONFLUENCE_INCLUDE_PERSONAL_SPACES",
        ):
            # Set first, so that teardown also removes what the CLI itself exports (it points itself at sandboxes).
            monkeypatch.setenv(name, "")
            monkeypatch.delenv(name)
        yield


@pytest.fixture
def use_sandbox(monkeypatch: pytest.MonkeyPatch):
    """Point the CLI at a sandbox, restoring the environment afterwards."""
    from confluence_pipeline.localstack import SandboxState

    def point(server, **extra: str) -> None:
        for name, value in {**SandboxState.of(server).environment(), **extra}.items():
            monkeypatch.setenv(name, value)

    return point
