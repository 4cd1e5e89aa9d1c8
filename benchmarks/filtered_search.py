"""Filtered search on the search benchmark's store: latency per filter kind, and the vector half's recall@10.

For each timed query, three filters taken from the page the query is about: its space, its rarest label, and the
top-level section it sits under (a subtree). For each kind it measures:

* hybrid search as the product runs it (:func:`~confluence_pipeline.search.search`), p50 and p95;
* the vector half under each option: as searched (exact for filters estimated to select few chunks, else the HNSW
  iterative scan bounded at ``FILTERED_SCAN_TUPLES``), the iterative scan with pgvector's default bound (20,000
  tuples), and an exact search of the filtered chunks; p50, p95 and recall@10 against the exact search, each
  returning as many rows as search() asks of the vector half for page results;
* the recall@10 of the unfiltered vector half on the same queries, for comparison.

Recall counts a returned chunk as a hit when it is no farther than the exact k-th neighbour, as
:func:`benchmarks.search_speed._recall` does (sandbox pages share boilerplate, so distances tie).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg

from confluence_pipeline.embed.base import EmbeddingProvider
from confluence_pipeline.search import SearchFilters, SearchSettings, search
from confluence_pipeline.search.filters import (
    estimated_chunks,
    filters_sql,
    page_filter_sql,
    subtree_root_path,
    vector_filter_sql,
)
from confluence_pipeline.search.hybrid import MIN_CANDIDATES, VECTOR_PAGE_FACTOR
from confluence_pipeline.search.vector import (
    EXACT_MAX_CHUNKS,
    FILTERED_SCAN_TUPLES,
    exact_vector_half,
    set_scan,
    vector_half,
)
from confluence_pipeline.store.documents import active_model

KINDS = ("space", "label", "subtree")
# The rows the vector half returns as search() runs it at k=10, for page results.
_VECTOR_CANDIDATES = max(MIN_CANDIDATES, 20) * VECTOR_PAGE_FACTOR
OPTIONS = ("as searched", "iterative, 20,000 tuples", "exact")


@dataclass
class FilteredReport:
    """Figures per filter kind: hybrid latency, and per option the vector half's latency and recall."""

    hybrid_ms: dict[str, tuple[float, float]] = field(default_factory=dict)
    vector_ms: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    recall: dict[tuple[str, str], float] = field(default_factory=dict)
    unfiltered_recall: float = 0.0
    exact_share: dict[str, float] = field(default_factory=dict)
    cases: int = 0
    recall_cases: int = 0


def filter_cases(conn: psycopg.Connection, queries: list[tuple[str, str, str]]) -> list[tuple[str, dict[str, Any]]]:
    """Per (query, space, page id): the query and its space, rarest-label and section filters."""
    pages = {
        row[0]: (row[1], row[2], row[3])
        for row in conn.execute("SELECT page_id, space_key, labels, path FROM pages WHERE status = 'current'")
    }
    frequency = dict(conn.execute("SELECT l, count(*) FROM pages, unnest(labels) l GROUP BY 1").fetchall())
    cases = []
    for query, _, page_id in queries:
        if page_id not in pages:
            continue
        space, labels, path = pages[page_id]
        parts = path.strip("/").split("/")
        filters: dict[str, Any] = {"space": SearchFilters(space_key=space)}
        if labels:
            filters["label"] = SearchFilters(label=min(labels, key=lambda label: (frequency.get(label, 0), label)))
        if len(parts) >= 3:
            filters["subtree"] = SearchFilters(under_page_id=parts[1])  # below the home page: a section
        cases.append((query, filters))
    return cases


def _distances(conn: psycopg.Connection, statement: str, params: dict[str, Any], **scan: Any) -> list[float]:
    with conn.transaction():
        set_scan(conn, scan.pop("ef_search"), **scan)
        rows = conn.execute(f"SELECT v.dist FROM ({statement}) v ORDER BY v.dist LIMIT 10", params).fetchall()
    return [float(row[0]) for row in rows]


def _with_dist(statement: str) -> str:
    # The halves return (chunk, page, rank); the benchmark needs the distance of each, which the inner query has.
    return statement.replace("row_number() OVER (ORDER BY n.dist, c.chunk_id) AS rank", "n.dist AS dist", 1)


def _hits(found: list[float], exact: list[float]) -> float:
    if not exact:
        return 1.0
    return sum(d <= exact[-1] + 1e-6 for d in found) / len(exact)


