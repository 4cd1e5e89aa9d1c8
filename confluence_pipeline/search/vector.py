"""The vector half of hybrid search: cosine distance on the active model's partial HNSW index.

``hnsw.ef_search`` (``VECTOR_EF_SEARCH``, see :mod:`confluence_pipeline.store.hnsw` for what it buys) is set for the
search transaction only, and iterative scans keep filtered queries returning enough rows.

A filtered search (space, label, subtree) takes one of two paths, by the planner's estimate of the chunks the filter
selects (:func:`~.filters.estimated_chunks`):

* few (at most :data:`EXACT_MAX_CHUNKS`): the exact distances of those chunks (:func:`exact_vector_half`), which is
  cheaper than walking the graph past every chunk the filter rejects, and exact;
* more: the HNSW scan, iterating while the filter rejects rows, but at most :data:`FILTERED_SCAN_TUPLES` index
  tuples. An unbounded iterative scan went through up to 20,000 tuples (pgvector's default limit), 150–450 ms, when
  the query's neighbourhood lay in other spaces; the bounded one may return fewer candidates then, and the text half
  still contributes. ``python -m benchmarks.search_speed`` measures both against an exact search.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

# pgvector's default candidate list while searching.
DEFAULT_EF_SEARCH = 40
# Filters estimated to select at most this many live chunks are searched exactly (about 30 µs a chunk here at 1,536
# dimensions, where the vector is read from TOAST).
EXACT_MAX_CHUNKS = 300
# Most HNSW index tuples an iterative scan reads for a filtered search (pgvector's default: 20,000).
FILTERED_SCAN_TUPLES = 1000


def vector_half(conn: psycopg.Connection, model: tuple[str, int], join: str, where: str) -> str:
    """The SQL ranking up to ``%(candidates)s`` live chunks by cosine distance to ``%(qvec)s``.

    Args:
        conn: connection (to quote the model name).
        model: the active model and its dimensions.
        join: FROM tail from :func:`~confluence_pipeline.search.filters.filters_sql`.
        where: predicate from the same.

    Returns:
        A ``SELECT chunk_id, document_id, rank`` statement, rank 1 the nearest.
    """
    dims = int(model[1])
    # The model is inlined as a literal (it comes from our own table): the partial HNSW index is chosen only when
    # the planner can prove its predicate, which a generic plan over a parameter never does.
    literal = sql.Literal(model[0]).as_string(conn)
    distance = f"e.embedding::vector({dims}) <=> %(qvec)s::vector({dims})"
    # The inner ORDER BY … LIMIT is what walks the HNSW index (a nested loop fetches each hit's chunk and page, and
    # the iterative scan goes on while filters reject rows); relaxed_order may return the rows slightly out of
    # order, so the rank is taken from the distance again.
    return f"""
        SELECT chunk_id, document_id, row_number() OVER (ORDER BY dist, chunk_id) AS rank FROM (
            SELECT c.chunk_id, c.document_id, {distance} AS dist
            FROM embeddings e JOIN chunks c ON c.content_hash = e.content_hash{join}
            WHERE e.model = {literal} AND {where}
            ORDER BY {distance} LIMIT %(candidates)s) v"""


def exact_vector_half(conn: psycopg.Connection, model: tuple[str, int], join: str, where: str) -> str:
    """Like :func:`vector_half`, but exact: the distance of every chunk the filters select, no index.

    For selective filters: the chunks come from the pages first (through their indexes), and only their vectors are
    read. The inner query is kept apart (``OFFSET 0``) and the order is on an expression no index provides, so the
    planner neither walks the HNSW graph nor scans every vector.
    """
    dims = int(model[1])
    literal = sql.Literal(model[0]).as_string(conn)
    distance = f"e.embedding::vector({dims}) <=> %(qvec)s::vector({dims})"
    return f"""
        SELECT chunk_id, document_id, row_number() OVER (ORDER BY dist, chunk_id) AS rank FROM (
            SELECT f.chunk_id, f.document_id, {distance} AS dist
            FROM (SELECT c.chunk_id, c.document_id, c.content_hash FROM chunks c{join} WHERE {where} OFFSET 0) f
            JOIN embeddings e ON e.model = {literal} AND e.content_hash = f.content_hash
            ORDER BY ({distance}) + 0 LIMIT %(candidates)s) v"""


def set_scan(conn: psycopg.Connection, ef_search: int, *, max_scan_tuples: int | None = None) -> None:
    """Set the HNSW scan of the current transaction: candidate list ``ef_search``, iterative relaxed-order scans.

    Must run inside a transaction: the settings are ``LOCAL`` and end with it.

    Args:
        conn: the connection.
        ef_search: the candidate list.
        max_scan_tuples: most index tuples an iterative scan reads (filtered searches); pgvector's default when None.
            When given, the planner is also steered to the index order (no sorts where an alternative exists).
    """
    # SET takes no parameters; set_config(…, is_local => true) is SET LOCAL with one.
    conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(int(ef_search)),))
    conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
    if max_scan_tuples is not None:
        conn.execute("SELECT set_config('hnsw.max_scan_tuples', %s, true)", (str(int(max_scan_tuples)),))
        # A filtered search that reaches here selects too many chunks for the exact half: walk the HNSW graph. Left to
        # itself, the planner fetches every selected chunk's vector and sorts them all (a label's 2,000 chunks at 1,536
        # dimensions: ~45 ms) because it cannot cost the iterative scan; without sorts the index order wins (~10 ms).
        conn.execute("SET LOCAL enable_sort = off")
