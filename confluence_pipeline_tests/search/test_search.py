"""Search modes, filters, page collapsing and HNSW settings, on a small corpus synced through the real pipeline."""

from __future__ import annotations

import psycopg
import pytest

from confluence_pipeline.defs.resources import SettingError, configured_resources
from confluence_pipeline.embed.local import LocalEmbedder
from confluence_pipeline.search import SearchFilters, SearchSettings, search
from confluence_pipeline.search.filters import filters_sql, vector_filter_sql
from confluence_pipeline.search.fusion import fused_statement
from confluence_pipeline.search.vector import vector_half
from confluence_pipeline.stages import StageSettings
from confluence_pipeline.store import documents as docs
from confluence_pipeline.store import hnsw
from confluence_pipeline.store.db import connect
from confluence_pipeline.store.hnsw import HnswSettings, build_memory_mb, hnsw_index_sql

PROVIDER = LocalEmbedder(log_selection=False)


@pytest.fixture(scope="module")
def store(small_store):
    url, corpus = small_store
    conn = connect(url, autocommit=True)
    yield conn, corpus
    conn.close()


def _code_query(corpus) -> tuple[str, str]:
    candidate = next(c for c in corpus.query_candidates(language="en", kinds=["code"]))
    return candidate.query, candidate.page_id


def test_each_mode_ranks_with_its_own_half(store) -> None:
    conn, corpus = store
    query, page_id = _code_query(corpus)
    text = search(conn, query, PROVIDER, k=5, mode="text")
    vector = search(conn, query, PROVIDER, k=5, mode="vector")
    hybrid = search(conn, query, PROVIDER, k=5)
    assert text and all(r.vector_rank is None and r.text_rank is not None for r in text)
    assert vector and all(r.text_rank is None and r.vector_rank is not None for r in vector)
    assert len(vector) == 5
    # The page holding the code is the full-text answer, and hybrid keeps it first.
    assert text[0].page_id == page_id
    assert hybrid[0].page_id == page_id
    assert hybrid[0].vector_rank is not None and hybrid[0].text_rank is not None
    assert [r.score for r in hybrid] == sorted((r.score for r in hybrid), reverse=True)


def test_full_text_ranks_alike_whether_a_tsvector_is_inline_or_out_of_line(store) -> None:
    # Rows written before migration 0011 may hold their tsvector in the TOAST table, uncompressed: the text half
    # copies those once for its six reads of a row, and reads inline ones in place. Both must rank the same.
    conn, corpus = store
    queries = [c.query for language in ("en", "ko") for c in corpus.query_candidates(language=language)[:3]]
    inline = [search(conn, query, None, k=10, mode="text") for query in queries]
    assert all(inline)
    with conn.transaction(force_rollback=True):
        conn.execute("ALTER TABLE chunks SET (toast_tuple_target = 128)")
        conn.execute("ALTER TABLE chunks ALTER COLUMN tsv SET STORAGE EXTERNAL")
        conn.execute("UPDATE chunks SET tsv = tsv || ''::tsvector WHERE is_live")
        moved = conn.execute(
            "SELECT count(*) FROM chunks WHERE is_live AND pg_column_toast_chunk_id(tsv) IS NOT NULL"
        ).fetchone()[0]
        assert moved > 0
        out_of_line = [search(conn, query, None, k=10, mode="text") for query in queries]
    assert out_of_line == inline


def test_without_a_provider_search_is_full_text(store) -> None:
    conn, corpus = store
    query, page_id = _code_query(corpus)
    results = search(conn, query, None, k=3)
    assert results[0].page_id == page_id
    assert all(r.vector_rank is None for r in results)
    assert search(conn, "how to", None, k=3, mode="vector") == []


