"""The REST API's content endpoints: list, read, create and update pages, their children, labels and history."""

from __future__ import annotations

from typing import Any

from confluence_sandbox.corpus import Page
from confluence_sandbox.render import parse_expand
from confluence_sandbox.server.base import ApiError, _Query
from confluence_sandbox.server.rest import RestApi


class ContentApi(RestApi):
    """``content``, ``content/{id}`` (GET, POST, PUT), ``…/child``, ``…/child/page``, ``…/label``, ``…/history``."""

    def h_content_list(self, q: _Query, _body: bytes) -> dict:
        """``GET /rest/api/content``: pages by space and/or title, paged."""
        corpus = self.sandbox.corpus
        tree = parse_expand(q.expand())
        start = q.integer("start", 0)
        limit = self._limit(q, 25, self._cap(tree))
        statuses = self._statuses(q, {"current"})
        space_key, title, ctype = q.get("spaceKey"), q.get("title"), q.get("type") or "page"
        if ctype != "page":
            pages: list[Page] = []
        elif title is not None:
            candidates = (
                [corpus.page_by_title(space_key, title)]
                if space_key
                else [p for p in corpus.pages() if p.title.casefold() == title.casefold()]
            )
            pages = [p for p in candidates if p is not None and p.status in statuses]
        elif space_key and space_key not in corpus.spaces:
            pages = []
        else:
            pages = corpus.pages(space_key=space_key, statuses=statuses)
        results = [self.r.content(p, tree) for p in pages[start : start + limit]]
        pairs: list[tuple[str, Any]] = [
            ("spaceKey", space_key),
            ("title", title),
            ("type", q.get("type")),
            ("status", q.get("status")),
            ("expand", q.expand()),
        ]
        return self._paged(results, path="/rest/api/content", start=start, limit=limit, extra_pairs=pairs, marker=True)

    def h_content(self, q: _Query, _body: bytes, id: str) -> dict:
        """``GET /rest/api/content/{id}``: one page; a ``version`` other than the current one answers 404."""
        page = self._page(id, self._statuses(q, {"current", "archived"}))
        version = q.get("version")
        if version is not None and version != str(page.version):
            raise ApiError(404, f"No content found with id : ContentId{{id={id}}} at version {version}")
        return self.r.content(page, parse_expand(q.expand()), top_level=True)

    def h_content_create(self, q: _Query, raw: bytes) -> dict:
        """``POST /rest/api/content``: create a page."""
        data = self._json_body(raw)
        if not data.get("type"):
            raise ApiError(400, "type is required")
        if data["type"] != "page":
            raise ApiError(400, "The sandbox creates pages only")
        space_key = (data.get("space") or {}).get("key")
        if not space_key or not data.get("title"):
            raise ApiError(400, "A page needs a title and space.key")
        ancestors = data.get("ancestors") or []
        if not isinstance(ancestors, list) or any(not isinstance(a, dict) or not a.get("id") for a in ancestors):
            raise ApiError(400, "ancestors must be a list of objects with an id")
        parent_id = ancestors[-1].get("id") if ancestors else None
        if parent_id is not None and self.sandbox.corpus.page(parent_id) is None:
            raise ApiError(400, f"Could not find the parent page with id {parent_id}")
        storage = _storage_value(data)
        page = self.sandbox.corpus.create_page(
            space_key,
            data["title"],
            now_ms=self.sandbox.now_ms(),
            parent_id=parent_id,
            body=storage,
            author=self.sandbox.email if self.sandbox.flavor == "cloud" else "sandbox",
        )
        return self.r.content(page, parse_expand("body.storage,version,space,history,ancestors"), top_level=True)

    def h_content_update(self, q: _Query, raw: bytes, id: str) -> dict:
        """``PUT /rest/api/content/{id}``: a page's next version, and a move when its parent changes."""
        page = self._page(id, {"current", "archived"})
        data = self._json_body(raw)
        number = (data.get("version") or {}).get("number")
        if not isinstance(number, int) or isinstance(number, bool):
            raise ApiError(400, "version.number is required and must be an integer")
        title = data.get("title")
        if not title:
            raise ApiError(400, "title is required")
        if not data.get("type"):
            raise ApiError(400, "type is required")
        if data["type"] != "page":
            raise ApiError(400, f"Cannot change the type of content {page.id} from page to {data['type']}")
        if data.get("status", "current") not in ("current", "archived"):
            raise ApiError(400, f"Unsupported status for an update: {data.get('status')}")
        storage = _storage_value(data)
        corpus = self.sandbox.corpus
        now = self.sandbox.now_ms()
        ancestors = data.get("ancestors") or []
        with corpus.lock:
            corpus.edit_page(
                page.id,
                now_ms=now,
                title=title,
                body=storage,
                message=(data.get("version") or {}).get("message", ""),
                minor_edit=bool((data.get("version") or {}).get("minorEdit", False)),
                author=self.sandbox.email if self.sandbox.flavor == "cloud" else "sandbox",
                expected_version=number,
            )
            if ancestors and str(ancestors[-1].get("id")) != str(page.parent_id):
                corpus.move_page(page.id, now_ms=now, parent_id=ancestors[-1].get("id"))
        return self.r.content(page, parse_expand("body.storage,version,space,history,ancestors"), top_level=True)

    def h_child(self, q: _Query, _body: bytes, id: str) -> dict:
        """``GET /rest/api/content/{id}/child``: a page's children by type."""
        page = self._page(id, {"current", "archived"})
        tree = parse_expand(q.expand())
        out = self.r.children(page, tree)
        out["_links"].update({"base": self.r.base, "context": self.r.context})
        return out

    def h_child_pages(self, q: _Query, _body: bytes, id: str) -> dict:
        """``GET /rest/api/content/{id}/child/page``: a page's child pages, paged."""
        page = self._page(id, {"current", "archived"})
        tree = parse_expand(q.expand())
        start = q.integer("start", 0)
        limit = self._limit(q, 25, self._cap(tree))
        kids = self.sandbox.corpus.children(page.id)
        results = [self.r.content(k, tree) for k in kids[start : start + limit]]
        return self._paged(
            results,
            path=f"/rest/api/content/{page.id}/child/page",
            start=start,
            limit=limit,
            extra_pairs=[("expand", q.expand())],
        )

    def h_labels(self, q: _Query, _body: bytes, id: str) -> dict:
        """``GET /rest/api/content/{id}/label``: a page's labels (the global prefix has them all)."""
        page = self._page(id, {"current", "archived"})
        prefix = q.get("prefix")
        if prefix not in (None, "", "global"):
            return self.r.collection([], start=0, limit=200, self_path=f"/rest/api/content/{page.id}/label")
        start, limit = q.integer("start", 0), self._limit(q, 200, 200)
        return self.r.labels(page, start, limit, top_level=True)

    def h_history(self, q: _Query, _body: bytes, id: str) -> dict:
        """``GET /rest/api/content/{id}/history``: a page's history, ``lastUpdated`` included."""
        page = self._page(id, {"current", "archived"})
        # The history endpoint includes lastUpdated by default (clients read the next version number from it).
        tree = parse_expand(q.expand())
        tree.setdefault("lastUpdated", {})
        return self.r.history(page, tree, top_level=True)


def _storage_value(data: dict[str, Any]) -> str | None:
    """The ``body.storage.value`` of a write (the sandbox stores storage format only; others are refused)."""
    body = data.get("body")
    if body is None or body == {}:
        return None
    storage = body.get("storage") if isinstance(body, dict) else None
    if not isinstance(storage, dict) or not isinstance(storage.get("value"), str):
        raise ApiError(400, "body.storage.value is required when a body is given (the sandbox speaks storage only)")
    if storage.get("representation") != "storage":
        raise ApiError(400, "body.storage.representation must be 'storage'")
    return storage["value"]
