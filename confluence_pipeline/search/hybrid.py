"""Hybrid search: pgvector cosine similarity and full-text rank, fused with reciprocal rank fusion.

The two halves each rank up to ``candidates`` live chunks: the vector half (:mod:`.vector`) on the active model's
partial HNSW index, the text half (:mod:`.fulltext`) by the rare query terms a chunk holds. :mod:`.fusion` fuses
them, by page unless chunks are asked for. The query is embedded with the model search serves (:mod:`.query`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import psycopg

from confluence_pipeline.embed.base import EmbeddingProvider
from confluence_pipeline.search.filters import (
    SearchFilters,
    estimated_chunks,
    filters_sql,
    page_filter_sql,
    selects_more_pages,
    subtree_root_path,
    vector_filter_sql,
)
from confluence_pipeline.search.fulltext import text_half
from confluence_pipeline.search.fusion import RRF_K, fused_statement
from confluence_pipeline.search.query import embed_query, serves
from confluence_pipeline.search.vector import (
    DEFAULT_EF_SEARCH,
    EXACT_MAX_CHUNKS,
    FILTERED_SCAN_TUPLES,
    exact_vector_half,
    set_scan,
    vector_half,
)
from confluence_pipeline.store.fts import query_terms

SearchMode = Literal["hybrid", "vector", "text"]
MODES: tuple[str, ...] = ("hybrid", "vector", "text")

# Chunks each half contributes by default (at least; 2·k when more results are asked for).
MIN_CANDIDATES = 20
# Upper bound of the candidates per half when page results come up short (see search()).
MAX_CANDIDATES = 200
# For page results the vector half asks for this many times the candidates (see search()).
VECTOR_PAGE_FACTOR = 2

_EMPTY = "SELECT NULL::text AS chunk_id, NULL::text AS document_id, NULL::bigint AS rank WHERE false"


@dataclass(frozen=True)
class SearchSettings:
    """Query-time knobs, built by ``SearchResource.settings()``.

    Attributes:
        rrf_k: reciprocal rank fusion constant (``SEARCH_RRF_K``); see :data:`~.fusion.RRF_K`.
        ef_search: HNSW candidate list while searching (``VECTOR_EF_SEARCH``); raised to the candidates asked for.

    Raises:
        ValueError: on construction, when a value is out of range; the message names the variable.
    """

    rrf_k: int = RRF_K
    ef_search: int = DEFAULT_EF_SEARCH

    def __post_init__(self) -> None:
        if self.rrf_k < 1:
            raise ValueError(f"SEARCH_RRF_K={self.rrf_k} must be at least 1")
        if not 1 <= self.ef_search <= 1000:
            raise ValueError(f"VECTOR_EF_SEARCH={self.ef_search} must be between 1 and 1000")


@dataclass(frozen=True)
class SearchResult:
    """One hit."""

    page_id: str
    title: str
    section: str
    space_key: str
    url: str | None
    snippet: str
    score: float
    vector_rank: int | None
    text_rank: int | None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict, for JSON output."""
        return asdict(self)


def _snippet(text: str, length: int = 240) -> str:
    body = text.split("\n", 1)[1] if "\n" in text else text
    body = " ".join(body.split())
    return body if len(body) <= length else body[: length - 1].rstrip() + "…"


