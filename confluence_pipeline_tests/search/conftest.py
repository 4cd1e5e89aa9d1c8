"""A store filled from a small sandbox corpus through the real pipeline, shared by a test module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from benchmarks.relevance import ingest_corpus
from confluence_pipeline.store.migrate import apply_migrations


def new_database(socket_dir: str) -> str:
    """Create an empty, migrated database on the session's server; returns its URL."""
    name = "s_" + uuid.uuid4().hex[:12]
    with psycopg.connect(f"postgresql://postgres@/postgres?host={socket_dir}", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@/{name}?host={socket_dir}"
    apply_migrations(url)
    return url


def drop_database(socket_dir: str, url: str) -> None:
    """Drop a database made by :func:`new_database`."""
    name = url.split("/")[-1].split("?")[0]
    with psycopg.connect(f"postgresql://postgres@/postgres?host={socket_dir}", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def small_store(pg_socket_dir: str) -> Iterator[tuple[str, Any]]:
    """(database URL, corpus) of ``generate_corpus(120, seed=5)`` synced, chunked and embedded (local, 384 dims)."""
    url = new_database(pg_socket_dir)
    corpus = ingest_corpus(url, pages=120, seed=5)
    yield url, corpus
    drop_database(pg_socket_dir, url)
