"""A small space written through the store the way the sync writes it, then run through the real stages.

Shared by the store tests: pages go in with ``upsert_pages`` (versions move like Confluence's), and :meth:`Wiki.run`
runs Markdown, chunks and local embeddings on the embedded PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from confluence_pipeline.confluence.models import PageRecord, content_hash
from confluence_pipeline.embed.local import LocalEmbedder
from confluence_pipeline.stages import StageSettings, chunk_space, convert_space, embed_space
from confluence_pipeline.store import pages as store

SETTINGS = StageSettings(workers=1, site_url="https://wiki.example.com")
PROVIDER = LocalEmbedder(dimensions=64, log_selection=False)
T0 = datetime(2024, 1, 1, tzinfo=UTC)


class Wiki:
    """A small space written through the store, with versions that move like Confluence's."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.pages: dict[str, PageRecord] = {}
        conn.execute(
            "INSERT INTO spaces (space_key, name, space_type, status, homepage_id) "
            "VALUES ('ENG', 'Engineering', 'global', 'current', '1')"
        )

    def put(
        self,
        page_id: str,
        title: str,
        body: str,
        parent: str | None = None,
        status: str = "current",
        labels: tuple[str, ...] = (),
        attachments: tuple[str, ...] = (),
    ) -> None:
        old = self.pages.get(page_id)
        version = old.version_number + 1 if old else 1
        ancestors = self._ancestors(parent)
        record = PageRecord(
            page_id=page_id, space_key="ENG", title=title, status=status, version_number=version,
            version_at=T0 + timedelta(minutes=version), version_author=None, created_by=None, created_at=T0,
            parent_id=parent, ancestors=ancestors, path="/" + "".join(f"{a['id']}/" for a in ancestors) + f"{page_id}/",
            labels=sorted(labels), web_url=None, jira_keys=[], mentions=[], body_storage=body,
            attachments=[
                {"id": f"att{page_id}-{n}", "title": name, "media_type": "image/png", "size": 1,
                 "download_url": f"https://files.example.com/{page_id}/{name}"}
                for n, name in enumerate(attachments)
            ],
        )  # fmt: skip
        record.content_hash = content_hash(title, body, record.attachments)
        self.pages[page_id] = record
        with self.conn.transaction():
            store.upsert_pages(self.conn, [record])

    def _ancestors(self, parent: str | None) -> list[dict[str, str]]:
        chain: list[dict[str, str]] = []
        while parent:
            record = self.pages[parent]
            chain.insert(0, {"id": parent, "title": record.title})
            parent = record.parent_id
        return chain

    def trash(self, page_id: str) -> None:
        with self.conn.transaction():
            store.mark_pages_gone(self.conn, [page_id], "trashed")

    def run(self) -> tuple[int, int]:
        """Markdown, chunks and embeddings; returns (pages converted, pages chunked)."""
        converted = convert_space(self.conn, "ENG", SETTINGS).processed
        chunked = chunk_space(self.conn, "ENG", SETTINGS).processed
        embed_space(self.conn, "ENG", [PROVIDER], SETTINGS)
        return converted, chunked

    def markdown(self, page_id: str) -> str:
        return self.conn.execute("SELECT markdown FROM page_markdown WHERE page_id = %s", (page_id,)).fetchone()[0]

    def warnings(self, page_id: str) -> list[str]:
        return self.conn.execute("SELECT warnings FROM page_markdown WHERE page_id = %s", (page_id,)).fetchone()[0]

    def live_text(self, page_id: str) -> str:
        rows = self.conn.execute(
            "SELECT text FROM chunks WHERE document_id = %s AND is_live ORDER BY chunk_index", (page_id,)
        ).fetchall()
        return "\n".join(row[0] for row in rows)
