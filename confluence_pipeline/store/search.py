"""Hybrid search: pgvector cosine similarity and full-text rank, fused with reciprocal rank fusion."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from confluence_pipeline.embed.base import EmbeddingProvider
from confluence_pipeline.store.documents import active_model
from confluence_pipeline.store.fts import fts_query

RRF_K = 60


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


def _filters_sql(filters: SearchFilters) -> tuple[str, dict[str, Any]]:
    clauses = ["c.is_live", "p.status = 'current'"]
    params: dict[str, Any] = {}
    if filters.space_key:
        clauses.append("p.space_key = %(space)s")
        params["space"] = filters.space_key
    if filters.label:
        clauses.append("p.labels @> ARRAY[%(label)s]::text[]")
        params["label"] = filters.label
    if filters.under_page_id:
        clauses.append("p.path LIKE %(path)s")
        params["path"] = f"%/{filters.under_page_id}/%"
    return " AND ".join(clauses), params


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
    candidates: int = 50,
) -> list[SearchResult]:
    """Search live chunks, returning the top ``k`` by reciprocal rank fusion.

    Args:
        conn: pipeline database connection.
        query: the user's words.
        provider: embeds the query; must be the provider of the active model (vector half skipped when None or
            when no model is active yet).
        k: results wanted.
        filters: space, label and subtree predicates.
        candidates: how many hits each half contributes before fusion.

    Returns:
        Results, best first.
    """
    filters = filters or SearchFilters()
    where, params = _filters_sql(filters)
    params.update({"candidates": candidates, "k": k, "rrf": RRF_K})
    parts: list[str] = []
    model = active_model(conn)
    if provider is not None and model is not None and provider.model == model[0]:
        dims = int(model[1])
        params["model"] = model[0]
        params["qvec"] = provider.embed([query])[0]
        parts.append(
            f"""vec AS (
                SELECT c.chunk_id, row_number() OVER (ORDER BY e.embedding::vector({dims}) <=> %(qvec)s::vector({dims}))
                       AS rank
                FROM chunks c JOIN embeddings e ON e.model = %(model)s AND e.content_hash = c.content_hash
                JOIN pages p ON p.page_id = c.document_id
                WHERE {where}
                ORDER BY e.embedding::vector({dims}) <=> %(qvec)s::vector({dims}) LIMIT %(candidates)s)"""
        )
    else:
        parts.append("vec AS (SELECT NULL::text AS chunk_id, NULL::bigint AS rank WHERE false)")
    tsquery = fts_query(query)
    if tsquery:
        params["tsq"] = tsquery
        parts.append(
            f"""txt AS (
                SELECT c.chunk_id, row_number() OVER (ORDER BY ts_rank_cd(c.tsv, q) DESC, c.chunk_id) AS rank
                FROM chunks c JOIN pages p ON p.page_id = c.document_id, to_tsquery('simple', %(tsq)s) q
                WHERE {where} AND c.tsv @@ q
                ORDER BY ts_rank_cd(c.tsv, q) DESC, c.chunk_id LIMIT %(candidates)s)"""
        )
    else:
        parts.append("txt AS (SELECT NULL::text AS chunk_id, NULL::bigint AS rank WHERE false)")
    sql = f"""
        WITH {", ".join(parts)},
        fused AS (
            SELECT COALESCE(vec.chunk_id, txt.chunk_id) AS chunk_id, vec.rank AS vrank, txt.rank AS trank,
                   COALESCE(1.0 / (%(rrf)s + vec.rank), 0) + COALESCE(1.0 / (%(rrf)s + txt.rank), 0) AS score
            FROM vec FULL OUTER JOIN txt ON vec.chunk_id = txt.chunk_id)
        SELECT p.page_id, p.title, c.section_title, p.space_key, p.web_url, c.text, f.score, f.vrank, f.trank
        FROM fused f JOIN chunks c ON c.chunk_id = f.chunk_id JOIN pages p ON p.page_id = c.document_id
        ORDER BY f.score DESC, c.chunk_id LIMIT %(k)s"""
    with conn.transaction():
        conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        rows = conn.execute(sql, params).fetchall()
    return [
        SearchResult(
            page_id=row[0], title=row[1], section=row[2], space_key=row[3], url=row[4], snippet=_snippet(row[5]),
            score=round(float(row[6]), 6), vector_rank=row[7], text_rank=row[8],
        )
        for row in rows
    ]  # fmt: skip