def measure(
    conn: psycopg.Connection,
    provider: EmbeddingProvider,
    cases: list[tuple[str, dict[str, Any]]],
    settings: SearchSettings,
    log: Callable[[str], None] = print,
    *,
    recall_cases: int = 100,
) -> FilteredReport:
    """Time hybrid search per filter kind, and each vector-half option with its recall against exact search.

    The options and recall use the first ``recall_cases`` queries: an exact search of a large space reads every
    vector of it (about 0.3 s at 100k chunks). At 40 queries recall@10 moved 2–4 points between builds of the same
    index, as much as the 2-point bound it is checked against; 100 narrow that by about a third.
    """
    model = active_model(conn)
    if model is None:
        raise RuntimeError("no active embedding model: load the store first")
    report = FilteredReport(cases=len(cases), recall_cases=min(recall_cases, len(cases)))
    hybrid: dict[str, list[float]] = {kind: [] for kind in KINDS}
    vector: dict[tuple[str, str], list[float]] = {(k, o): [] for k in KINDS for o in OPTIONS}
    recall: dict[tuple[str, str], list[float]] = {(k, o): [] for k in KINDS for o in OPTIONS}
    exact_chosen: dict[str, list[bool]] = {kind: [] for kind in KINDS}
    unfiltered: list[float] = []
    ef = max(settings.ef_search, 20)
    log(f"filtered search: {len(cases)} queries × {', '.join(KINDS)} …")
    for query, filters in cases:
        for kind, chosen in filters.items():
            started = time.perf_counter()
            search(conn, query, provider, k=10, filters=chosen, settings=settings)
            hybrid[kind].append((time.perf_counter() - started) * 1000)
    for query, filters in cases[:recall_cases]:
        qvec = provider.embed([query])[0]
        everything = SearchFilters()
        _, params = filters_sql(everything)
        params.update({"qvec": qvec, "candidates": _VECTOR_CANDIDATES})
        exact_all = exact_vector_half(conn, model, page_filter_sql(everything))
        exact = _distances(conn, _with_dist(exact_all), params, ef_search=ef)
        approximate = _distances(
            conn, _with_dist(vector_half(conn, model, vector_filter_sql(everything))), params, ef_search=ef
        )
        unfiltered.append(_hits(approximate, exact))
        for kind, chosen in filters.items():
            root_path = subtree_root_path(conn, chosen)
            _, params = filters_sql(chosen, root_path)
            params.update({"qvec": qvec, "candidates": _VECTOR_CANDIDATES})
            exact_stmt = _with_dist(exact_vector_half(conn, model, page_filter_sql(chosen, root_path)))
            iterative = _with_dist(vector_half(conn, model, vector_filter_sql(chosen, root_path)))
            results: dict[str, list[float]] = {}
            for option in ("exact", "iterative, 20,000 tuples", "as searched"):
                started = time.perf_counter()
                if option == "exact":
                    results[option] = _distances(conn, exact_stmt, params, ef_search=ef)
                elif option == "iterative, 20,000 tuples":
                    results[option] = _distances(conn, iterative, params, ef_search=ef, max_scan_tuples=20_000)
                else:
                    small = estimated_chunks(conn, chosen, root_path) <= EXACT_MAX_CHUNKS
                    exact_chosen[kind].append(small)
                    if small:
                        results[option] = _distances(conn, exact_stmt, params, ef_search=ef)
                    else:
                        results[option] = _distances(
                            conn, iterative, params, ef_search=ef, max_scan_tuples=FILTERED_SCAN_TUPLES
                        )
                vector[(kind, option)].append((time.perf_counter() - started) * 1000)
            for option in OPTIONS:
                recall[(kind, option)].append(_hits(results[option], results["exact"]))
    for kind in KINDS:
        if hybrid[kind]:
            report.hybrid_ms[kind] = _p50_p95(hybrid[kind])
            report.exact_share[kind] = float(np.mean(exact_chosen[kind]))
        for option in OPTIONS:
            if vector[(kind, option)]:
                report.vector_ms[(kind, option)] = _p50_p95(vector[(kind, option)])
                report.recall[(kind, option)] = statistics.fmean(recall[(kind, option)])
    report.unfiltered_recall = statistics.fmean(unfiltered) if unfiltered else 0.0
    return report


def _p50_p95(samples: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return q[49], q[94]


def print_report(report: FilteredReport) -> None:
    """Print the filtered-search figures."""
    print(f"filtered search ({report.cases} queries; filters from the page each query is about):")
    for kind, (p50, p95) in report.hybrid_ms.items():
        print(f"  hybrid + {kind + ' filter:':<16}p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   (exact vector half for "
              f"{report.exact_share[kind]:.0%}: filter estimated at most {EXACT_MAX_CHUNKS} chunks)")  # fmt: skip
    print(f"  vector half, recall@10 against exact search ({report.recall_cases} queries; "
          f"unfiltered, same queries: {report.unfiltered_recall:.3f}):")  # fmt: skip
    for (kind, option), (p50, p95) in report.vector_ms.items():
        print(f"    {kind:<8} {option:<26} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  recall@10 "
              f"{report.recall[(kind, option)]:.3f}")  # fmt: skip