def test_a_provider_for_another_model_gets_the_full_text_results(store, monkeypatch: pytest.MonkeyPatch) -> None:
    # Search embeds the query before it learns the model it serves (in its own transaction): a vector of another
    # model is dropped then, and a bounded graph walk planned for it is undone, so the text half plans as usual.
    from confluence_pipeline.search import hybrid

    conn, corpus = store
    monkeypatch.setattr(hybrid, "EXACT_MAX_CHUNKS", 0)  # a filter plans the graph walk
    query, page_id = _code_query(corpus)
    space = conn.execute("SELECT space_key FROM pages WHERE page_id = %s", (page_id,)).fetchone()[0]
    other = LocalEmbedder(PROVIDER.dimensions * 2, log_selection=False)
    assert other.model != docs.active_model(conn)[0]
    for filters in (SearchFilters(), SearchFilters(space_key=space)):
        results = search(conn, query, other, k=5, filters=filters)
        assert results == search(conn, query, None, k=5, filters=filters)
        assert results[0].page_id == page_id and all(r.vector_rank is None for r in results)


def test_setting_the_scan_reads_the_model_search_serves(store, conn) -> None:
    from confluence_pipeline.search import hybrid

    served, _ = store
    with served.transaction():
        assert hybrid.set_scan(served, 40) == docs.active_model(served)
    with conn.transaction():  # nothing embedded yet
        assert hybrid.set_scan(conn, 40, max_scan_tuples=hybrid.FILTERED_SCAN_TUPLES) is None
        assert conn.execute("SHOW enable_sort").fetchone()[0] == "off"
        hybrid.set_scan(conn, 40)  # a second call undoes what the first steered
        assert conn.execute("SHOW enable_sort").fetchone()[0] == "on"


def test_an_unknown_mode_is_refused(store) -> None:
    conn, _ = store
    with pytest.raises(ValueError, match="hybrid, vector, text"):
        search(conn, "anything", PROVIDER, mode="semantic")  # type: ignore[arg-type]


def test_space_filter_returns_k_pages_of_that_space(store) -> None:
    conn, corpus = store
    counts = dict(
        conn.execute(
            """SELECT p.space_key, count(DISTINCT p.page_id) FROM pages p JOIN chunks c ON c.document_id = p.page_id
               WHERE c.is_live GROUP BY p.space_key"""
        ).fetchall()
    )
    query, _ = _code_query(corpus)
    for space, pages in counts.items():
        for mode in ("hybrid", "vector"):
            results = search(conn, query, PROVIDER, k=5, filters=SearchFilters(space_key=space), mode=mode)
            assert {r.space_key for r in results} == {space}
            # As many results as the space has pages, up to k: the iterative index scan goes past other spaces.
            assert len(results) == min(5, pages), (space, mode)


def test_label_and_subtree_filters_are_predicates(store) -> None:
    conn, corpus = store
    label, page_id = conn.execute(
        """SELECT l, min(page_id) FROM pages, unnest(labels) l WHERE status = 'current'
           GROUP BY l ORDER BY count(*) DESC LIMIT 1"""
    ).fetchone()
    query = corpus.page(page_id).title
    labelled = search(conn, query, PROVIDER, k=10, filters=SearchFilters(label=label))
    assert labelled
    ids = [r.page_id for r in labelled]
    assert all(label in row[0] for row in conn.execute("SELECT labels FROM pages WHERE page_id = ANY(%s)", (ids,)))

    root = conn.execute(
        """SELECT p.page_id FROM pages p WHERE p.status = 'current' AND EXISTS (
               SELECT 1 FROM pages d WHERE d.path LIKE '%%/' || p.page_id || '/%%' AND d.page_id <> p.page_id)
           ORDER BY p.page_id DESC LIMIT 1"""
    ).fetchone()[0]
    under = search(conn, query, PROVIDER, k=10, filters=SearchFilters(under_page_id=root))
    assert under
    paths = [
        row[0] for row in conn.execute("SELECT path FROM pages WHERE page_id = ANY(%s)", ([r.page_id for r in under],))
    ]
    assert all(f"/{root}/" in path for path in paths)


