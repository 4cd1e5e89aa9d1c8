"""The stages with worker processes store exactly what they store in one process, and bulk loads build one index."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest

from confluence_pipeline import stages
from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.settings import ConfluenceSettings
from confluence_pipeline.confluence.sync import fetch_space, sync_space
from confluence_pipeline.convert.resolve import needs_resolver
from confluence_pipeline.embed.local import LocalEmbedder
from confluence_pipeline.lib import parallel
from confluence_pipeline.stages import StageSettings, chunk_space, convert_space, embed_space
from confluence_pipeline.store import documents as docs
from confluence_pipeline.store import pages as page_store
from confluence_pipeline.store.db import connect

SPACE = "ENG"


def _ingest(db_url: str, server: Any, settings: StageSettings, *, head_start: bool = False) -> dict[str, Any]:
    client = ConfluenceClient(
        ConfluenceSettings(
            base_url=server.base_url, deployment="cloud", email=server.email, api_token=server.token,
            rate_limit_rps=1000,
        )
    )  # fmt: skip
    provider = LocalEmbedder(64, log_selection=False)
    with connect(db_url, autocommit=True) as conn:
        with conn.transaction():
            page_store.upsert_space(conn, fetch_space(client, SPACE))
        sync_space(conn, client, SPACE)
        results = {"head start": _head_start(conn, db_url, settings)} if head_start else {}
        results |= {
            "markdown": convert_space(conn, SPACE, settings),
            "chunks": chunk_space(conn, SPACE, settings),
            "embeddings": embed_space(conn, SPACE, [provider], settings),
        }
        stored = {
            "markdown": conn.execute("SELECT page_id, markdown, warnings FROM page_markdown ORDER BY 1").fetchall(),
            "chunks": conn.execute(
                "SELECT chunk_id, text, token_count, content_hash, is_live, tsv::text FROM chunks ORDER BY 1"
            ).fetchall(),
            "embeddings": conn.execute("SELECT content_hash, embedding::text FROM embeddings ORDER BY 1").fetchall(),
            "index": conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL", (docs.vector_index_name(provider.model),)
            ).fetchone()[0],
        }
    return {"results": results, "stored": stored, "requests": provider.stats.requests}


def _head_start(conn: psycopg.Connection, db_url: str, settings: StageSettings) -> stages.StageResult:
    """What ConvertWhileFetching converts of the stored pages, told of them 50 at a time as a first sync tells it."""
    ids = [row[0] for row in conn.execute("SELECT page_id FROM pages WHERE status = 'current' ORDER BY 1")]
    with stages.ConvertWhileFetching(lambda: connect(db_url, autocommit=True), SPACE, settings) as early:
        for start in range(0, len(ids), 50):
            early.stored(ids[start : start + 50])
        # A batch is written once the next one is started: wait for the first, then end the "fetch".
        deadline = time.monotonic() + 60
        while conn.execute("SELECT count(*) FROM page_markdown").fetchone()[0] == 0:
            assert time.monotonic() < deadline, "nothing was converted while fetching"
            time.sleep(0.05)
    return early.result


def test_converting_while_fetching_stores_what_the_markdown_stage_alone_stores(
    make_sandbox, temporary_database, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_sandbox(pages=320, seed=5)
    # Head-start batches of 20 pages or more: several per 50 pages stored, for a space of about a hundred.
    monkeypatch.setattr(stages, "PARALLEL_THRESHOLD", 20)
    settings = StageSettings(workers=1, batch_size=80, embed_batch_size=128)
    with temporary_database() as plain_url, temporary_database() as early_url:
        plain = _ingest(plain_url, server, settings)
        early = _ingest(early_url, server, settings, head_start=True)
        with connect(early_url) as conn:
            bodies = dict(conn.execute("SELECT page_id, body_storage FROM pages WHERE status = 'current'").fetchall())
    assert early["stored"] == plain["stored"]
    head_start, markdown = early["results"]["head start"], early["results"]["markdown"]
    # A head start of whole batches; no page converted twice.
    assert head_start.processed >= 20
    assert head_start.processed + markdown.processed == plain["results"]["markdown"].processed == len(bodies)
    # Pages that show other pages wait for the Markdown stage: what they show may not be stored yet.
    shows_others = {page_id for page_id, body in bodies.items() if needs_resolver(body)}
    assert shows_others
    assert head_start.extra["pages_with_dependencies"] == 0
    assert markdown.extra["pages_with_dependencies"] == plain["results"]["markdown"].extra["pages_with_dependencies"]


def test_worker_processes_store_what_one_process_stores(
    make_sandbox, temporary_database, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_sandbox(pages=320, seed=5)
    # Batches past the in-process threshold go to the workers; a low bulk threshold takes the bulk-load path too.
    monkeypatch.setattr(stages, "_BULK_LOAD_MIN", 50)
    with temporary_database() as one_url, temporary_database() as pool_url:
        alone = _ingest(one_url, server, StageSettings(workers=1, batch_size=80, embed_batch_size=128))
        pooled = _ingest(pool_url, server, StageSettings(workers=2, batch_size=80, embed_batch_size=128))
    assert len(alone["stored"]["markdown"]) >= 80  # at least one full batch, past the in-process threshold
    assert 2 in parallel._pools  # the workers did start
    assert alone["stored"] == pooled["stored"]
    assert pooled["stored"]["index"]
    for stage in ("markdown", "chunks", "embeddings"):
        assert alone["results"][stage].processed == pooled["results"][stage].processed > 0
        assert alone["results"][stage].written == pooled["results"][stage].written
    # One embedding request per batch, whether or not the workers shared it.
    assert alone["requests"] == pooled["requests"] == pooled["results"]["embeddings"].extra["embedding_requests"]
    assert pooled["results"]["embeddings"].extra["vector_indexes_built"]


def test_concurrent_bulk_loads_build_the_index_once_after_the_last(db_url: str) -> None:
    model = "local-hash-v1-64"
    with connect(db_url, autocommit=True) as first, connect(db_url, autocommit=True) as second:
        docs.register_model(first, model, "local", 64)
        docs.begin_bulk_load(first, model)
        docs.begin_bulk_load(second, model)
        docs.end_bulk_load(first, model)
        # The second load is still running: the first one leaves the build to it.
        assert not docs.build_vector_index(first, model, 64)
        docs.end_bulk_load(second, model)
        assert docs.build_vector_index(second, model, 64)
        assert not docs.build_vector_index(first, model, 64)  # there already
        name = docs.vector_index_name(model)
        assert first.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]


def test_a_closed_connection_ends_its_bulk_load(db_url: str) -> None:
    model = "local-hash-v1-64"
    with connect(db_url, autocommit=True) as conn:
        docs.register_model(conn, model, "local", 64)
        crashed = psycopg.connect(db_url, autocommit=True)
        docs.begin_bulk_load(crashed, model)
        assert not docs.build_vector_index(conn, model, 64)
        crashed.close()  # a run that died: its session, and with it the lock, is gone
        assert docs.build_vector_index(conn, model, 64)
