"""A store filled from a small sandbox corpus through the real pipeline, shared by a test module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from benchmarks.relevance import ingest_corpus


@pytest.fixture(scope="module")
def small_store(temporary_database) -> Iterator[tuple[str, Any]]:
    """(database URL, corpus) of ``generate_corpus(120, seed=5)`` synced, chunked and embedded (local, 384 dims)."""
    with temporary_database() as url:
        yield url, ingest_corpus(url, pages=120, seed=5)