def test_results_are_distinct_pages_unless_chunks_are_asked_for(store) -> None:
    conn, corpus = store
    # A page title matches every chunk of the page (each chunk starts with its title), so chunk results repeat pages.
    title = next(p.title for p in corpus.pages(statuses=["current"]) if corpus.keywords(p.id) is not None)
    pages = search(conn, title, PROVIDER, k=10)
    chunks = search(conn, title, PROVIDER, k=10, collapse_pages=False)
    assert len({r.page_id for r in pages}) == len(pages) == 10
    assert len({r.page_id for r in chunks}) < len(chunks)


def _vector_half_plan(conn, model: tuple[str, int], qvec) -> str:
    _, params = filters_sql(SearchFilters())
    params.update({"qvec": qvec, "candidates": 10})
    statement = vector_half(conn, model, vector_filter_sql(SearchFilters()))
    with conn.transaction():
        # The table is small enough for a scan and a sort to win; forbid them to see whether the index qualifies.
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            conn.execute(f"SET LOCAL {setting} = off")
        return "\n".join(r[0] for r in conn.execute("EXPLAIN " + statement, params).fetchall())


def test_vector_half_can_use_the_models_partial_hnsw_index(store) -> None:
    conn, _ = store
    model = docs.active_model(conn)
    assert model is not None
    plan = _vector_half_plan(conn, model, PROVIDER.embed(["payment latency"])[0])
    assert f"Index Scan using {docs.vector_index_name(model[0])}" in plan


def test_a_model_of_3072_dimensions_gets_an_index_search_walks(store) -> None:
    # text-embedding-3-large's size: more than a full-precision HNSW index takes (2,000), within a halfvec one.
    conn, _ = store
    model = ("test-3072-dims", 3072)
    docs.register_model(conn, model[0], "local", model[1])
    try:
        conn.execute(
            """INSERT INTO search_vectors (model, source, document_id, content_hash, embedding)
               SELECT %s, 'confluence', 'p' || i, 'h' || i,
                      (SELECT array_agg(sin(i * j)) FROM generate_series(1, 3072) j)::vector
               FROM generate_series(1, 20) i""",
            (model[0],),
        )
        assert docs.ensure_vector_index(conn, model[0], model[1])
        qvec = [float(i % 7) for i in range(3072)]
        assert f"Index Scan using {docs.vector_index_name(model[0])}" in _vector_half_plan(conn, model, qvec)
        with pytest.raises(ValueError, match="1 to 4,000 dimensions, not 4001"):
            hnsw_index_sql("idx", model[0], 4001)
    finally:
        docs.drop_vector_index(conn, model[0])
        conn.execute("DELETE FROM search_vectors WHERE model = %s", (model[0],))
        conn.execute("DELETE FROM embedding_models WHERE model = %s", (model[0],))


def test_hnsw_build_parameters_come_from_the_environment(store) -> None:
    conn, _ = store
    stage = configured_resources({"VECTOR_HNSW_M": "8", "VECTOR_HNSW_EF_CONSTRUCTION": "40"}).pipeline.settings()
    assert stage.hnsw == HnswSettings(m=8, ef_construction=40)
    model = "test-hnsw-settings-3"
    docs.register_model(conn, model, "local", 3)
    try:
        assert docs.ensure_vector_index(conn, model, 3, stage.hnsw)
        options = conn.execute(
            "SELECT reloptions FROM pg_class WHERE relname = %s", (docs.vector_index_name(model),)
        ).fetchone()[0]
        assert sorted(options) == ["ef_construction=40", "m=8"]
    finally:
        docs.drop_vector_index(conn, model)
        conn.execute("DELETE FROM embedding_models WHERE model = %s", (model,))


def test_a_build_gets_the_memory_its_graph_needs_within_bounds() -> None:
    # Graph sizes measured on pgvector 0.8 (the 'no longer fits' notice): 61 MB for 43,389 vectors of 384 dims,
    # 93 MB for 25,700 of 1,536 dims, at m = 16. The estimate covers both, with room, and far below the 2 GB a
    # machine-sized server would otherwise reserve.
    assert 61 < build_memory_mb(43_389, 384, 16, 2048) < 2 * 61
    assert 93 < build_memory_mb(25_700, 1536, 16, 2048) < 2 * 93
    assert build_memory_mb(10, 384, 16, 2048) == hnsw.BUILD_MEMORY_MIN_MB
    # Beyond the bound, as much as the server's setting or 1 GB, whichever is larger: the rest spills, as before.
    assert build_memory_mb(10_000_000, 1536, 16, 2048) == 2048
    assert build_memory_mb(10_000_000, 1536, 16, 256) == hnsw.BUILD_MEMORY_MAX_MB
    assert build_memory_mb(100_000, 384, 48, 2048) > build_memory_mb(100_000, 384, 16, 2048)


