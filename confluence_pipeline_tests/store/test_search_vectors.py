"""The vector half's own table: one row per (page, live text), with the page's filter columns, kept in step.

Search walks the HNSW index of ``search_vectors`` and tests the filters on the rows it reaches, so these rows must
follow every change: pages going live, edits, relabels, moves, deletions and model switches. The full-text half
tests the same filters on the chunk rows, which carry them too.
"""

from __future__ import annotations

import psycopg
import pytest

from confluence_pipeline.embed.local import LocalEmbedder
from confluence_pipeline.search import SearchFilters, search
from confluence_pipeline.stages import embed_space
from confluence_pipeline.store import documents as docs
from confluence_pipeline_tests.store.wiki import PROVIDER, SETTINGS, Wiki

SECTIONS = {
    "Payments": "The payment gateway retries card captures three times before it alerts the on-call engineer.",
    "Search": "The search cluster rebuilds its index nightly and serves stale results while it catches up.",
    "Billing": "Invoices are issued on the first business day and the billing ledger closes a week later.",
}


def body(sections: dict[str, str]) -> str:
    return "".join(f"<h2>{title}</h2><p>{text}</p>" for title, text in sections.items())


def live_texts(conn: psycopg.Connection) -> set[tuple[str, str]]:
    rows = conn.execute("SELECT DISTINCT document_id, content_hash FROM chunks WHERE is_live").fetchall()
    return {(row[0], row[1]) for row in rows}


def rows(conn: psycopg.Connection, model: str | None = None) -> dict[tuple[str, str], tuple]:
    """(page, text) → (space, labels, path, ctid) of the search rows of ``model`` (the active one by default)."""
    model = model or docs.active_model(conn)[0]
    found = conn.execute(
        """SELECT document_id, content_hash, space_key, labels, path, ctid::text FROM search_vectors
           WHERE model = %s""",
        (model,),
    ).fetchall()
    return {(r[0], r[1]): (r[2], r[3], r[4], r[5]) for r in found}


@pytest.fixture
def wiki(conn: psycopg.Connection) -> Wiki:
    wiki = Wiki(conn)
    wiki.put("1", "Engineering home", "<p>Welcome.</p>")
    wiki.put("2", "Operations", "<p>How we run things.</p>", parent="1")
    wiki.put("3", "Service handbook", body(SECTIONS), parent="2", labels=("runbook",))
    wiki.put("4", "Archive", "<p>Old notes about the gateway.</p>", parent="1")
    wiki.run()
    return wiki


def test_every_live_text_has_one_row_carrying_its_pages_filters(conn: psycopg.Connection, wiki: Wiki) -> None:
    found = rows(conn)
    assert set(found) == live_texts(conn)
    assert found[next(key for key in found if key[0] == "3")][:3] == ("ENG", ["runbook"], "/1/2/3/")
    assert {key[0] for key in found} == {"1", "2", "3", "4"}


def test_an_edit_keeps_the_rows_of_the_texts_it_did_not_change(conn: psycopg.Connection, wiki: Wiki) -> None:
    before = {key: value for key, value in rows(conn).items() if key[0] == "3"}
    edited = {**SECTIONS, "Search": "The search cluster now rebuilds its index every hour, without stale results."}
    wiki.put("3", "Service handbook", body(edited), parent="2", labels=("runbook",))
    wiki.run()
    after = {key: value for key, value in rows(conn).items() if key[0] == "3"}
    assert set(after) == {key for key in live_texts(conn) if key[0] == "3"}
    kept = set(before) & set(after)
    # One section changed: its old row went and a new one came; the others were not rewritten (same tuple).
    assert len(set(before) - kept) == 1 and len(set(after) - kept) == 1
    assert all(before[key] == after[key] for key in kept)


@pytest.mark.parametrize("exact", [True, False], ids=["exact", "hnsw"])
def test_a_relabelled_or_moved_page_is_found_under_its_new_label_and_subtree(
    conn: psycopg.Connection, wiki: Wiki, monkeypatch: pytest.MonkeyPatch, exact: bool
) -> None:
    if not exact:
        # Small filters are searched exactly, from the pages; force the HNSW walk, which tests the rows' own columns.
        monkeypatch.setattr("confluence_pipeline.search.hybrid.EXACT_MAX_CHUNKS", -1)

    def found(filters: SearchFilters) -> set[str]:
        # Both halves apply the filters, each on its own rows (search_vectors and chunks): each must find the page.
        pages = [
            {r.page_id for r in search(conn, "payment gateway card captures", PROVIDER, k=5, filters=filters, mode=m)}
            for m in ("vector", "text")
        ]
        assert pages[0] == pages[1]
        return pages[0]

    assert "3" in found(SearchFilters(label="runbook"))
    assert "3" in found(SearchFilters(under_page_id="2"))
    # Relabelled and moved, body unchanged: no new chunks, only the page row changes.
    wiki.put("3", "Service handbook", body(SECTIONS), parent="4", labels=("payments",))
    assert wiki.run()[1] == 0
    assert "3" not in found(SearchFilters(label="runbook"))
    assert "3" in found(SearchFilters(label="payments"))
    assert "3" not in found(SearchFilters(under_page_id="2"))
    assert "3" in found(SearchFilters(under_page_id="4"))
    filters = {(v[0], tuple(v[1]), v[2]) for k, v in rows(conn).items() if k[0] == "3"}
    assert filters == {("ENG", ("payments",), "/1/4/3/")}
    chunks = conn.execute("SELECT DISTINCT space_key, labels, path FROM chunks WHERE document_id = '3'").fetchall()
    assert [(c[0], tuple(c[1]), c[2]) for c in chunks] == [("ENG", ("payments",), "/1/4/3/")]


def test_a_trashed_page_leaves_no_rows(conn: psycopg.Connection, wiki: Wiki) -> None:
    wiki.trash("3")
    assert not [key for key in rows(conn) if key[0] == "3"]
    assert set(rows(conn)) == live_texts(conn)


def test_a_model_switch_writes_the_new_models_rows_and_index_and_drops_the_old(
    conn: psycopg.Connection, wiki: Wiki
) -> None:
    old = PROVIDER.model
    new = LocalEmbedder(dimensions=32, log_selection=False)
    assert docs.active_model(conn) == (old, 64)
    result = embed_space(conn, "ENG", [new, PROVIDER], SETTINGS)
    assert result.extra["model_activated"]
    assert docs.active_model(conn) == (new.model, 32)
    assert set(rows(conn, new.model)) == live_texts(conn)
    assert not rows(conn, old)
    assert conn.execute("SELECT to_regclass(%s) IS NOT NULL", (docs.vector_index_name(new.model),)).fetchone()[0]
    assert conn.execute("SELECT to_regclass(%s) IS NULL", (docs.vector_index_name(old),)).fetchone()[0]
    results = search(conn, "payment gateway card captures", new, k=3, mode="vector")
    assert results and results[0].page_id == "3"
