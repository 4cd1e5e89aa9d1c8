"""Search filters: predicates on the page, applied inside both halves of the query."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import psycopg

# What a page-filtered search joins: Confluence pages are the documents of source 'confluence'. Naming the source lets
# the planner reach a page's chunks through chunks (source, document_id) instead of scanning every chunk.
_SOURCE = "confluence"
# Chunks per page, from the planner's statistics, are re-read after this many seconds.
_RATIO_TTL_S = 300.0
_ratios: dict[tuple[str, str, str], tuple[float, float]] = {}
_ratios_lock = threading.Lock()


@dataclass(frozen=True)
class SearchFilters:
    """Optional predicates applied inside both halves of the query.

    Attributes:
        space_key: only pages of this space.
        label: only pages carrying this label.
        under_page_id: only pages below this page (its descendants, not the page itself).
    """

    space_key: str | None = None
    label: str | None = None
    under_page_id: str | None = None


def subtree_root_path(conn: psycopg.Connection, filters: SearchFilters) -> str | None:
    """The materialized path of the subtree filter's page, or None (no subtree filter, or no such page).

    With it, :func:`filters_sql` selects the subtree by a prefix of ``pages.path``, which its index serves; without
    it, by a pattern that has to be tested on every page.
    """
    if not filters.under_page_id:
        return None
    row = conn.execute("SELECT path FROM pages WHERE page_id = %s", (filters.under_page_id,)).fetchone()
    return row[0] if row else None


def filters_sql(filters: SearchFilters, root_path: str | None = None) -> tuple[str, str, dict[str, Any]]:
    """The halves' FROM tail and WHERE clause for the filters, with their parameters.

    Without filters the halves read chunks alone: a live chunk's page is current (a page that stops being current
    loses its chunks in the same transaction), and the final join checks it again. Joining pages for every candidate
    of the text half would cost an index probe per chunk, or a scan of pages when the planner prefers a hash join.

    Args:
        filters: the filters.
        root_path: the subtree filter's page path (:func:`subtree_root_path`), when known.

    Returns:
        ``(join, where, params)``: a ``JOIN pages p`` clause (or ""), the predicate over ``c`` (chunks) and ``p``,
        and the named parameters it uses.
    """
    clauses, params = _page_clauses(filters, root_path)
    if len(clauses) == 1:
        return "", "c.is_live", params
    params["source"] = _SOURCE
    where = " AND ".join(["c.is_live", "c.source = %(source)s", *clauses])
    return " JOIN pages p ON p.page_id = c.document_id", where, params


def page_filter_sql(filters: SearchFilters, root_path: str | None = None) -> str:
    """The filters as a predicate over ``p`` (pages) alone, status included; parameters of :func:`filters_sql`."""
    clauses, _ = _page_clauses(filters, root_path)
    return " AND ".join(clauses)


def vector_filter_sql(filters: SearchFilters, root_path: str | None = None) -> str:
    """The filters as a predicate over ``v``, a ``search_vectors`` row, which holds its page's filter columns.

    The vector half tests it on each row its HNSW walk reaches, with no lookup of the chunk or the page. Its
    parameters are those of :func:`filters_sql` (the same names). Rows exist only for live chunks, whose pages are
    current, so no status test is needed.
    """
    clauses, _ = _page_clauses(filters, root_path, alias="v", page_id="document_id")
    return " AND ".join(clauses[1:]) or "true"


def _page_clauses(
    filters: SearchFilters, root_path: str | None = None, *, alias: str = "p", page_id: str = "page_id"
) -> tuple[list[str], dict[str, Any]]:
    params: dict[str, Any] = {}
    clauses = [f"{alias}.status = 'current'"]
    if filters.space_key:
        clauses.append(f"{alias}.space_key = %(space)s")
        params["space"] = filters.space_key
    if filters.label:
        clauses.append(f"{alias}.labels @> ARRAY[%(label)s]::text[]")
        params["label"] = filters.label
    if filters.under_page_id and root_path:
        # Descendants' paths start with the page's own: a prefix the text_pattern_ops index of pages.path serves.
        clauses.append(f"{alias}.path LIKE %(path)s AND {alias}.{page_id} <> %(under)s")
        params["path"] = root_path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params["under"] = filters.under_page_id
    elif filters.under_page_id:
        clauses.append(f"{alias}.path LIKE %(path)s")
        params["path"] = f"%/{filters.under_page_id}/%"
    return clauses, params


def estimated_chunks(conn: psycopg.Connection, filters: SearchFilters, root_path: str | None = None) -> float:
    """The planner's estimate of the live chunks the filters select: matching pages times chunks per page.

    Costs a plan of a one-table query (well under a millisecond), not a count: a count of a large space's chunks would
    cost more than the search it decides about.
    """
    clauses, params = _page_clauses(filters, root_path)
    plan = conn.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM pages p WHERE {' AND '.join(clauses)}", params).fetchone()
    pages = float(plan[0][0]["Plan"]["Plan Rows"])
    return pages * _chunks_per_page(conn)


def _chunks_per_page(conn: psycopg.Connection) -> float:
    key = (conn.info.host, str(conn.info.port), conn.info.dbname)
    now = time.monotonic()
    with _ratios_lock:
        cached = _ratios.get(key)
    if cached is not None and now - cached[1] < _RATIO_TTL_S:
        return cached[0]
    row = conn.execute(
        """SELECT greatest((SELECT reltuples FROM pg_class WHERE oid = 'chunks'::regclass), 0),
                  greatest((SELECT reltuples FROM pg_class WHERE oid = 'pages'::regclass), 1)"""
    ).fetchone()
    # Before the first ANALYZE reltuples is -1 (unknown): assume a page per chunk, the cautious side.
    ratio = float(row[0]) / float(row[1]) if row[0] > 0 else 1.0
    with _ratios_lock:
        _ratios[key] = (ratio, now)
    return ratio
