"""The REST API's space endpoints: ``space`` and ``space/{key}``."""

from __future__ import annotations

from typing import Any

from confluence_sandbox.render import parse_expand
from confluence_sandbox.server.base import ApiError, _Query
from confluence_sandbox.server.rest import RestApi


class SpaceApi(RestApi):
    """``GET /rest/api/space`` and ``GET /rest/api/space/{key}``."""

    def h_spaces(self, q: _Query, _body: bytes) -> dict:
        """``GET /rest/api/space``: the spaces (filtered by type, status and key), paged."""
        corpus = self.sandbox.corpus
        start = q.integer("start", 0)
        limit = self._limit(q, 25, 500 if self.sandbox.flavor == "dc" else 250)
        kind, status = q.get("type"), q.get("status")
        keys = set(q.all("spaceKey"))
        spaces = [
            s
            for s in sorted(corpus.spaces.values(), key=lambda s: s.key.lstrip("~").casefold())
            if (not kind or s.type == kind)
            and (not status or s.status == status)
            and (not keys or s.key in keys)
            and not self.sandbox.faults_state.hidden(s.key)
        ]
        tree = parse_expand(q.expand())
        results = [self.r.space(s, tree) for s in spaces[start : start + limit]]
        pairs: list[tuple[str, Any]] = [("type", kind), ("status", status), ("expand", q.expand())]
        pairs.extend(("spaceKey", k) for k in sorted(keys))
        return self._paged(results, path="/rest/api/space", start=start, limit=limit, extra_pairs=pairs, marker=True)

    def h_space(self, q: _Query, _body: bytes, key: str) -> dict:
        """``GET /rest/api/space/{key}``: one space."""
        space = self.sandbox.corpus.spaces.get(key)
        if space is None or self.sandbox.faults_state.hidden(key):
            raise ApiError(404, f"No space with key : {key}")
        return self.r.space(space, parse_expand(q.expand()), top_level=True)
