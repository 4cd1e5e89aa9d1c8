"""Reciprocal rank fusion of the two halves, and the collapse of chunk results into page results.

Results are pages by default: each half's chunk list becomes a page list (a page ranks by its best chunk), the two
page lists are fused, and each page shows its best chunk. Without the collapse, chunks are fused and one page may
return several chunks (context for retrieval-augmented generation).
"""

from __future__ import annotations

# Reciprocal rank fusion constant (score = Σ 1 / (RRF_K + rank)). The usual 60 comes from fusing many long TREC runs;
# with two short page lists it lets a page ranked mediocre in both halves beat one ranked first in one half. On the
# sandbox's generated query candidates (about 3,200 queries over two other corpus seeds than the relevance test's),
# with the local embedder, hit@5 went 0.88 → 0.91 → 0.94 and MRR 0.81 → 0.83 → 0.85 for k = 60 → 10 → 5; smaller
# k gained little more and leans on one half alone. Override with SEARCH_RRF_K (a semantic embedder agrees less
# often with full-text by accident, so agreement means more there: a larger k may suit it).
RRF_K = 5

# Scores are sums of 1 / (k + rank), in numeric: 20 significant digits, so two equal sums may differ in the last
# digit (1/6 against 1/12 + 1/12). Rounded to 12 decimals they compare equal, and the tie rule of fused_statement
# decides. Unequal sums differ by at least 1 / (d1·d2·d3·d4), d = k + rank: more than 1e-11 at k = 5 and ranks up to
# 400 (the most candidates a half returns), so rounding keeps them apart.
_SCORE = "round(COALESCE(1.0 / (%(rrf)s + {v}), 0) + COALESCE(1.0 / (%(rrf)s + {t}), 0), 12)"

_FUSED = f"""
        fused AS (
            SELECT COALESCE(vec.chunk_id, txt.chunk_id) AS chunk_id, COALESCE(vec.document_id, txt.document_id) AS doc,
                   vec.rank AS vrank, txt.rank AS trank, {_SCORE.format(v="vec.rank", t="txt.rank")} AS score
            FROM vec FULL OUTER JOIN txt ON vec.chunk_id = txt.chunk_id)"""

_PAGES = f""",
        vpage AS (SELECT document_id, row_number() OVER (ORDER BY min(rank), document_id) AS rank
                  FROM vec GROUP BY document_id),
        tpage AS (SELECT document_id, row_number() OVER (ORDER BY min(rank), document_id) AS rank
                  FROM txt GROUP BY document_id),
        best AS (SELECT DISTINCT ON (doc) doc, chunk_id FROM fused ORDER BY doc, score DESC, chunk_id),
        ranked AS (
            SELECT b.chunk_id, vp.rank AS vrank, tp.rank AS trank, {_SCORE.format(v="vp.rank", t="tp.rank")} AS score
            FROM vpage vp FULL OUTER JOIN tpage tp ON vp.document_id = tp.document_id
            JOIN best b ON b.doc = COALESCE(vp.document_id, tp.document_id))"""

_CHUNKS = ", ranked AS (SELECT chunk_id, vrank, trank, score FROM fused)"


def fused_statement(vec: str, txt: str, *, collapse_pages: bool) -> str:
    """The whole search statement: both halves, fused, the top ``%(k)s`` with their page and chunk.

    Args:
        vec: the vector half (``SELECT chunk_id, document_id, rank``), or an empty one.
        txt: the text half, same shape.
        collapse_pages: fuse page lists (one result per page) rather than chunk lists.

    Returns:
        SQL taking ``%(rrf)s`` (the fusion constant), ``%(k)s`` and the halves' parameters. Its rows: page id, title,
        section, space key, URL, chunk text, score, vector rank, text rank, and each half's row count (to tell
        whether a half was cut at its limit).
    """
    # Equal scores are common: first in one half and absent from the other. Then the one holding the query's words
    # goes first. An approximate (HNSW) vector half can miss the page that holds a rare word, and whatever it ranks
    # first instead is then only as near as the graph walk found, while the text half's first holds the word.
    ranked = _FUSED + (_PAGES if collapse_pages else _CHUNKS)
    return f"""
        WITH vec AS MATERIALIZED ({vec}), txt AS MATERIALIZED ({txt}), {ranked}
        SELECT p.page_id, p.title, c.section_title, p.space_key, p.web_url, c.text, f.score, f.vrank, f.trank,
               (SELECT count(*) FROM vec) AS vec_rows, (SELECT count(*) FROM txt) AS txt_rows
        FROM ranked f JOIN chunks c ON c.chunk_id = f.chunk_id JOIN pages p ON p.page_id = c.document_id
        WHERE p.status = 'current'
        ORDER BY f.score DESC, f.trank IS NULL, c.chunk_id LIMIT %(k)s"""