def test_an_index_build_sized_to_its_graph_does_not_spill(store, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the floor, the estimate alone sets maintenance_work_mem: a graph that outgrew it would make pgvector
    # say so and go on building on disk, several times slower.
    conn, _ = store
    model = "test-build-memory-384"
    notices: list[str] = []

    def keep(diagnostic: psycopg.errors.Diagnostic) -> None:
        notices.append(diagnostic.message_primary or "")

    conn.add_notice_handler(keep)
    docs.register_model(conn, model, "local", 384)
    try:
        conn.execute(
            """INSERT INTO search_vectors (model, source, document_id, content_hash, embedding)
               SELECT %s, 'confluence', 'p' || i, 'h' || i,
                      (SELECT array_agg(sin(i * j + j * j)) FROM generate_series(1, 384) j)::vector
               FROM generate_series(1, 3000) i""",
            (model,),
        )
        monkeypatch.setattr(hnsw, "BUILD_MEMORY_MIN_MB", 1)
        assert docs.ensure_vector_index(conn, model, 384)
        assert not [n for n in notices if "no longer fits" in n]
        # The same build with a third less memory than estimated does spill: the check above can fail.
        docs.drop_vector_index(conn, model)
        monkeypatch.setattr(hnsw, "_GRAPH_HEADROOM", 0.6)
        assert docs.ensure_vector_index(conn, model, 384)
        assert [n for n in notices if "no longer fits" in n]
    finally:
        conn.remove_notice_handler(keep)
        docs.drop_vector_index(conn, model)
        conn.execute("DELETE FROM search_vectors WHERE model = %s", (model,))
        conn.execute("DELETE FROM embedding_models WHERE model = %s", (model,))


def _stage_and_search(environ: dict[str, str]) -> tuple[StageSettings, SearchSettings]:
    resources = configured_resources(environ)
    return resources.pipeline.settings(), resources.search.settings()


def test_hnsw_settings_are_validated_with_the_variable_named() -> None:
    stage, searching = _stage_and_search({})
    assert stage.hnsw == HnswSettings(m=16, ef_construction=64) and searching.ef_search == 40
    with pytest.raises(SettingError, match="VECTOR_HNSW_M"):
        _stage_and_search({"VECTOR_HNSW_M": "sixteen"})
    with pytest.raises(ValueError, match="VECTOR_HNSW_EF_CONSTRUCTION"):
        _stage_and_search({"VECTOR_HNSW_M": "32", "VECTOR_HNSW_EF_CONSTRUCTION": "40"})
    with pytest.raises(ValueError, match="VECTOR_EF_SEARCH"):
        _stage_and_search({"VECTOR_EF_SEARCH": "0"})
    sql = hnsw_index_sql("idx", "it's-a-model", 1536, HnswSettings(m=24, ef_construction=100))
    assert "WITH (m = 24, ef_construction = 100)" in sql
    assert "embedding::halfvec(1536)) halfvec_cosine_ops" in sql and "WHERE model = 'it''s-a-model'" in sql


def test_ef_search_is_set_for_the_search_transaction_only(store) -> None:
    conn, corpus = store
    query, page_id = _code_query(corpus)
    # A first search loads pgvector into the session, which turns the setting from unknown into its default.
    search(conn, query, PROVIDER, k=3)
    before = conn.execute("SELECT current_setting('hnsw.ef_search', true)").fetchone()[0]
    _, settings = _stage_and_search({"VECTOR_EF_SEARCH": "7"})
    assert settings.ef_search == 7
    assert search(conn, query, PROVIDER, k=3, settings=settings)[0].page_id == page_id
    assert conn.execute("SELECT current_setting('hnsw.ef_search', true)").fetchone()[0] == before
    with pytest.raises(SettingError, match="VECTOR_EF_SEARCH"):
        _stage_and_search({"VECTOR_EF_SEARCH": "many"})
    with pytest.raises(ValueError, match="SEARCH_RRF_K"):
        _stage_and_search({"SEARCH_RRF_K": "0"})


def test_a_prepared_search_is_still_planned_for_its_values(store) -> None:
    # A search statement repeats its text from query to query, and psycopg prepares it; a generic plan, which a
    # session may also ask for, would be blind to the filter's selectivity and the limits.
    conn, corpus = store
    queries = [c.query for c in corpus.query_candidates(language="en", kinds=["code"])][:8]
    conn.execute("SET plan_cache_mode = force_generic_plan")
    try:
        first = [search(conn, query, PROVIDER, k=5) for query in queries]
        again = [search(conn, query, PROVIDER, k=5) for query in queries]
        plans = conn.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%WITH vec AS%'"
        ).fetchall()
        assert plans and all(generic == 0 and custom > 0 for generic, custom in plans)
        assert again == first
        assert conn.execute("SHOW plan_cache_mode").fetchone()[0] == "force_generic_plan"
    finally:
        conn.execute("RESET plan_cache_mode")


