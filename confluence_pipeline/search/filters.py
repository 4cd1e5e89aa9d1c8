"""Search filters: predicates on the page, applied inside both halves of the query."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg

# Filtered searches name the source: Confluence pages are the documents of source 'confluence'.
_SOURCE = "confluence"
# Chunks per page and the pages a filter selects, from the planner's statistics, are re-read after this many seconds.
_RATIO_TTL_S = 300.0
_ratios: dict[tuple[str, str, str], _Statistics] = {}
# Filters whose page estimate is kept per database, until the statistics are re-read.
_ESTIMATES_MAX = 4096
_ratios_lock = threading.Lock()


@dataclass
class _Statistics:
    """What the planner's statistics say, per database: chunks per page, and the pages each filter selects."""

    chunks_per_page: float
    read_at: float
    pages: dict[tuple[SearchFilters, str | None], float] = field(default_factory=dict)


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

    @property
    def any(self) -> bool:
        """Whether any filter is set."""
        return bool(self.space_key or self.label or self.under_page_id)


def subtree_root_path(conn: psycopg.Connection, filters: SearchFilters) -> str | None:
    """The materialized path of the subtree filter's page, or None (no subtree filter, or no such page).

    With it, the filters select the subtree by a prefix of the path (which the index of ``pages.path`` serves);
    without it, by a pattern that has to be tested on every page.
    """
    if not filters.under_page_id:
        return None
    row = conn.execute("SELECT path FROM pages WHERE page_id = %s", (filters.under_page_id,)).fetchone()
    return row[0] if row else None


def filters_sql(filters: SearchFilters, root_path: str | None = None) -> tuple[str, dict[str, Any]]:
    """The text half's WHERE clause over ``c`` (chunks) for the filters, with the parameters of every filter SQL.

    A chunk row carries its page's space, labels and path (kept in step with the page by a trigger), so the filters
    are tested on the row the full-text index led to, with no lookup of the page per candidate. A live chunk's page
    is current (a page that stops being current loses its chunks in the same transaction), and the final join
    checks it again.

    Args:
        filters: the filters.
        root_path: the subtree filter's page path (:func:`subtree_root_path`), when known.

    Returns:
        ``(where, params)``: the predicate, and the named parameters it, :func:`page_filter_sql` and
        :func:`vector_filter_sql` use.
    """
    clauses, params = _page_clauses(filters, root_path, alias="c", page_id="document_id")
    params["source"] = _SOURCE
    if not filters.any:
        return "c.is_live", params
    return " AND ".join(["c.is_live", "c.source = %(source)s", *clauses[1:]]), params


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

    Costs a plan of a one-table query (well under a millisecond, then cached per filter for a few minutes), not a
    count: a count of a large space's chunks would cost more than the search it decides about.
    """
    statistics = _statistics(conn)
    key = (filters, root_path)
    with _ratios_lock:
        pages = statistics.pages.get(key)
    if pages is None:
        clauses, params = _page_clauses(filters, root_path)
        plan = conn.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM pages p WHERE {' AND '.join(clauses)}", params)
        pages = float(plan.fetchone()[0][0]["Plan"]["Plan Rows"])
        with _ratios_lock:
            # Filters repeat (a space, a team's label); the bound keeps an endless variety from growing the cache.
            if len(statistics.pages) >= _ESTIMATES_MAX:
                statistics.pages.clear()
            statistics.pages[key] = pages
    return pages * statistics.chunks_per_page


def selects_more_pages(conn: psycopg.Connection, filters: SearchFilters, root_path: str | None, found: int) -> bool:
    """Whether the filters select more than ``found`` current pages: counted, but no further than that.

    Search asks its halves for more candidates when their chunks fill fewer than ``k`` pages; under a filter that
    selects only the pages found (a rare label), that second pass could find nothing and costs as much as the first.
    """
    clauses, params = _page_clauses(filters, root_path)
    params["found"] = found + 1
    row = conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM pages p WHERE {' AND '.join(clauses)} LIMIT %(found)s) t", params
    ).fetchone()
    return row[0] > found


def _statistics(conn: psycopg.Connection) -> _Statistics:
    key = (conn.info.host, str(conn.info.port), conn.info.dbname)
    now = time.monotonic()
    with _ratios_lock:
        cached = _ratios.get(key)
    if cached is not None and now - cached.read_at < _RATIO_TTL_S:
        return cached
    row = conn.execute(
        """SELECT greatest((SELECT reltuples FROM pg_class WHERE oid = 'chunks'::regclass), 0),
                  greatest((SELECT reltuples FROM pg_class WHERE oid = 'pages'::regclass), 1)"""
    ).fetchone()
    # Before the first ANALYZE reltuples is -1 (unknown): assume a page per chunk, the cautious side.
    statistics = _Statistics(chunks_per_page=float(row[0]) / float(row[1]) if row[0] > 0 else 1.0, read_at=now)
    with _ratios_lock:
        _ratios[key] = statistics
    return statistics
