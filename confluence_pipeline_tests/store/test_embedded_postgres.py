"""The embedded server keeps its data across a stop and a start."""

import os
import shutil
from pathlib import Path

import psycopg
import pytest

from confluence_pipeline import localstack


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> localstack.LocalStackSettings:
    # ensure_database exports the URLs for child processes; restore this process's environment afterwards.
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DAGSTER_PG_URL", raising=False)
    (tmp_path / "home").mkdir()
    settings = localstack.LocalStackSettings(home=tmp_path / "home")
    yield settings
    localstack.stop_embedded_server(settings.pgdata)


def test_embedded_server_restarts_with_its_data(stack: localstack.LocalStackSettings) -> None:
    urls = localstack.ensure_database(None, stack)
    assert urls.embedded and urls.dagster.startswith("postgresql+psycopg2://")
    assert os.environ["DATABASE_URL"] == urls.app and os.environ["DAGSTER_PG_URL"] == urls.dagster
    with psycopg.connect(urls.app, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('survives')")
    assert localstack.stop_embedded_server(stack.pgdata) is True
    assert localstack.stop_embedded_server(stack.pgdata) is False
    urls_again = localstack.ensure_database(None, stack)
    with psycopg.connect(urls_again.app) as conn:
        assert conn.execute("SELECT v FROM kept").fetchone() == ("survives",)
    assert (stack.home / "pgdata" / "PG_VERSION").exists()


def test_database_url_wins_over_the_embedded_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DAGSTER_PG_URL", raising=False)
    urls = localstack.ensure_database("postgresql://app:secret@db.example/prod", localstack.LocalStackSettings())
    assert not urls.embedded
    assert urls.dagster == "postgresql+psycopg2://app:secret@db.example/prod"
    explicit = localstack.LocalStackSettings(dagster_pg_url="postgresql+psycopg2://dagster@db.example/runs")
    assert localstack.ensure_database("postgresql://app@db.example/prod", explicit).dagster == explicit.dagster_pg_url


def test_server_settings_are_sized_to_the_machine() -> None:
    small = localstack.server_settings(2 * 2**30, 1)
    assert small == {
        "shared_buffers": "512MB",
        "maintenance_work_mem": "256MB",
        "max_parallel_maintenance_workers": "1",
        "effective_cache_size": "1024MB",
        "max_wal_size": "1024MB",
    }
    large = localstack.server_settings(64 * 2**30, 16)
    assert large["shared_buffers"] == "4096MB" and large["maintenance_work_mem"] == "2048MB"
    assert large["max_parallel_maintenance_workers"] == "4"


def test_the_wal_may_grow_to_an_eighth_of_the_free_disk_in_powers_of_two_from_1_to_8_gb() -> None:
    gb = 2**30
    wal = {
        free: localstack.server_settings(8 * gb, 2, free * gb)["max_wal_size"] for free in (5, 16, 31, 32, 63, 64, 900)
    }
    assert wal == {
        5: "1024MB",
        16: "2048MB",
        31: "2048MB",
        32: "4096MB",
        63: "4096MB",
        64: "8192MB",
        900: "8192MB",
    }


def test_the_embedded_server_starts_sized_to_the_machine(stack: localstack.LocalStackSettings) -> None:
    import psutil

    memory, cpus = psutil.virtual_memory().total, os.cpu_count() or 1
    urls = localstack.ensure_database(None, stack)
    free = shutil.disk_usage(stack.pgdata).free
    wanted = localstack.server_settings(memory, cpus, free)
    # Other writes to the disk (the server's own, other tests') move the free space between the start and here: at a
    # power of two's edge, the start may have sized the WAL a step away.
    wal_mb = {
        int(localstack.server_settings(memory, cpus, max(free + gap, 0))["max_wal_size"][:-2])
        for gap in (-(2**30), 0, 2**30)
    }
    del wanted["max_wal_size"]
    with psycopg.connect(urls.app) as conn:
        assert conn.execute("SELECT pg_size_bytes(current_setting('max_wal_size')) / 2^20").fetchone()[0] in wal_mb
        for name, value in wanted.items():
            same = conn.execute(
                "SELECT pg_size_bytes(current_setting(%s)) = pg_size_bytes(%s)", (name, value)
            ).fetchone()[0]
            assert same, (name, conn.execute(f"SHOW {name}").fetchone()[0], value)
    # Attaching again changes nothing (no restart: the server keeps running with its data).
    localstack.ensure_database(None, stack)
