"""The full-text half of hybrid search: chunks ranked by the rare query terms they hold.

A chunk scores the sum, over the query terms it contains, of the term's inverse document frequency
(``ln(1 + N / df)``), plus ``ts_rank`` as a tie-break. So a chunk holding the rare words of a query (a service name,
an error code) outranks one that repeats a common word many times, which plain ``ts_rank`` of an OR query would not
do. Terms come from :func:`~confluence_pipeline.store.fts.query_terms` (Korean and English), which shares its
tokenizer with the documents' tsvectors.

Ranking every chunk that contains *any* query word costs a heap fetch per chunk: at 100k chunks a query with a
common word ("runbook") touches thousands. The text half therefore reads, through the GIN index, the chunks that
contain one of the query's *selective* terms (those whose estimated document frequency, from the planner's
statistics of ``chunks.tsv``, stays within :data:`DRIVER_ROWS`) or *all* of its terms. A chunk outside that set
only contains common terms and misses at least one, so its score is below that of a chunk with every term; it can
only matter when few chunks match, and then the vector half still contributes.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import psycopg

from confluence_pipeline.store.fts import QueryTerm

# The text half reads at most about DRIVER_ROWS chunks containing one of the selective terms (by the planner's
# estimates), and at most MAX_TEXT_ROWS in all (an arbitrary subset when more match, e.g. a one-word query of a common
# word). Each chunk read costs a heap fetch (~2.5 µs here) and a containment test per query term (~0.7 µs), so both
# limits shrink for long queries to keep rows × terms within TEXT_WORK.
DRIVER_ROWS = 1_000
MAX_TEXT_ROWS = 2_000
TEXT_WORK = 6_000
# Planner statistics of chunks.tsv are re-read after this many seconds.
STATS_TTL_S = 300.0


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


def _tsv_read_once(conn: psycopg.Connection) -> str:
    """The expression reading a candidate's ``tsv`` once for its term tests and its rank (about six reads a row).

    A tsvector stored out of line (the TOAST table) or compressed is fetched or decompressed again by every function
    reading it; concatenating an empty tsvector materializes it once, but costs a copy (about 15% of the text half on
    rows that need none). Since migration 0011 chunk rows keep their tsvector inline and uncompressed, and only rows
    written before it (until they are rewritten) need the copy. PostgreSQL 17 tells the two apart
    (``pg_column_toast_chunk_id``); on older servers every row takes the copy.
    """
    if conn.info.server_version >= 170000:
        return (
            "CASE WHEN pg_column_toast_chunk_id(c.tsv) IS NULL AND pg_column_compression(c.tsv) IS NULL "
            "THEN c.tsv ELSE c.tsv || ''::tsvector END"
        )
    return "c.tsv || ''::tsvector"


def text_half(
    conn: psycopg.Connection, terms: list[QueryTerm], where: str, params: dict[str, Any], *, per_page: bool = False
) -> str:
    """The SQL ranking up to ``%(candidates)s`` live chunks by the inverse document frequency of the terms they hold.

    Args:
        conn: connection (for the planner statistics of ``chunks.tsv``).
        terms: the query's terms (:func:`~confluence_pipeline.store.fts.query_terms`), at least one.
        where: predicate over ``c`` (chunks) from :func:`~confluence_pipeline.search.filters.filters_sql`.
        params: the statement's parameters; this half adds its own (``cand_q``, ``any_q``, ``t0`` …).
        per_page: rank each page's best chunk only (page results).

    Returns:
        A ``SELECT chunk_id, document_id, rank`` statement, rank 1 the best.
    """
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
            # A parameter rather than a literal: the statement's text then repeats from query to query (same number
            # of terms, same drivers), and psycopg prepares it, which spares the server parsing it again.
            params[f"w{i}"] = round(math.log1p(stats.rows / max(estimates[i], 1.0)), 6) if stats else 1.0
            weighted.append(f"m{i} * %(w{i})s::float8")
    # Per page, only the page's best chunk: page results rank a page by its best chunk anyway, and the candidates
    # then span as many pages as they can (twenty chunks of one page would fill the list and send search back for
    # more). The frequencies (window functions) are still counted over every chunk read.
    best = ("DISTINCT ON (document_id) ", "ORDER BY document_id, score DESC, chunk_id") if per_page else ("", "")
    return f"""
        SELECT chunk_id, document_id, row_number() OVER (ORDER BY score DESC, chunk_id) AS rank FROM (
            SELECT {best[0]}chunk_id, document_id, {" + ".join(weighted)} + tie AS score
            FROM (
                SELECT chunk_id, document_id, {", ".join(matched)},
                       ts_rank(tsv, to_tsquery('simple', %(any_q)s), 32) AS tie
                FROM (
                    SELECT c.chunk_id, c.document_id, {_tsv_read_once(conn)} AS tsv
                    FROM chunks c
                    WHERE {where} AND c.tsv @@ to_tsquery('simple', %(cand_q)s)
                    LIMIT %(max_rows)s) d) m
            {best[1]}) b
        ORDER BY score DESC, chunk_id LIMIT %(candidates)s"""
