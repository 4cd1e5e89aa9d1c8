"""Per-space counts for ``confluence-pipeline status`` and the demo report."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import psycopg


@dataclass(frozen=True)
class SpaceStatus:
    """What is stored for one space."""

    space_key: str
    name: str
    status: str
    pages: int
    pages_with_markdown: int
    chunks: int
    chunks_with_embeddings: int
    failed_pages: int
    watermark: str | None
    last_sync_at: str | None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict, for JSON output."""
        return asdict(self)


def space_status(conn: psycopg.Connection, space_key: str | None = None) -> list[SpaceStatus]:
    """Counts per space: current pages, those with up-to-date Markdown, live chunks, embedded live chunks.

    ``chunks_with_embeddings`` counts live chunks that have a vector for the active model.
    """
    rows = conn.execute(
        """
        WITH model AS (SELECT model FROM embedding_models WHERE state = 'active'),
        pg AS (
            SELECT p.space_key, count(*) AS pages,
                   count(m.page_id) FILTER (WHERE m.source_hash = p.content_hash) AS with_md
            FROM pages p LEFT JOIN page_markdown m ON m.page_id = p.page_id
            WHERE p.status = 'current' GROUP BY p.space_key),
        ch AS (
            SELECT p.space_key, count(*) AS chunks,
                   count(*) FILTER (WHERE EXISTS (SELECT 1 FROM embeddings e JOIN model USING (model)
                                                  WHERE e.content_hash = c.content_hash)) AS embedded
            FROM chunks c JOIN pages p ON p.page_id = c.document_id
            WHERE c.is_live AND p.status = 'current' GROUP BY p.space_key),
        fl AS (SELECT space_key, count(*) AS failed FROM sync_failures GROUP BY space_key)
        SELECT s.space_key, s.name, s.status, COALESCE(pg.pages, 0), COALESCE(pg.with_md, 0), COALESCE(ch.chunks, 0),
               COALESCE(ch.embedded, 0), COALESCE(fl.failed, 0), s.watermark, s.last_sync_at
        FROM spaces s LEFT JOIN pg USING (space_key) LEFT JOIN ch USING (space_key) LEFT JOIN fl USING (space_key)
        WHERE %(space)s::text IS NULL OR s.space_key = %(space)s
        ORDER BY s.space_key""",
        {"space": space_key},
    ).fetchall()
    return [
        SpaceStatus(
            space_key=r[0], name=r[1], status=r[2], pages=r[3], pages_with_markdown=r[4], chunks=r[5],
            chunks_with_embeddings=r[6], failed_pages=r[7], watermark=r[8].isoformat() if r[8] else None,
            last_sync_at=r[9].isoformat() if r[9] else None,
        )
        for r in rows
    ]  # fmt: skip
