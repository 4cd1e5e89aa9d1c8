"""Store consistency checks: pass on a healthy store, fail with the right counts once it is broken on purpose.

The SQL is tested directly (``store/checks.py``), then once through Dagster as partitioned asset checks.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from dagster import AssetCheckKey, AssetSelection, DagsterInstance, Definitions, materialize

from benchmarks.relevance import ingest_server
from confluence_pipeline.defs.ingest.assets import chunk_embeddings, ingest_assets
from confluence_pipeline.defs.ingest.checks import ingest_checks
from confluence_pipeline.defs.ingest.partitions import space_partitions
from confluence_pipeline.defs.resources import build_resources
from confluence_pipeline.store import checks
from confluence_pipeline.store import documents as docs
from confluence_pipeline.store.db import connect
from confluence_pipeline_tests.confluence.helpers import sandbox_environ


@pytest.fixture
def store(make_sandbox, db_url: str):
    server = make_sandbox(pages=60, seed=3)
    ingest_server(db_url, server)
    conn = connect(db_url, autocommit=True)
    yield conn, server
    conn.close()


def _pages_with_live_chunks(conn: psycopg.Connection, space: str, count: int) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            """SELECT p.page_id FROM pages p WHERE p.space_key = %s AND p.status = 'current'
                 AND EXISTS (SELECT 1 FROM chunks c WHERE c.document_id = p.page_id AND c.is_live)
               ORDER BY p.page_id LIMIT %s""",
            (space, count),
        )
    ]


def _first_live_text(conn: psycopg.Connection, page_id: str) -> str:
    """The content hash of the page's first live chunk."""
    return conn.execute(
        "SELECT content_hash FROM chunks WHERE document_id = %s AND is_live ORDER BY chunk_index LIMIT 1", (page_id,)
    ).fetchone()[0]


def test_every_check_passes_on_a_store_the_pipeline_filled(store) -> None:
    conn, _ = store
    spaces = [row[0] for row in conn.execute("SELECT DISTINCT space_key FROM pages ORDER BY 1")]
    for space in [None, *spaces]:
        for outcome in checks.run_all(conn, space):
            assert outcome.passed, (space, outcome)
            assert outcome.failures == 0 and outcome.sample_ids == []
    whole = {o.name: o for o in checks.run_all(conn)}
    assert (
        whole["current_pages_have_live_chunks"].checked
        == conn.execute("SELECT count(*) FROM pages WHERE status = 'current'").fetchone()[0]
    )
    assert (
        whole["live_chunks_have_embeddings"].checked
        == conn.execute("SELECT count(*) FROM chunks WHERE is_live").fetchone()[0]
    )
    assert whole["vector_dimensions_match"].details["dimensions"] == 384
    assert whole["vector_dimensions_match"].checked > 0


def test_each_check_counts_what_was_broken(store) -> None:
    conn, _ = store
    page_a, page_b, page_c, page_e = _pages_with_live_chunks(conn, "ENG", 4)
    (model, dims) = docs.active_model(conn)

    # 1. A current page loses its chunks.
    conn.execute("DELETE FROM chunks WHERE document_id = %s", (page_a,))
    outcome = checks.pages_without_live_chunks(conn)
    assert (outcome.passed, outcome.failures, outcome.sample_ids) == (False, 1, [page_a])
    assert checks.pages_without_live_chunks(conn, "ENG").failures == 1
    assert checks.pages_without_live_chunks(conn, "OPS").passed

    # 2. A chunk text's vector disappears: every live chunk with that text is reported.
    content_hash = _first_live_text(conn, page_b)
    affected = [
        row[0]
        for row in conn.execute(
            "SELECT chunk_id FROM chunks WHERE content_hash = %s AND is_live ORDER BY chunk_id", (content_hash,)
        )
    ]
    conn.execute("DELETE FROM embeddings WHERE model = %s AND content_hash = %s", (model, content_hash))
    outcome = checks.live_chunks_without_embeddings(conn)
    assert (outcome.passed, outcome.failures) == (False, len(affected))
    assert outcome.sample_ids == affected[: checks.SAMPLE_SIZE]
    assert outcome.details["active_model"] == model

    # 3. A page is trashed but keeps its chunks, and a chunk points at no page at all.
    chunks_of_c = conn.execute("SELECT count(*) FROM chunks WHERE document_id = %s", (page_c,)).fetchone()[0]
    conn.execute("UPDATE pages SET status = 'trashed', deleted_at = now() WHERE page_id = %s", (page_c,))
    conn.execute(
        """INSERT INTO chunks (chunk_id, document_id, source_hash, chunk_index, section_title, text, token_count,
                               content_hash, is_live, tsv)
           VALUES ('confluence:gone:0', 'gone', 'x', 0, 'x', 'x', 1, 'x', true, to_tsvector('simple', 'x'))"""
    )
    outcome = checks.chunks_of_inactive_pages(conn)
    assert (outcome.passed, outcome.failures) == (False, chunks_of_c + 1)
    assert outcome.details["live_chunks"] == chunks_of_c
    assert outcome.details["orphan_chunks"] == 1
    assert outcome.details["inactive_page_ids"] == page_c
    per_space = checks.chunks_of_inactive_pages(conn, "ENG")
    assert (per_space.failures, per_space.details["orphan_chunks"]) == (chunks_of_c, 0)
    # The trashed page is no longer a current page without chunks; page A still is.
    assert checks.pages_without_live_chunks(conn).sample_ids == [page_a]

    # 4. A vector of the wrong size (possible only without the model's index, e.g. during a bulk load).
    other_hash = _first_live_text(conn, page_e)
    docs.drop_vector_index(conn, model)
    conn.execute(
        "UPDATE embeddings SET embedding = '[1,2,3]' WHERE model = %s AND content_hash = %s", (model, other_hash)
    )
    outcome = checks.vectors_with_wrong_dimensions(conn)
    assert (outcome.passed, outcome.failures, outcome.sample_ids) == (False, 1, [other_hash])
    assert outcome.details == {"active_model": model, "dimensions": dims}
    assert checks.vectors_with_wrong_dimensions(conn, "ENG").failures == 1
    assert checks.vectors_with_wrong_dimensions(conn, "OPS").passed


