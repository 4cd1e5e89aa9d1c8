"""Hybrid search: pgvector cosine similarity and full-text rank, fused with reciprocal rank fusion.

The two halves each rank up to ``candidates`` live chunks:

* **vector**: cosine distance on the active model's partial HNSW index (``hnsw.ef_search`` from
  ``VECTOR_EF_SEARCH``; iterative scans keep filtered queries returning enough rows);
* **text**: a chunk scores the sum, over the query terms it contains, of the term's inverse document frequency
  (``ln(1 + N / df)``), plus ``ts_rank`` as a tie-break. So a chunk holding the rare words of a query (a service
  name, an error code) outranks one that repeats a common word many times, which plain ``ts_rank`` of an OR query
  would not do. Terms come from :func:`~confluence_pipeline.store.fts.query_terms` (Korean and English).

Ranking every chunk that contains *any* query word costs a heap fetch per chunk: at 100k chunks a query with a
common word ("runbook") touches thousands. The text half therefore reads, through the GIN index, the chunks that
contain one of the query's *selective* terms (those whose estimated document frequency, from the planner's
statistics of ``chunks.tsv``, stays within :data:`DRIVER_ROWS`) or *all* of its terms. A chunk outside that set
only contains common terms and misses at least one, so its score is below that of a chunk with every term; it can
only matter when few chunks match, and then the vector half still contributes.

Results are pages by default: each half's chunk list becomes a page list (a page ranks by its best chunk), the two
page lists are fused, and each page shows its best chunk. ``collapse_pages=False`` fuses chunks instead and may
return several chunks of one page (context for retrieval-augmented generation).
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

import psycopg
from psycopg import sql

from confluence_pipeline.embed.base import EmbeddingProvider
from confluence_pipeline.store.documents import active_model
from confluence_pipeline.store.fts import QueryTerm, query_terms
from confluence_pipeline.store.hnsw import HnswSettings

SearchMode = Literal["hybrid", "vector", "text"]
MODES: tuple[str, ...] = ("hybrid", "vector", "text")

# Reciprocal rank fusion constant (score = Σ 1 / (RRF_K + rank)). The usual 60 comes from fusing many long TREC runs;
# with two short page lists it lets a page ranked mediocre in both halves beat one ranked first in one half. On the
# sandbox's generated query candidates (about 3,200 queries over two other corpus seeds than the relevance test's),
# with the local embedder, hit@5 went 0.88 → 0.91 → 0.94 and MRR 0.81 → 0.83 → 0.85 for k = 60 → 10 → 5; smaller
# k gained little more and leans on one half alone. Override with SEARCH_RRF_K (a semantic embedder agrees less
# often with full-text by accident, so agreement means more there: a larger k may suit it).
RRF_K = 5
# The text half reads at most about DRIVER_ROWS chunks containing one of the selective terms (by the planner's
# estimates), and at most MAX_TEXT_ROWS in all (an arbitrary subset when more match, e.g. a one-word query of a common
# word). Each chunk read costs a heap fetch (~2.5 µs here) and a containment test per query term (~0.7 µs), so both
# limits shrink for long queries to keep rows × terms within TEXT_WORK.
DRIVER_ROWS = 1_000
MAX_TEXT_ROWS = 2_000
TEXT_WORK = 6_000
# Chunks each half contributes by default (at least; 2·k when more results are asked for).
MIN_CANDIDATES = 20
# Upper bound of the candidates per half when page results come up short (see search()).
MAX_CANDIDATES = 200
# Planner statistics of chunks.tsv are re-read after this many seconds.
STATS_TTL_S = 300.0


@dataclass(frozen=True)
class SearchFilters:
    """Optional predicates applied inside both halves of the query."""

    space_key: str | None = None
    label: str | None = None
    under_page_id: str | None = None


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


@dataclass(frozen=True)
class _TermStats:
    """What ANALYZE knows about ``chunks.tsv``: rows, and the share of rows holding each common lexeme."""

    rows: float
    frequencies: dict[str, float]
    floor: float  # lexemes not listed occur in fewer rows than this share
    read_at: float


_stats_cache: dict[tuple[str, str, str], _TermStats] = {}
_stats_lock = threading.Lock()


def _term_stats(conn: psycopg.Connection) -> _TermStats | None:
    """Planner statistics of ``chunks.tsv`` (None before the first ANALYZE), cached per database for a while."""
    key = (conn.info.host, str(conn.info.port), conn.info.dbname)
    now = time.monotonic()
    with _stats_lock:
        cached = _stats_cache.get(key)
    if cached is not None and now - cached.read_at < STATS_TTL_S:
        return cached
    row = conn.execute(
        """SELECT c.reltuples, s.most_common_elems::text::text[], s.most_common_elem_freqs
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = 'tsv'
           WHERE c.oid = 'chunks'::regclass"""
    ).fetchone()
    if row is None or not row[1] or row[0] <= 0:
        return None
    elems, freqs = row[1], row[2]
    # most_common_elem_freqs holds one share per listed lexeme, then the minimum, maximum and null share.
    stats = _TermStats(
        rows=float(row[0]), frequencies=dict(zip(elems, map(float, freqs), strict=False)),
        floor=float(freqs[len(elems)]), read_at=now,
    )  # fmt: skip
    with _stats_lock:
        _stats_cache[key] = stats
    return stats


def _rrf_k() -> int:
    raw = os.environ.get("SEARCH_RRF_K", "").strip()
    if not raw:
        return RRF_K
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"SEARCH_RRF_K={raw!r} is not an integer") from None
    if value < 1:
        raise ValueError(f"SEARCH_RRF_K={value} must be at least 1")
    return value


def _filters_sql(filters: SearchFilters) -> tuple[str, str, dict[str, Any]]:
    """The halves' FROM tail and WHERE clause for the filters.

    Without filters the halves read chunks alone: a live chunk's page is current (a page that stops being current
    loses its chunks in the same transaction), and the final join checks it again. Joining pages for every candidate
    of the text half would cost an index probe per chunk, or a scan of pages when the planner prefers a hash join.
    """
    params: dict[str, Any] = {}
    clauses = ["p.status = 'current'"]
    if filters.space_key:
        clauses.append("p.space_key = %(space)s")
        params["space"] = filters.space_key
    if filters.label:
        clauses.append("p.labels @> ARRAY[%(label)s]::text[]")
        params["label"] = filters.label
    if filters.under_page_id:
        clauses.append("p.path LIKE %(path)s")
        params["path"] = f"%/{filters.under_page_id}/%"
    if len(clauses) == 1:
        return "", "c.is_live", params
    return " JOIN pages p ON p.page_id = c.document_id", " AND ".join(["c.is_live", *clauses]), params


def _snippet(text: str, length: int = 240) -> str:
    body = text.split("\n", 1)[1] if "\n" in text else text
    body = " ".join(body.split())
    return body if len(body) <= length else body[: length - 1].rstrip() + "…"


_EMPTY = "SELECT NULL::text AS chunk_id, NULL::text AS document_id, NULL::bigint AS rank WHERE false"


def _vector_half(conn: psycopg.Connection, model: tuple[str, int], join: str, where: str) -> str:
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


def _text_half(conn: psycopg.Connection, terms: list[QueryTerm], join: str, where: str, params: dict[str, Any]) -> str:
    stats = _term_stats(conn)
    # Estimated document frequency per term: a term needs all its lexemes, so at most the rarest one's count.
    estimates = [
        stats.rows * min(stats.frequencies.get(lex, stats.floor) for lex in term.lexemes) if stats else 0.0
        for term in terms
    ]
    order = sorted(range(len(terms)), key=lambda i: estimates[i])
    driver_rows = min(DRIVER_ROWS, TEXT_WORK // len(terms))
    drivers: list[int] = []
    budget = 0.0
    for i in order:
        if budget + estimates[i] > driver_rows:
            break
        drivers.append(i)
        budget += estimates[i]
    every = " & ".join(f"({t.tsquery})" for t in terms)
    candidates = [terms[i].tsquery for i in drivers]
    if len(drivers) < len(terms):
        candidates.append(every)
    params["cand_q"] = " | ".join(f"({q})" for q in candidates)
    params["any_q"] = " | ".join(f"({t.tsquery})" for t in terms)
    params["rows"] = stats.rows if stats else 0.0
    params["max_rows"] = min(MAX_TEXT_ROWS, 2 * TEXT_WORK // len(terms))
    matched, weighted = [], []
    for i, term in enumerate(terms):
        params[f"t{i}"] = term.tsquery
        matched.append(f"(tsv @@ to_tsquery('simple', %(t{i})s))::int AS m{i}")
        if i in drivers:
            # Every chunk holding a driver term is a candidate, so its frequency is counted exactly.
            weighted.append(f"m{i} * ln(1 + greatest(%(rows)s, count(*) OVER ()) / greatest(sum(m{i}) OVER (), 1))")
        else:
            weighted.append(f"m{i} * {math.log1p(stats.rows / max(estimates[i], 1.0)) if stats else 1.0:.6f}")
    return f"""
        SELECT chunk_id, document_id, row_number() OVER (ORDER BY score DESC, chunk_id) AS rank FROM (
            SELECT chunk_id, document_id, {" + ".join(weighted)} + tie AS score
            FROM (
                SELECT chunk_id, document_id, {", ".join(matched)},
                       ts_rank(tsv, to_tsquery('simple', %(any_q)s), 32) AS tie
                FROM (
                    -- Large tsvectors live in the TOAST table, and every function reading one fetches it again:
                    -- concatenating an empty tsvector materializes it once for the term tests and the rank.
                    SELECT c.chunk_id, c.document_id, c.tsv || ''::tsvector AS tsv
                    FROM chunks c{join}
                    WHERE {where} AND c.tsv @@ to_tsquery('simple', %(cand_q)s)
                    LIMIT %(max_rows)s) d) m
            ORDER BY score DESC, chunk_id LIMIT %(candidates)s) t"""


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
) -> list[SearchResult]:
    """Search live chunks, returning the top ``k`` by reciprocal rank fusion.

    Args:
        conn: pipeline database connection.
        query: the user's words.
        provider: embeds the query; must be the provider of the active model (vector half skipped when None or
            when no model is active yet).
        k: results wanted.
        filters: space, label and subtree predicates.
        candidates: how many chunks each half contributes before fusion; default ``max(20, 2 * k)``. More did not
            find better pages in the relevance evaluation, and each one costs the vector half index work.
        mode: ``hybrid`` (both halves, fused), ``vector`` (similarity only) or ``text`` (full-text only).
        collapse_pages: one result per page (its best chunk); False returns chunks, several per page possible.

    Returns:
        Results, best first.

    Raises:
        ValueError: an unknown mode, or a malformed ``SEARCH_RRF_K`` / ``VECTOR_EF_SEARCH``.
    """
    if mode not in MODES:
        raise ValueError(f"search mode must be one of {', '.join(MODES)}, not {mode!r}")
    filters = filters or SearchFilters()
    join, where, params = _filters_sql(filters)
    candidates = candidates or max(MIN_CANDIDATES, 2 * k)
    params.update({"candidates": candidates, "k": k, "rrf": _rrf_k()})
    # A candidate list shorter than the LIMIT makes the scan return what it found and then iterate for the rest;
    # the list is therefore at least as long as the candidates asked for.
    ef_search = max(HnswSettings.from_env().ef_search, candidates)
    model = active_model(conn)
    vec = _EMPTY
    if mode != "text" and provider is not None and model is not None and provider.model == model[0]:
        params["qvec"] = provider.embed([query])[0]
        vec = _vector_half(conn, model, join, where)
    terms = query_terms(query) if mode != "vector" else []
    txt = _text_half(conn, terms, join, where, params) if terms else _EMPTY
    fused = """
        fused AS (
            SELECT COALESCE(vec.chunk_id, txt.chunk_id) AS chunk_id, COALESCE(vec.document_id, txt.document_id) AS doc,
                   vec.rank AS vrank, txt.rank AS trank,
                   COALESCE(1.0 / (%(rrf)s + vec.rank), 0) + COALESCE(1.0 / (%(rrf)s + txt.rank), 0) AS score
            FROM vec FULL OUTER JOIN txt ON vec.chunk_id = txt.chunk_id)"""
    if collapse_pages:
        ranked = (
            fused
            + """,
        vpage AS (SELECT document_id, row_number() OVER (ORDER BY min(rank), document_id) AS rank
                  FROM vec GROUP BY document_id),
        tpage AS (SELECT document_id, row_number() OVER (ORDER BY min(rank), document_id) AS rank
                  FROM txt GROUP BY document_id),
        best AS (SELECT DISTINCT ON (doc) doc, chunk_id FROM fused ORDER BY doc, score DESC, chunk_id),
        ranked AS (
            SELECT b.chunk_id, vp.rank AS vrank, tp.rank AS trank,
                   COALESCE(1.0 / (%(rrf)s + vp.rank), 0) + COALESCE(1.0 / (%(rrf)s + tp.rank), 0) AS score
            FROM vpage vp FULL OUTER JOIN tpage tp ON vp.document_id = tp.document_id
            JOIN best b ON b.doc = COALESCE(vp.document_id, tp.document_id))"""
        )
    else:
        ranked = fused + ", ranked AS (SELECT chunk_id, vrank, trank, score FROM fused)"
    statement = f"""
        WITH vec AS MATERIALIZED ({vec}), txt AS MATERIALIZED ({txt}), {ranked}
        SELECT p.page_id, p.title, c.section_title, p.space_key, p.web_url, c.text, f.score, f.vrank, f.trank,
               greatest((SELECT count(*) FROM vec), (SELECT count(*) FROM txt)) AS most
        FROM ranked f JOIN chunks c ON c.chunk_id = f.chunk_id JOIN pages p ON p.page_id = c.document_id
        WHERE p.status = 'current'
        ORDER BY f.score DESC, c.chunk_id LIMIT %(k)s"""
    with conn.transaction():
        # SET takes no parameters; set_config(…, is_local => true) is SET LOCAL with one.
        conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(ef_search),))
        conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        rows = conn.execute(statement, params).fetchall()
        # Candidates are chunks; when they all come from a few pages (a page with many matching sections), the
        # page list is shorter than k although more pages would match: ask the halves for more chunks (only when a
        # half was cut at the limit; otherwise there is nothing more to find).
        while (
            collapse_pages
            and 0 < len(rows) < k
            and rows[0][9] >= params["candidates"]
            and params["candidates"] < MAX_CANDIDATES
        ):
            params["candidates"] = min(MAX_CANDIDATES, params["candidates"] * 4)
            conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(max(ef_search, params["candidates"])),))
            rows = conn.execute(statement, params).fetchall()
    return [
        SearchResult(
            page_id=row[0], title=row[1], section=row[2], space_key=row[3], url=row[4], snippet=_snippet(row[5]),
            score=round(float(row[6]), 6), vector_rank=row[7], text_rank=row[8],
        )
        for row in rows
    ]  # fmt: skip