def search(
    conn: psycopg.Connection,
    query: str,
    provider: EmbeddingProvider | None,
    *,
    k: int = 10,
    filters: SearchFilters | None = None,
    candidates: int | None = None,
    mode: SearchMode = "hybrid",
    collapse_pages: bool = True,
    settings: SearchSettings | None = None,
) -> list[SearchResult]:
    """Search live chunks, returning the top ``k`` by reciprocal rank fusion.

    Args:
        conn: pipeline database connection.
        query: the user's words.
        provider: embeds the query; must be the provider of the active model (vector half skipped when None or
            when no model is active yet); see :func:`~.query.query_provider`.
        k: results wanted.
        filters: space, label and subtree predicates.
        candidates: how many chunks each half contributes before fusion; default ``max(20, 2 * k)``. More did not
            find better pages in the relevance evaluation, and each one costs the vector half index work.
        mode: ``hybrid`` (both halves, fused), ``vector`` (similarity only) or ``text`` (full-text only).
        collapse_pages: one result per page (its best chunk); False returns chunks, several per page possible.
        settings: fusion constant and HNSW candidate list; default ``SearchSettings()``.

    Returns:
        Results, best first.

    Raises:
        ValueError: an unknown mode.
    """
    if mode not in MODES:
        raise ValueError(f"search mode must be one of {', '.join(MODES)}, not {mode!r}")
    settings = settings or SearchSettings()
    filters = filters or SearchFilters()
    root_path = subtree_root_path(conn, filters)
    where, params = filters_sql(filters, root_path)
    candidates = candidates or max(MIN_CANDIDATES, 2 * k)
    # The vector half returns chunks, several per page where a page has many near sections: for page results it
    # asks for twice as many, so that one pass usually fills k pages (a second pass, with four times as many
    # candidates, costs as much as the first). The text half returns one chunk per page then (see text_half).
    vector_factor = VECTOR_PAGE_FACTOR if collapse_pages else 1
    params.update({"candidates": candidates, "vector_candidates": candidates * vector_factor, "k": k})
    params["rrf"] = settings.rrf_k
    # A candidate list shorter than the LIMIT makes the scan return what it found and then iterate for the rest;
    # the list is therefore at least as long as the candidates asked for.
    ef_search = max(settings.ef_search, params["vector_candidates"])
    qvec = embed_query(query, provider) if mode != "text" else None
    # The vector half's path (exact, or a bounded walk of the graph) is chosen before the model is known: the
    # statement that sets the scan reads the model too (set_scan), in the search's transaction.
    exact = qvec is not None and filters.any and estimated_chunks(conn, filters, root_path) <= EXACT_MAX_CHUNKS
    scan_tuples = FILTERED_SCAN_TUPLES if qvec is not None and filters.any and not exact else None
    terms = query_terms(query) if mode != "vector" else []
    txt = text_half(conn, terms, where, params, per_page=collapse_pages) if terms else _EMPTY
    with conn.transaction():
        model = set_scan(conn, ef_search, max_scan_tuples=scan_tuples)
        vec = _EMPTY
        if qvec is not None and serves(provider, model):
            params["qvec"] = qvec
            if exact:
                vec = exact_vector_half(conn, model, page_filter_sql(filters, root_path), limit="vector_candidates")
            else:
                vec = vector_half(conn, model, vector_filter_sql(filters, root_path), limit="vector_candidates")
        elif scan_tuples is not None:
            scan_tuples = None  # no graph walk after all (nothing embedded yet, or another model went live)
            set_scan(conn, ef_search)
        statement = fused_statement(vec, txt, collapse_pages=collapse_pages)
        rows = conn.execute(statement, params).fetchall()
        # Candidates are chunks; when they all come from a few pages (a page with many matching sections), the
        # page list is shorter than k although more pages would match: ask the halves for more chunks (only when a
        # half was cut at the limit, and the filters select more pages than were found; otherwise there is nothing
        # more to find: a rare label's few pages, say).
        while (
            collapse_pages
            and 0 < len(rows) < k
            and (rows[0][9] >= params["vector_candidates"] or rows[0][10] >= params["candidates"])
            and params["candidates"] < MAX_CANDIDATES
            and (not filters.any or selects_more_pages(conn, filters, root_path, len(rows)))
        ):
            params["candidates"] = min(MAX_CANDIDATES, params["candidates"] * 4)
            params["vector_candidates"] = params["candidates"] * vector_factor
            set_scan(conn, max(ef_search, params["vector_candidates"]), max_scan_tuples=scan_tuples)
            rows = conn.execute(statement, params).fetchall()
    return [
        SearchResult(
            page_id=row[0], title=row[1], section=row[2], space_key=row[3], url=row[4], snippet=_snippet(row[5]),
            score=round(float(row[6]), 6), vector_rank=row[7], text_rank=row[8],
        )
        for row in rows
    ]  # fmt: skip
