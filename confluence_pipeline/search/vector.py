"""The vector half of hybrid search: cosine distance on the active model's partial HNSW index.

``hnsw.ef_search`` (``VECTOR_EF_SEARCH``, see :mod:`confluence_pipeline.store.hnsw` for what it buys) is set for the
search transaction only, and iterative scans keep filtered queries returning enough rows.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

# pgvector's default candidate list while searching.
DEFAULT_EF_SEARCH = 40


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


def set_scan(conn: psycopg.Connection, ef_search: int) -> None:
    """Set the HNSW scan of the current transaction: candidate list ``ef_search``, iterative relaxed-order scans.

    Must run inside a transaction: the settings are ``LOCAL`` and end with it.
    """
    # SET takes no parameters; set_config(…, is_local => true) is SET LOCAL with one.
    conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(int(ef_search)),))
    conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
