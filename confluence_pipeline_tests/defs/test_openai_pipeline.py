"""The pipeline with the OpenAI provider, against a loopback OpenAI-compatible server via the real openai SDK."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from dagster import DagsterInstance, materialize

from confluence_pipeline.defs.ingest.assets import ingest_assets
from confluence_pipeline.defs.ingest.partitions import space_partitions
from confluence_pipeline.defs.resources import build_resources
from confluence_pipeline.store.documents import active_model
from confluence_pipeline.store.references import dependants
from confluence_sandbox.openai_server import FakeOpenAIServer

KEY = "sk-test-local"


@pytest.fixture
def fake_openai() -> Any:
    with FakeOpenAIServer(api_key=KEY) as server:
        yield server


@pytest.fixture
def stack(make_sandbox, db_url: str, fake_openai, monkeypatch: pytest.MonkeyPatch):
    confluence = make_sandbox(pages=50)
    for name, value in {
        "DATABASE_URL": db_url,
        "CONFLUENCE_BASE_URL": confluence.base_url,
        "CONFLUENCE_DEPLOYMENT": "cloud",
        "CONFLUENCE_EMAIL": confluence.email,
        "CONFLUENCE_API_TOKEN": confluence.token,
        "CONFLUENCE_RATE_LIMIT_RPS": "1000",
        "PIPELINE_WORKERS": "1",
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": fake_openai.base_url,
        "EMBEDDING_DIMENSIONS": "64",
        "EMBEDDING_BATCH_SIZE": "32",
        "EMBEDDING_MAX_RETRIES": "2",
    }.items():
        monkeypatch.setenv(name, value)
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(space_partitions.name, ["ENG", "HR"])
    return confluence, instance


def _run(instance: DagsterInstance, key: str = "ENG", *, ok: bool = True) -> Any:
    result = materialize(
        ingest_assets, partition_key=key, instance=instance, resources=build_resources(), raise_on_error=False
    )
    assert result.success is ok
    return result


def _embedded_hashes(server: FakeOpenAIServer) -> list[str]:
    return [h for request in server.requests if request.status == 200 for h in request.input_hashes]


def _live_hashes(conn: psycopg.Connection, page_id: str) -> set[str]:
    rows = conn.execute("SELECT content_hash FROM chunks WHERE document_id = %s AND is_live", (page_id,)).fetchall()
    return {row[0] for row in rows}


def test_resync_makes_no_requests_and_an_edit_embeds_only_its_new_text(stack, fake_openai, conn) -> None:
    confluence, instance = stack
    _run(instance)
    first = _embedded_hashes(fake_openai)
    assert first and len(first) == len(set(first))
    assert all(r.model == "text-embedding-3-small" and r.dimensions == 64 for r in fake_openai.requests)
    assert max(r.inputs for r in fake_openai.requests) <= 32

    fake_openai.reset()
    _run(instance)
    assert fake_openai.requests == []

    page = sorted(confluence.corpus.pages(space_key="ENG", statuses=["current"]), key=lambda p: p.id)[1]
    # The edited page and the pages that show it (an include of it, a page tree listing it) get new chunks.
    shown_on = [str(page.id), *dependants(conn, str(page.id))]
    before = {p: _live_hashes(conn, p) for p in shown_on}
    confluence.edit_page(page.id, body=confluence.corpus.body(page) + "<h2>Appendix</h2><p>okapi lemur note</p>")
    _run(instance)
    after = {p: _live_hashes(conn, p) for p in shown_on}
    sent = set(_embedded_hashes(fake_openai))
    new = set().union(*(after[p] - before[p] for p in shown_on))
    assert sent == new  # only chunk texts never embedded before were sent
    assert before[str(page.id)] & after[str(page.id)]  # unchanged sections kept their text and their vectors


def test_a_500_storm_fails_clearly_and_leaves_chunks_pending(stack, fake_openai, conn) -> None:
    confluence, instance = stack
    _run(instance)
    page = sorted(confluence.corpus.pages(space_key="ENG", statuses=["current"]), key=lambda p: p.id)[2]
    before = _live_hashes(conn, str(page.id))
    confluence.edit_page(page.id, body="<h1>Rewritten</h1><p>entirely new walrus text</p>")
    fake_openai.always_status(500)
    result = _run(instance, ok=False)
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.event_specific_data.error.message
    assert "500" in message and "EMBEDDING_MAX_RETRIES" in message and KEY not in message
    # The old chunks stay searchable, the new ones wait: no gap, no mix.
    assert _live_hashes(conn, str(page.id)) == before
    pending = conn.execute(
        "SELECT count(*) FROM chunks WHERE document_id = %s AND NOT is_live", (str(page.id),)
    ).fetchone()[0]
    assert pending > 0

    fake_openai.always_status(None)
    _run(instance)
    assert _live_hashes(conn, str(page.id)) != before
    assert conn.execute("SELECT count(*) FROM chunks WHERE NOT is_live").fetchone()[0] == 0


def test_a_model_switch_serves_the_old_model_until_the_new_one_covers_everything(
    stack, fake_openai, conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    confluence, instance = stack
    for key in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(key)
    _run(instance, "ENG")
    _run(instance, "HR")
    assert active_model(conn)[0].startswith("local-hash-v1-")

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    page = sorted(confluence.corpus.pages(space_key="ENG", statuses=["current"]), key=lambda p: p.id)[0]
    confluence.edit_page(page.id, body="<p>capybara migration note</p>")
    _run(instance, "ENG")
    # HR has no vectors for the new model yet: search still serves the old one, and the edited page went live
    # with vectors for both models.
    assert active_model(conn)[0].startswith("local-hash-v1-")
    models = conn.execute(
        "SELECT DISTINCT e.model FROM chunks c JOIN embeddings e ON e.content_hash = c.content_hash"
        " WHERE c.document_id = %s AND c.is_live",
        (str(page.id),),
    ).fetchall()
    assert {m[0] for m in models} == {active_model(conn)[0], "text-embedding-3-small"}

    _run(instance, "HR")
    assert active_model(conn) == ("text-embedding-3-small", 64)
    states = dict(conn.execute("SELECT model, state FROM embedding_models").fetchall())
    assert sorted(states.values()) == ["active", "retired"]
