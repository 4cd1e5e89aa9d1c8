"""The REST API's attachment endpoints: a page's attachment list and the download of a file."""

from __future__ import annotations

from random import Random

from confluence_sandbox.render import parse_expand
from confluence_sandbox.server.base import ApiError, _Query
from confluence_sandbox.server.rest import RestApi


class AttachmentApi(RestApi):
    """``GET /rest/api/content/{id}/child/attachment`` and ``GET /download/attachments/{id}/{name}``."""

    def h_child_attachments(self, q: _Query, _body: bytes, id: str) -> dict:
        """``GET /rest/api/content/{id}/child/attachment``: a page's attachments, paged."""
        page = self._page(id, {"current", "archived"})
        tree = parse_expand(q.expand())
        start = q.integer("start", 0)
        limit = self._limit(q, 50, 200 if self.sandbox.flavor == "dc" else 250)
        filename, media_type = q.get("filename"), q.get("mediaType")
        atts = [
            a
            for a in self.sandbox.corpus.attachments(page)
            if (not filename or a.title == filename) and (not media_type or a.media_type == media_type)
        ]
        results = [self.r.attachment(a, page, tree) for a in atts[start : start + limit]]
        return self._paged(
            results,
            path=f"/rest/api/content/{page.id}/child/attachment",
            start=start,
            limit=limit,
            extra_pairs=[("filename", filename), ("mediaType", media_type), ("expand", q.expand())],
        )

    def h_download(self, q: _Query, _body: bytes, id: str, name: str) -> tuple[int, bytes, str]:
        """``GET /download/attachments/{id}/{name}``: an attachment's bytes (deterministic filler)."""
        page = self._page(id, {"current", "archived"})
        for att in self.sandbox.corpus.attachments(page):
            if att.title == name:
                return 200, _fake_file(att.id, att.media_type, att.file_size), att.media_type
        raise ApiError(404, f"No attachment {name!r} on page {id}")


_MAGIC = {
    "image/png": b"\x89PNG\r\n\x1a\n",
    "application/pdf": b"%PDF-1.7\n",
    "application/json": b"{}",
    "text/csv": b"id,value\n",
}


def _fake_file(att_id: str, media_type: str, size: int) -> bytes:
    head = _MAGIC.get(media_type, b"")
    filler = Random(att_id).randbytes(min(size, 64 * 1024))
    body = bytearray(head)
    while len(body) < size:
        body.extend(filler[: size - len(body)])
    return bytes(body[:size])
