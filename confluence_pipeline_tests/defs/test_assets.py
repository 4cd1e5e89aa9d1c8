"""Every ingest asset, materialized through a Dagster instance against the sandbox and the embedded Postgres."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from dagster import DagsterInstance, materialize

from confluence_pipeline.defs.ingest.assets import ingest_assets
from confluence_pipeline.defs.ingest.partitions import space_partitions
from confluence_pipeline.defs.resources import build_resources
from confluence_pipeline.store.documents import vector_index_name
from confluence_pipeline_tests.confluence.helpers import sandbox_environ

SPACE = "ENG"


@pytest.fixture
def stack(make_sandbox, db_url: str, monkeypatch: pytest.MonkeyPatch):
    server = make_sandbox(pages=60)
    for name, value in sandbox_environ(server, db_url).items():
        monkeypatch.setenv(name, value)
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(space_partitions.name, [SPACE])
    return server, instance


def _run(instance: DagsterInstance) -> dict[str, dict[str, Any]]:
    result = materialize(ingest_assets, partition_key=SPACE, instance=instance, resources=build_resources())
    assert result.success
    out: dict[str, dict[str, Any]] = {}
    for asset_def in ingest_assets:
        for mat in result.asset_materializations_for_node(asset_def.op.name):
            out[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
    return out


def _one(conn: psycopg.Connection, sql: str, *params: object) -> Any:
    return conn.execute(sql, params).fetchone()[0]


def test_every_asset_does_real_work_and_a_rerun_writes_nothing(stack, db_url: str) -> None:
    server, instance = stack
    expected = {str(p.id) for p in server.corpus.pages(space_key=SPACE, statuses=["current"])}

    first = _run(instance)
    assert set(first) == {"confluence_space", "confluence_pages", "page_markdown", "page_chunks", "chunk_embeddings"}
    assert first["confluence_pages"]["pages_written"] == len(expected)
    assert first["confluence_pages"]["confluence_requests"] >= 2
    assert first["page_markdown"]["pages_converted"] == len(expected)
    assert first["page_chunks"]["chunks_written"] >= len(expected)
    assert first["chunk_embeddings"]["provider"] == "local"
    assert first["chunk_embeddings"]["texts_embedded"] > 0
    for metadata in first.values():
        assert "seconds" in metadata

    with psycopg.connect(db_url) as conn:
        assert _one(conn, "SELECT count(*) FROM pages WHERE space_key = %s", SPACE) == len(expected)
        assert _one(conn, "SELECT count(*) FROM page_markdown") == len(expected)
        assert _one(conn, "SELECT count(DISTINCT document_id) FROM chunks WHERE is_live") == len(expected)
        assert _one(conn, "SELECT count(*) FROM chunks WHERE NOT is_live") == 0
        assert (
            _one(
                conn,
                "SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM embeddings e"
                " WHERE e.content_hash = c.content_hash)",
            )
            == 0
        )
        assert _one(conn, "SELECT count(*) FROM page_markdown WHERE markdown LIKE '%%<ac:%%'") == 0
        model = first["chunk_embeddings"]["model"]
        assert _one(conn, "SELECT to_regclass(%s) IS NOT NULL", vector_index_name(model))

    second = _run(instance)
    assert second["confluence_pages"]["pages_written"] == 0
    assert second["confluence_pages"]["confluence_requests"] <= 2
    assert second["page_markdown"]["written"] == 0
    assert second["page_chunks"]["chunks_written"] == 0
    assert second["chunk_embeddings"]["texts_embedded"] == 0
    assert second["chunk_embeddings"]["embedding_requests"] == 0


def test_an_edit_reconverts_only_that_page_and_embeds_only_new_text(stack, db_url: str) -> None:
    server, instance = stack
    _run(instance)
    page = sorted(server.corpus.pages(space_key=SPACE, statuses=["current"]), key=lambda p: p.id)[0]
    body = server.corpus.body(page)
    server.edit_page(page.id, body=body + "<h2>Brand new section</h2><p>zebra quokka runbook addendum</p>")
    third = _run(instance)
    assert third["confluence_pages"]["pages_written"] == 1
    assert third["page_markdown"]["pages_converted"] == 1
    assert third["page_chunks"]["pages_chunked"] == 1
    # Unchanged sections keep their text, so only the new/changed chunk texts are embedded.
    assert 1 <= third["chunk_embeddings"]["texts_embedded"] < third["page_chunks"]["chunks_written"] + 1
    with psycopg.connect(db_url) as conn:
        live = conn.execute(
            "SELECT string_agg(text, ' ') FROM chunks WHERE document_id = %s AND is_live", (str(page.id),)
        ).fetchone()[0]
    assert "zebra quokka" in live


def test_a_space_that_disappeared_fails_clearly_and_keeps_data(stack, db_url: str) -> None:
    _server, instance = stack
    instance.add_dynamic_partitions(space_partitions.name, ["GONE"])
    result = materialize(
        ingest_assets, partition_key="GONE", instance=instance, resources=build_resources(), raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "no longer exists" in failure.event_specific_data.error.message


def test_an_idle_run_asks_confluence_once_per_space(stack, db_url: str) -> None:
    server, instance = stack
    _run(instance)
    server.reset_stats()
    idle = _run(instance)
    stats = server.stats()
    # The page listing only: the space's metadata was fetched by the first run, less than a day ago.
    assert stats["total"] == 1, stats["by_endpoint"]
    assert stats["by_endpoint"] == {"GET /rest/api/content/search": 1}
    assert idle["confluence_space"]["confluence_requests"] == 0
    assert idle["confluence_space"]["refreshed"] is False
    assert idle["confluence_space"]["name"] == server.corpus.spaces[SPACE].name
    assert idle["confluence_pages"]["pages_written"] == 0


def test_space_metadata_is_fetched_again_once_it_is_old(stack, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    server, instance = stack
    _run(instance)
    monkeypatch.setenv("CONFLUENCE_SPACE_REFRESH_HOURS", "0")
    server.reset_stats()
    again = _run(instance)
    assert again["confluence_space"]["refreshed"] is True
    assert server.stats()["by_endpoint"].get("GET /rest/api/space/{key}") == 1
