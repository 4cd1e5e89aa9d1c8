"""The REST API's CQL search endpoints (``content/search`` and ``search``) and their opaque cursors."""

from __future__ import annotations

import base64
import binascii
import time
import zlib
from typing import Any

from confluence_sandbox.render import parse_expand
from confluence_sandbox.server.base import ApiError, _Query
from confluence_sandbox.server.rest import RestApi


class SearchApi(RestApi):
    """``GET /rest/api/content/search`` and ``GET /rest/api/search``."""

    def _visible(self, ids: list[int]) -> list[int]:
        """Drop what search cannot return: pages of hidden spaces and pages the index lost (faults)."""
        faults = self.sandbox.faults_state
        settings = faults.settings
        if not settings.hidden_spaces and not settings.unindexed_page_ids:
            return ids
        corpus = self.sandbox.corpus
        return [
            i
            for i in ids
            if i not in settings.unindexed_page_ids
            and (p := corpus.page(i)) is not None
            and not faults.hidden(p.space_key)
        ]

    def _search(self, q: _Query, wrapped: bool) -> dict:
        started = time.perf_counter()
        cql = q.get("cql")
        if not cql:
            raise ApiError(400, "The CQL query parameter (cql) is required")
        tree = parse_expand(q.expand(), prefix="content" if wrapped else None)
        limit = self._limit(q, 25, self._cap(tree))
        cursor = q.get("cursor")
        cloud = self.sandbox.flavor == "cloud"
        start = decode_cursor(cursor, cql) if cursor and cloud else q.integer("start", 0)
        include_archived = q.flag("includeArchivedSpaces") if wrapped else True
        ids = self._visible(self.sandbox.search_ids(cql, include_archived_spaces=include_archived))
        corpus = self.sandbox.corpus
        chosen = [p for p in (corpus.page(i) for i in ids[start : start + limit]) if p is not None]
        if wrapped:
            excerpt = (q.get("excerpt") or "highlight") != "none"
            results = [self.r.search_result(p, tree, excerpt) for p in chosen]
        else:
            results = [self.r.content(p, tree) for p in chosen]
        path = "/rest/api/search" if wrapped else "/rest/api/content/search"
        carried: list[tuple[str, Any]] = [("expand", q.expand())]
        if wrapped:
            carried += [("includeArchivedSpaces", q.get("includeArchivedSpaces")), ("excerpt", q.get("excerpt"))]
        carried.append(("cqlcontext", q.get("cqlcontext")))
        full = limit > 0 and len(chosen) == limit
        end = self.sandbox.faults_state.settings.end_cursor_after
        if end is not None and start + len(chosen) >= end:
            full = False  # the end_cursor_after fault: the cursor stops although results remain
        next_path = prev_path = None
        if cloud:
            if full:
                pairs = [("next", "true"), ("cursor", encode_cursor(start + limit, cql)), *carried]
                next_path = self._link(path, [*pairs, ("limit", limit), ("start", start + limit), ("cql", cql)])
            if start > 0:
                pairs = [("prev", "true"), ("cursor", encode_cursor(max(0, start - limit), cql)), *carried]
                prev_path = self._link(path, [*pairs, ("limit", limit), ("start", max(0, start - limit)), ("cql", cql)])
        elif full:
            next_path = self._link(path, [("cql", cql), *carried, ("limit", limit), ("start", start + limit)])
        self_path = self._link(path, [("cql", cql), *carried, ("limit", limit), ("start", start)])
        extra: dict[str, Any] | None = None
        if wrapped:
            extra = {
                "totalSize": len(ids),
                "cqlQuery": cql,
                "searchDuration": int((time.perf_counter() - started) * 1000),
            }
        return self.r.collection(
            results,
            start=start,
            limit=limit,
            self_path=self_path,
            next_path=next_path,
            prev_path=prev_path,
            extra=extra,
        )

    def h_content_search(self, q: _Query, _body: bytes) -> dict:
        """``GET /rest/api/content/search``: CQL results as content objects."""
        return self._search(q, wrapped=False)

    def h_search(self, q: _Query, _body: bytes) -> dict:
        """``GET /rest/api/search``: CQL results wrapped as search results."""
        return self._search(q, wrapped=True)


def _fingerprint(text: str) -> int:
    return zlib.crc32(text.encode("utf-8")) & 0xFFFF


def encode_cursor(offset: int, cql: str) -> str:
    """Return an opaque cursor for an offset into a query's results."""
    raw = f"{offset}:{_fingerprint(cql):04x}".encode()
    return "_sa_" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, cql: str) -> int:
    """Read an offset back from a cursor made by :func:`encode_cursor` for the same query."""
    try:
        raw = cursor.removeprefix("_sa_")
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        offset_text, fp = text.split(":")
        offset = int(offset_text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, f"Invalid cursor: {cursor}") from None
    if int(fp, 16) != _fingerprint(cql) or offset < 0:
        raise ApiError(400, "The cursor does not belong to this query")
    return offset
