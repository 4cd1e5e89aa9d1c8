"""The vector half of hybrid search: cosine distance on the active model's partial HNSW index.

The index walk orders by the half-precision distance the index holds; the candidates are ranked by their
full-precision one (see :mod:`confluence_pipeline.store.hnsw`).

The half reads ``search_vectors``: one row per (page, live chunk text) with the active model's vector and the page's
filter columns (space, labels, path), so an HNSW walk tests a filter on the row it reached. Each row is then turned
into its live chunk, for the candidates only.

``hnsw.ef_search`` (``VECTOR_EF_SEARCH``, see :mod:`confluence_pipeline.store.hnsw` for what it buys) is set for the
search transaction only, and iterative scans keep filtered queries returning enough rows.

A filtered search (space, label, subtree) takes one of two paths, by the planner's estimate of the chunks the filter
selects (:func:`~.filters.estimated_chunks`):

* few (at most :data:`EXACT_MAX_CHUNKS`): the exact distances of those chunks (:func:`exact_vector_half`), which is
  cheaper than walking the graph past every row the filter rejects, and exact;
* more: the HNSW scan, iterating while the filter rejects rows, but at most :data:`FILTERED_SCAN_TUPLES` index
  tuples. An unbounded iterative scan went through up to 20,000 tuples (pgvector's default limit), 30–60 ms at p95,
  when the query's neighbourhood lay in other spaces; the bounded one may return fewer candidates then, and the text
  half still contributes. Its candidate list is longer than an unfiltered search's (:data:`FILTERED_EF_FACTOR`),
  since the filter drops part of every list the walk builds. ``python -m benchmarks.search_speed`` measures both
  against an exact search.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from confluence_pipeline.store.documents import ACTIVE_MODEL_SQL
from confluence_pipeline.store.hnsw import indexed_distance

# pgvector's default candidate list while searching.
DEFAULT_EF_SEARCH = 40
# Filters estimated to select at most this many live chunks are searched exactly (about 30 µs a chunk here at 1,536
# dimensions, where the vector is read from TOAST).
EXACT_MAX_CHUNKS = 300
# Most HNSW index tuples an iterative scan reads for a filtered search (pgvector's default: 20,000). At ~5 µs a tuple
# (the filter is tested on the search_vectors row itself) this bounds a filtered vector half's worst case: a query
# whose neighbourhood lies in other spaces ("what does <code> mean") reads all of them. At 100k chunks (100 queries
# a filter kind, one index, each bound in turn on every query): recall@10 space/label/subtree 0.524/0.661/0.543 at
# 1,500 and 0.507/0.643/0.509 at 1,000 (unfiltered 0.475); the vector half's p95 11.4/13.3/12.8 ms at 1,500 and
# 8.8/9.8/9.6 at 1,000, hybrid search's 19.9/20.2/20.2 and 17.3/17.8/20.1 (200 queries, alternating). On another
# build, 0.505/0.606/0.500 at 1,000 against 0.498 unfiltered; below 1,000 the space filter fell to the unfiltered
# recall (0.477 at 600).
FILTERED_SCAN_TUPLES = 1000
# A filtered scan starts with a candidate list this many times longer than an unfiltered one. Of the first ef_search
# rows the walk reaches, only those the filter keeps count. At 100k chunks (100 queries), with the list unchanged a
# space filter's recall@10 was 2.7 points under the unfiltered one (4.5–7.3 under in 40-query runs); at twice the
# list every filter is at or above it (space +1.1, subtree +5.7, label +19.8), for about 1–3 ms at p95.
FILTERED_EF_FACTOR = 2
# pgvector's upper bound of hnsw.ef_search.
MAX_EF_SEARCH = 1000


def vector_half(conn: psycopg.Connection, model: tuple[str, int], where: str, *, limit: str = "candidates") -> str:
    """The SQL ranking up to ``%(candidates)s`` live chunks by cosine distance to ``%(qvec)s``.

    Args:
        conn: connection (to quote the model name).
        model: the active model and its dimensions.
        where: predicate over ``v`` (``search_vectors``) from :func:`~.filters.vector_filter_sql`.
        limit: the name of the parameter holding how many rows to return.

    Returns:
        A ``SELECT chunk_id, document_id, rank`` statement, rank 1 the nearest.
    """
    # The model is inlined as a literal (it comes from our own table): the partial HNSW index is chosen only when
    # the planner can prove its predicate, which a generic plan over a parameter never does.
    literal = sql.Literal(model[0]).as_string(conn)
    # The inner ORDER BY … LIMIT is what walks the HNSW index (on half-precision copies), testing the filters on each
    # row it reaches (the iterative scan goes on while they reject rows). The rank comes from each candidate's
    # full-precision distance: relaxed_order may return the rows slightly out of order, and half precision blurs
    # near ties.
    return _chunks_of(f"""
            SELECT v.source, v.document_id, v.content_hash, {_exact_distance(model)} AS dist
            FROM search_vectors v
            WHERE v.model = {literal} AND {where}
            ORDER BY {indexed_distance(model[1])} LIMIT %({limit})s""")


def _exact_distance(model: tuple[str, int]) -> str:
    dims = int(model[1])
    return f"v.embedding::vector({dims}) <=> %(qvec)s::vector({dims})"


def exact_vector_half(
    conn: psycopg.Connection, model: tuple[str, int], page_where: str, *, limit: str = "candidates"
) -> str:
    """Like :func:`vector_half`, but exact: the distance of every row of the pages the filters select, no index.

    For selective filters: the pages come first (through their indexes), then their rows by the primary key. The
    pages are kept apart (``OFFSET 0``) and the order is on an expression no index provides, so the planner neither
    walks the HNSW graph nor scans every vector.

    Args:
        conn: connection (to quote the model name).
        model: the active model and its dimensions.
        page_where: predicate over ``p`` (pages) from :func:`~.filters.page_filter_sql`; ``%(source)s`` is set.
        limit: the name of the parameter holding how many rows to return.
    """
    literal = sql.Literal(model[0]).as_string(conn)
    distance = _exact_distance(model)
    return _chunks_of(f"""
            SELECT v.source, v.document_id, v.content_hash, {distance} AS dist
            FROM (SELECT p.page_id FROM pages p WHERE {page_where} OFFSET 0) f
            JOIN search_vectors v ON v.model = {literal} AND v.source = %(source)s AND v.document_id = f.page_id
            ORDER BY ({distance}) + 0 LIMIT %({limit})s""")


def _chunks_of(nearest: str) -> str:
    """Rank the (page, text) rows of ``nearest`` as chunks.

    Each row becomes its live chunk (the first, when a page repeats a text), looked up for the candidates alone.
    """
    # min() rather than ORDER BY chunk_id LIMIT 1: with sorts disabled (filtered searches, see set_scan) the latter
    # walks the chunks' primary key instead of the page's few chunks (~28 ms a candidate at 100k chunks).
    return f"""
        SELECT c.chunk_id, n.document_id, row_number() OVER (ORDER BY n.dist, c.chunk_id) AS rank
        FROM ({nearest}) n
        CROSS JOIN LATERAL (
            SELECT min(c.chunk_id) AS chunk_id FROM chunks c
            WHERE c.source = n.source AND c.document_id = n.document_id AND c.content_hash = n.content_hash
              AND c.is_live) c
        WHERE c.chunk_id IS NOT NULL"""


def set_scan(conn: psycopg.Connection, ef_search: int, *, max_scan_tuples: int | None = None) -> tuple[str, int] | None:
    """Set the search of the current transaction: the HNSW scan, and plans made for the parameters at hand.

    The scan has the candidate list ``ef_search`` and iterates in relaxed order while filters reject rows.

    Must run inside a transaction: the settings are ``LOCAL`` and end with it.

    Args:
        conn: the connection.
        ef_search: the candidate list.
        max_scan_tuples: most index tuples an iterative scan reads (filtered searches); pgvector's default when None.
            When given, the planner is also steered to the index order (no sorts where an alternative exists), and
            the candidate list is :data:`FILTERED_EF_FACTOR` times ``ef_search``.

    Returns:
        The active model and its dimensions (:func:`~confluence_pipeline.store.documents.active_model`), read by the
        same statement: a round trip less for every search.
    """
    if max_scan_tuples is not None:
        ef_search = min(MAX_EF_SEARCH, ef_search * FILTERED_EF_FACTOR)
    # SET takes no parameters; set_config(…, is_local => true) is SET LOCAL with one. One statement for all of them:
    # each round trip costs a search about 0.3 ms.
    # A search statement repeats its text from query to query, and psycopg prepares it after a few runs; a prepared
    # statement may then be planned once for any parameters (a generic plan), blind to the filter's selectivity and
    # the limits. Search plans for the values at hand, every time.
    settings = {
        "hnsw.ef_search": str(int(ef_search)),
        "hnsw.iterative_scan": "relaxed_order",
        "plan_cache_mode": "force_custom_plan",
    }
    if max_scan_tuples is not None:
        settings["hnsw.max_scan_tuples"] = str(int(max_scan_tuples))
    # A filtered search that walks the HNSW graph selects too many chunks for the exact half. Left to itself, the
    # planner fetches every selected row's vector and sorts them all (a label's 2,000 chunks at 1,536 dimensions:
    # ~45 ms) because it cannot cost the iterative scan; without sorts the index order wins (~10 ms). Set both ways,
    # so that a second call in the same transaction undoes the first's.
    settings["enable_sort"] = "off" if max_scan_tuples is not None else "on"
    calls = ", ".join("set_config(%s, %s, true)" for _ in settings)
    row = conn.execute(
        f"SELECT m.model, m.dimensions, {calls} FROM (SELECT 1) one LEFT JOIN ({ACTIVE_MODEL_SQL}) m ON true",
        [value for pair in settings.items() for value in pair],
    ).fetchone()
    return (row[0], row[1]) if row is not None and row[0] is not None else None