def test_the_estimate_of_a_filter_follows_the_statistics(store) -> None:
    from confluence_pipeline.search import filters as search_filters

    conn, _ = store
    conn.execute("ANALYZE pages")
    conn.execute("ANALYZE chunks")
    search_filters._ratios.clear()
    for space, chunks in conn.execute(
        """SELECT p.space_key, count(*) FROM chunks c JOIN pages p ON p.page_id = c.document_id
           WHERE c.is_live AND p.status = 'current' GROUP BY 1"""
    ).fetchall():
        estimate = search_filters.estimated_chunks(conn, SearchFilters(space_key=space))
        assert chunks / 3 <= estimate <= chunks * 3, (space, chunks, estimate)


def test_a_selective_filter_gets_the_exact_nearest_pages(store, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from confluence_pipeline.search import hybrid

    conn, _ = store
    monkeypatch.setattr(hybrid, "EXACT_MAX_CHUNKS", 10**9)  # every filter takes the exact path
    space = conn.execute("SELECT space_key FROM pages GROUP BY space_key ORDER BY count(*) LIMIT 1").fetchone()[0]
    query = "payment latency rollback"
    model = docs.active_model(conn)
    rows = conn.execute(
        """SELECT c.document_id, e.embedding FROM chunks c JOIN pages p ON p.page_id = c.document_id
           JOIN embeddings e ON e.model = %s AND e.content_hash = c.content_hash
           WHERE c.is_live AND p.space_key = %s""",
        (model[0], space),
    ).fetchall()
    vector = PROVIDER.embed([query])[0]
    best: dict[str, float] = {}
    for document_id, embedding in rows:
        distance = 1 - float(np.dot(embedding.to_numpy(), vector))
        best[document_id] = min(best.get(document_id, 2.0), distance)
    expected = sorted(best, key=lambda d: (best[d], d))[:5]
    results = search(conn, query, PROVIDER, k=5, filters=SearchFilters(space_key=space), mode="vector")
    assert [r.page_id for r in results][:3] == expected[:3]
    assert {r.space_key for r in results} == {space}


def test_a_broad_filter_walks_the_index_within_a_bound(store, monkeypatch: pytest.MonkeyPatch) -> None:
    from confluence_pipeline.search import hybrid

    conn, corpus = store
    monkeypatch.setattr(hybrid, "EXACT_MAX_CHUNKS", 0)  # every filter takes the bounded iterative scan
    query, _ = _code_query(corpus)
    space = conn.execute("SELECT space_key FROM pages GROUP BY space_key ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    results = search(conn, query, PROVIDER, k=5, filters=SearchFilters(space_key=space), mode="vector")
    assert results and {r.space_key for r in results} == {space}
    with conn.transaction():
        hybrid.set_scan(conn, 40, max_scan_tuples=hybrid.FILTERED_SCAN_TUPLES)
        assert conn.execute("SHOW hnsw.max_scan_tuples").fetchone()[0] == str(hybrid.FILTERED_SCAN_TUPLES)
    assert conn.execute("SHOW hnsw.max_scan_tuples").fetchone()[0] == "20000"  # LOCAL: gone with the transaction


def test_a_filtered_scan_walks_a_longer_candidate_list(conn) -> None:
    from confluence_pipeline.search import hybrid

    with conn.transaction():
        hybrid.set_scan(conn, 40)
        assert conn.execute("SHOW hnsw.ef_search").fetchone()[0] == "40"
    with conn.transaction():
        hybrid.set_scan(conn, 40, max_scan_tuples=hybrid.FILTERED_SCAN_TUPLES)
        assert conn.execute("SHOW hnsw.ef_search").fetchone()[0] == "80"
    with conn.transaction():
        hybrid.set_scan(conn, 900, max_scan_tuples=hybrid.FILTERED_SCAN_TUPLES)
        assert conn.execute("SHOW hnsw.ef_search").fetchone()[0] == "1000"  # pgvector's bound


def test_at_equal_scores_the_page_holding_the_words_goes_first(store) -> None:
    # First in one half and absent from the other is an equal score. The vector half is approximate: it can miss the
    # page holding a rare word and put a near-nothing first, so the text half's first must win the tie.
    conn, _ = store
    (low_chunk, low_page), (high_chunk, high_page) = conn.execute(
        """SELECT min(chunk_id), document_id FROM chunks WHERE is_live GROUP BY document_id
           ORDER BY min(chunk_id) LIMIT 2"""
    ).fetchall()
    half = "SELECT {}::text AS chunk_id, {}::text AS document_id, 1::bigint AS rank"
    for collapse in (True, False):
        statement = fused_statement(
            half.format("%(vc)s", "%(vd)s"), half.format("%(tc)s", "%(td)s"), collapse_pages=collapse
        )
        params = {"vc": low_chunk, "vd": low_page, "tc": high_chunk, "td": high_page, "rrf": 5, "k": 5}
        rows = conn.execute(statement, params).fetchall()
        assert [(r[0], r[7], r[8]) for r in rows] == [(high_page, None, 1), (low_page, 1, None)], collapse
        assert rows[0][6] == rows[1][6]


def test_sums_that_are_equal_tie_exactly_and_the_page_holding_the_words_goes_first(store) -> None:
    # 1/(5+1) from one half equals 1/(5+7) + 1/(5+7) from both; in numeric arithmetic the second sum came out a
    # digit lower (…666 against …667) and lost the tie it should win by the rule above.
    conn, _ = store
    pages = conn.execute(
        """SELECT min(chunk_id), document_id FROM chunks WHERE is_live GROUP BY document_id
           ORDER BY min(chunk_id) LIMIT 13"""
    ).fetchall()
    first_in_vectors, both = pages[0], pages[6]
    vec = pages[:7]  # ranks 1..7, the shared page seventh
    txt = [*pages[7:], both]  # six pages only the text half has, then the shared page, seventh too

    def half(rows: list[tuple[str, str]]) -> str:
        values = ", ".join(f"('{chunk}', '{page}', {rank})" for rank, (chunk, page) in enumerate(rows, start=1))
        return f"SELECT chunk_id, document_id, rank::bigint FROM (VALUES {values}) h(chunk_id, document_id, rank)"

    for collapse in (True, False):
        rows = conn.execute(
            fused_statement(half(vec), half(txt), collapse_pages=collapse), {"rrf": 5, "k": 20}
        ).fetchall()
        order = [r[0] for r in rows]
        score = {r[0]: r[6] for r in rows}
        assert score[both[1]] == score[first_in_vectors[1]], collapse
        assert order.index(both[1]) < order.index(first_in_vectors[1]), collapse
