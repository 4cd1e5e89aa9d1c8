"""The embedded server keeps its data across a stop and a start."""

from pathlib import Path

import psycopg
import pytest

from confluence_pipeline import localstack


@pytest.fixture
def local_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CONFLUENCE_PIPELINE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DAGSTER_PG_URL", raising=False)
    (tmp_path / "home").mkdir()
    yield tmp_path / "home"
    localstack.stop_embedded_server()


def test_embedded_server_restarts_with_its_data(local_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    urls = localstack.ensure_database()
    assert urls.embedded and urls.dagster.startswith("postgresql+psycopg2://")
    with psycopg.connect(urls.app, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('survives')")
    assert localstack.stop_embedded_server() is True
    assert localstack.stop_embedded_server() is False
    # ensure_database exported the URL for child processes; a new process would start without it.
    monkeypatch.delenv("DATABASE_URL")
    urls_again = localstack.ensure_database()
    with psycopg.connect(urls_again.app) as conn:
        assert conn.execute("SELECT v FROM kept").fetchone() == ("survives",)
    assert (local_home / "pgdata" / "PG_VERSION").exists()


def test_database_url_wins_over_the_embedded_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:secret@db.example/prod")
    monkeypatch.delenv("DAGSTER_PG_URL", raising=False)
    urls = localstack.ensure_database()
    assert not urls.embedded
    assert urls.dagster == "postgresql+psycopg2://app:secret@db.example/prod"
