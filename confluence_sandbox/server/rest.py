"""The REST API's route table, its request pipeline, and the helpers its resources share.

The pipeline: latency, authentication, rate limit, injected errors, then the endpoint (see the package docstring);
the helpers look pages up, read statuses and limits, and build paging links.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
import traceback
from typing import Any
from urllib.parse import quote, urlencode

from confluence_sandbox.corpus import STATUSES, CorpusError, Page
from confluence_sandbox.cql import CqlError
from confluence_sandbox.render import BodyFault, Renderer, expands_body
from confluence_sandbox.server.base import _JSON_TYPE, ApiError, BaseHandler, _json, _Query, error_body

_HTML_ERRORS = {
    502: "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
    503: "<html><head><title>503 Service Temporarily Unavailable</title></head>"
    "<body><h1>503 Service Temporarily Unavailable</h1></body></html>",
    504: "<html><head><title>504 Gateway Time-out</title></head><body><h1>504 Gateway Time-out</h1></body></html>",
}


Route = tuple[str, Any, str, str]  # method, compiled regex, endpoint label, handler name


def _routes() -> list[Route]:
    import re

    table = [
        ("GET", r"/rest/api/space", "GET /rest/api/space", "h_spaces"),
        ("GET", r"/rest/api/space/(?P<key>[^/]+)", "GET /rest/api/space/{key}", "h_space"),
        ("GET", r"/rest/api/content", "GET /rest/api/content", "h_content_list"),
        ("POST", r"/rest/api/content", "POST /rest/api/content", "h_content_create"),
        ("GET", r"/rest/api/content/search", "GET /rest/api/content/search", "h_content_search"),
        ("GET", r"/rest/api/search", "GET /rest/api/search", "h_search"),
        ("GET", r"/rest/api/content/(?P<id>[^/]+)", "GET /rest/api/content/{id}", "h_content"),
        ("PUT", r"/rest/api/content/(?P<id>[^/]+)", "PUT /rest/api/content/{id}", "h_content_update"),
        ("GET", r"/rest/api/content/(?P<id>[^/]+)/child", "GET /rest/api/content/{id}/child", "h_child"),
        (
            "GET",
            r"/rest/api/content/(?P<id>[^/]+)/child/page",
            "GET /rest/api/content/{id}/child/page",
            "h_child_pages",
        ),
        (
            "GET",
            r"/rest/api/content/(?P<id>[^/]+)/child/attachment",
            "GET /rest/api/content/{id}/child/attachment",
            "h_child_attachments",
        ),
        ("GET", r"/rest/api/content/(?P<id>[^/]+)/label", "GET /rest/api/content/{id}/label", "h_labels"),
        ("GET", r"/rest/api/content/(?P<id>[^/]+)/history", "GET /rest/api/content/{id}/history", "h_history"),
        ("GET", r"/rest/api/user", "GET /rest/api/user", "h_user"),
        ("GET", r"/rest/api/user/current", "GET /rest/api/user/current", "h_current_user"),
        ("GET", r"/rest/api/user/bulk", "GET /rest/api/user/bulk", "h_user_bulk"),
        (
            "GET",
            r"/download/attachments/(?P<id>\d+)/(?P<name>[^/]+)",
            "GET /download/attachments/{id}/{name}",
            "h_download",
        ),
    ]
    return [(m, re.compile(p.rstrip("/") + "/?$"), label, h) for m, p, label, h in table]


_ROUTES = _routes()


class RestApi(BaseHandler):
    """The REST API pipeline; the resource classes add its endpoints (the ``h_*`` methods the routes name)."""

    def _api(self, method: str, path: str, raw_query: str, raw_body: bytes) -> None:
        sandbox = self.server.sandbox
        endpoint, handler, params = f"{method} (unmatched)", None, {}
        method_mismatch = False
        for r_method, regex, label, name in _ROUTES:
            match = regex.match(path)
            if match:
                if r_method == method:
                    endpoint, handler, params = label, getattr(self, name), match.groupdict()
                    break
                method_mismatch = True
        settings = sandbox.faults_state.settings
        if settings.latency_ms > 0:
            time.sleep(settings.latency_ms / 1000)
        fault: str | None = None
        headers: list[tuple[str, str]] = []
        content_type = _JSON_TYPE
        try:
            if not self._authorized():
                raise ApiError(401, "Current user not permitted to use Confluence", self._auth_headers())
            throttle = sandbox.faults_state.throttle()
            if throttle is not None:
                fault = "rate_limited"
                raise ApiError(throttle.status, "Rate limit exceeded.", throttle.headers)
            injected = sandbox.faults_state.injected_error() or sandbox.faults_state.endpoint_failure(endpoint)
            if injected is not None:
                fault = "injected_error"
                raise ApiError(injected, "Internal server error (injected by the sandbox)")
            if handler is None:
                if method_mismatch:
                    raise ApiError(405, f"HTTP {method} is not supported by {path}")
                raise ApiError(404, f"null for uri: {sandbox.root_url}{self.path}")
            query = _Query(raw_query)
            # One consistent view of the corpus per response; serialisation happens outside the lock.
            with sandbox.corpus.lock:
                result = handler(query, raw_body, **params)
            if isinstance(result, tuple):
                status, body, content_type = result
            else:
                status, body = 200, _json(result)
            if method in ("PUT", "POST") and sandbox.faults_state.take_dropped_write():
                # The write is applied; the client never hears of it (a proxy timeout, a connection reset).
                sandbox.request_stats.record(endpoint, status, "response_dropped")
                self.close_connection = True
                return
        except ApiError as exc:
            status, headers = exc.status, exc.headers
            if status in _HTML_ERRORS and fault == "injected_error":
                body, content_type = _HTML_ERRORS[status].encode(), "text/html"
            else:
                body = _json(error_body(status, exc.message, authorized=status != 401))
        except CqlError as exc:
            status = 400
            cql = _Query(raw_query).get("cql") or ""
            payload = error_body(400, f"Could not parse cql : {cql} ({exc})")
            payload["data"]["errors"] = [{"message": {"key": "cql.parse.error", "args": [], "translation": str(exc)}}]
            body = _json(payload)
        except CorpusError as exc:
            status, body = exc.status, _json(error_body(exc.status, exc.message))
        except BodyFault as exc:
            fault = "page_body_failure"
            status = 500
            body = _json(error_body(500, f"java.lang.IllegalStateException: {exc}"))
        except Exception as exc:
            # A sandbox bug must still answer (and show up in stderr), not leave the client hanging.
            traceback.print_exc()
            status = 500
            body = _json(error_body(500, f"Sandbox error: {type(exc).__name__}: {exc}"))
        sandbox.request_stats.record(endpoint, status, fault)
        self._send(status, body, content_type, headers)

    def _authorized(self) -> bool:
        sandbox = self.server.sandbox
        header = self.headers.get("Authorization", "")
        scheme, _, credentials = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            return hmac.compare_digest(credentials.strip().encode(), sandbox.token.encode())
        if scheme == "basic":
            try:
                user, _, password = base64.b64decode(credentials.strip()).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            users_ok = user == sandbox.email or (sandbox.flavor == "dc" and user == "sandbox")
            return users_ok and hmac.compare_digest(password.encode(), sandbox.token.encode())
        return False

    def _auth_headers(self) -> list[tuple[str, str]]:
        sandbox = self.server.sandbox
        if sandbox.flavor == "cloud":
            return [("WWW-Authenticate", 'Basic realm="Confluence Cloud"')]
        return [
            ("WWW-Authenticate", f'OAuth realm="{quote(sandbox.root_url, safe="")}"'),
            ("X-Seraph-LoginReason", "AUTHENTICATED_FAILED"),
        ]

    @property
    def r(self) -> Renderer:
        """The sandbox's REST renderer."""
        return self.server.sandbox.renderer

    def _page(self, page_id: str, statuses: set[str] | None = None) -> Page:
        page = self.sandbox.corpus.page(page_id) if page_id.isdigit() else None
        if page is not None and self.sandbox.faults_state.hidden(page.space_key):
            page = None  # without permission to its space, Confluence answers as if the page did not exist
        if page is None or (statuses is not None and page.status not in statuses):
            raise ApiError(404, f"No content found with id : ContentId{{id={page_id}}}")
        return page

    def _statuses(self, q: _Query, default: set[str]) -> set[str]:
        wanted = {s.lower() for s in q.all("status")}
        if not wanted:
            return default
        if "any" in wanted:
            return set(STATUSES)
        unknown = wanted - {*STATUSES, "draft", "historical"}
        if unknown:
            raise ApiError(400, f"Invalid content status: {', '.join(sorted(unknown))}")
        return wanted

    def _cap(self, tree: dict[str, Any]) -> int:
        if expands_body(tree):
            return 50
        if self.sandbox.flavor == "dc":
            return 200 if tree else 1000
        return 250

    def _limit(self, q: _Query, default: int, cap: int) -> int:
        return min(q.integer("limit", default), cap)

    def _link(self, path: str, pairs: list[tuple[str, Any]]) -> str:
        kept = [(k, v) for k, v in pairs if v not in (None, "")]
        return f"{path}?{urlencode(kept, quote_via=quote, safe=',')}" if kept else path

    def _paged(
        self,
        results: list[dict],
        *,
        path: str,
        start: int,
        limit: int,
        extra_pairs: list[tuple[str, Any]],
        marker: bool = False,
    ) -> dict:
        full = limit > 0 and len(results) == limit
        cloud = self.sandbox.flavor == "cloud"
        prefix: list[tuple[str, Any]] = [("next", "true")] if cloud and marker else []
        next_path = (
            self._link(path, [*prefix, *extra_pairs, ("limit", limit), ("start", start + limit)]) if full else None
        )
        prev_path = None
        if cloud and start > 0:
            prev_pairs = [("prev", "true")] if marker else []
            prev_path = self._link(
                path, [*prev_pairs, *extra_pairs, ("limit", limit), ("start", max(0, start - limit))]
            )
        self_pairs = [*extra_pairs] + ([("limit", limit), ("start", start)] if start or limit != 25 else [])
        return self.r.collection(
            results,
            start=start,
            limit=limit,
            self_path=self._link(path, self_pairs),
            next_path=next_path,
            prev_path=prev_path,
        )