def test_a_live_chunk_without_its_search_row_is_reported(store) -> None:
    conn, _ = store
    [page] = _pages_with_live_chunks(conn, "ENG", 1)
    model, _ = docs.active_model(conn)
    content_hash = _first_live_text(conn, page)
    affected = [
        row[0]
        for row in conn.execute(
            "SELECT chunk_id FROM chunks WHERE document_id = %s AND content_hash = %s AND is_live ORDER BY chunk_id",
            (page, content_hash),
        )
    ]
    # The vector is still cached; only the page's search row for that text is gone, so the vector half misses it.
    conn.execute(
        "DELETE FROM search_vectors WHERE model = %s AND document_id = %s AND content_hash = %s",
        (model, page, content_hash),
    )
    outcome = checks.live_chunks_without_embeddings(conn, "ENG")
    assert (outcome.passed, outcome.failures, outcome.sample_ids) == (False, len(affected), affected)
    assert checks.live_chunks_without_embeddings(conn, "OPS").passed


def _evaluations(result: Any) -> dict[str, Any]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_asset_checks_run_per_space_in_dagster(store, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    conn, server = store
    for name, value in sandbox_environ(server, db_url).items():
        monkeypatch.setenv(name, value)

    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(space_partitions.name, ["ENG", "OPS"])

    def run(space: str) -> dict[str, Any]:
        result = materialize(
            [*ingest_assets, *ingest_checks],
            # The last asset with its checks: it finds nothing left to embed, then the checks run for the space.
            selection=AssetSelection.assets(chunk_embeddings),
            partition_key=space,
            instance=instance,
            resources=build_resources(),
            raise_on_error=False,
        )
        return _evaluations(result)

    healthy = run("ENG")
    assert set(healthy) == {key.name for c in ingest_checks for key in c.check_keys}
    assert all(e.passed for e in healthy.values())
    assert healthy["current_pages_have_live_chunks"].metadata["space"].value == "ENG"
    assert healthy["current_pages_have_live_chunks"].metadata["failures"].value == 0

    (page,) = _pages_with_live_chunks(conn, "ENG", 1)
    conn.execute("DELETE FROM chunks WHERE document_id = %s", (page,))
    broken = run("ENG")
    failed = broken["current_pages_have_live_chunks"]
    assert not failed.passed
    assert failed.metadata["failures"].value == 1
    assert failed.metadata["sample_ids"].value == page
    assert all(e.passed for name, e in broken.items() if name != "current_pages_have_live_chunks")
    # The partition is the space: another space is unaffected.
    assert all(e.passed for e in run("OPS").values())

    # The checks share one step, and one of them can still run alone (the UI's "Execute" on a single check).
    defs = Definitions(assets=ingest_assets, asset_checks=ingest_checks, resources=build_resources())
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(), asset_check_selection={AssetCheckKey(chunk_embeddings.key, "vector_dimensions_match")}
    )
    alone = job.execute_in_process(instance=instance, partition_key="ENG")
    assert list(_evaluations(alone)) == ["vector_dimensions_match"]
