"""Per-space counts for ``confluence-pipeline status`` and the demo report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import psycopg


@dataclass(frozen=True)
class SpaceStatus:
    """What is stored for one space.

    ``last_sync_at`` is the last sync that changed something; ``last_check_at`` the last time the pipeline confirmed
    the space against Confluence (a change-sensor probe or a finished sync run), which moves on a quiet space too.
    """

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
    last_check_at: str | None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict, for JSON output."""
        return asdict(self)


def space_status(
    conn: psycopg.Connection, space_key: str | None = None, *, last_runs: Mapping[str, datetime] | None = None
) -> list[SpaceStatus]:
    """Counts per space: current pages, those with up-to-date Markdown, live chunks, embedded live chunks.

    ``chunks_with_embeddings`` counts live chunks that have a vector for the active model.

    Args:
        conn: a connection to the pipeline database.
        space_key: only this space (default: every space).
        last_runs: when each space's last successful sync run ended, from the Dagster instance. An idle run writes
            nothing to this database, so only the instance knows it; it counts as a check.
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
               COALESCE(ch.embedded, 0), COALESCE(fl.failed, 0), s.watermark, s.last_sync_at, k.checked_at
        FROM spaces s LEFT JOIN pg USING (space_key) LEFT JOIN ch USING (space_key) LEFT JOIN fl USING (space_key)
             LEFT JOIN space_checks k USING (space_key)
        WHERE %(space)s::text IS NULL OR s.space_key = %(space)s
        ORDER BY s.space_key""",
        {"space": space_key},
    ).fetchall()
    runs = last_runs or {}
    return [
        SpaceStatus(
            space_key=r[0], name=r[1], status=r[2], pages=r[3], pages_with_markdown=r[4], chunks=r[5],
            chunks_with_embeddings=r[6], failed_pages=r[7], watermark=_iso(r[8]), last_sync_at=_iso(r[9]),
            last_check_at=_iso(_latest(r[10], runs.get(r[0]))),
        )
        for r in rows
    ]  # fmt: skip


def _latest(*moments: datetime | None) -> datetime | None:
    present = [moment for moment in moments if moment is not None]
    return max(present) if present else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
