"""A local Confluence (REST v1 subset) on the standard library's ``ThreadingHTTPServer``.

URL layout (``P`` is the port; ``CTX`` is ``/wiki`` on Cloud, empty or ``--context-path`` on Data Center):

- ``http://127.0.0.1:P/CTX/rest/api/...`` and, as well, ``http://127.0.0.1:P/rest/api/...``: the REST API
  (``space``, ``space/{key}``, ``content``, ``content/search``, ``search``, ``content/{id}``, ``content/{id}/child``,
  ``…/child/page``, ``…/child/attachment``, ``…/label``, ``…/history``, ``user``, ``user/current``; ``POST content``
  and ``PUT content/{id}`` for writers), plus ``/download/attachments/{id}/{name}``.
- ``http://127.0.0.1:P/_sandbox/...``: the admin API (no auth, loopback clients only, never faulted or counted).

Every REST request passes, in order: the ``latency_ms`` fault, authentication (Basic email + API token, or Bearer
personal access token; else 401), the rate limit (429 or, on Data Center, optionally 403), the ``error_rate`` fault
(random 5xx) and the ``fail_endpoint`` fault, then the endpoint, which answers 500 when it would include the body
of a page in ``fail_page_ids``, and 404 (or leaves out of search) what a ``hidden_spaces`` fault hides.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import json
import sys
import threading
import time
import traceback
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from random import Random
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit
from zoneinfo import ZoneInfo

from confluence_sandbox.corpus import (
    STATUSES,
    Corpus,
    CorpusError,
    Page,
    format_instant,
)
from confluence_sandbox.cql import (
    CqlError,
    EvalContext,
    compile_query,
    constrained_spaces,
    parse_cql,
    sort_pages,
)
from confluence_sandbox.faults import FaultInjector, FaultSettings, RequestStats, SandboxClock
from confluence_sandbox.http import LoopbackHTTPServer
from confluence_sandbox.render import BodyFault, Renderer, expands_body, parse_expand

DEFAULT_EMAIL = "sandbox@example.com"
DEFAULT_TOKEN = "sandbox-token"
ADMIN_EXPAND = "body.storage,version,history,space,ancestors,metadata.labels"
_JSON_TYPE = "application/json;charset=UTF-8"


class ApiError(Exception):
    """An error answered with a Confluence-style JSON body."""

    def __init__(self, status: int, message: str, headers: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers)


def error_body(status: int, message: str, *, authorized: bool = True) -> dict[str, Any]:
    """Return the JSON body Confluence sends with an error status."""
    return {
        "statusCode": status,
        "data": {
            "authorized": authorized,
            "valid": True,
            "allowedInReadOnlyMode": True,
            "errors": [],
            "successful": False,
        },
        "message": message,
        "reason": HTTPStatus(status).phrase,
    }


_HTML_ERRORS = {
    502: "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
    503: "<html><head><title>503 Service Temporarily Unavailable</title></head>"
    "<body><h1>503 Service Temporarily Unavailable</h1></body></html>",
    504: "<html><head><title>504 Gateway Time-out</title></head><body><h1>504 Gateway Time-out</h1></body></html>",
}


class _HTTPServer(LoopbackHTTPServer):
    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        super().__init__(address, _Handler)


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
        (
            "GET",
            r"/download/attachments/(?P<id>\d+)/(?P<name>[^/]+)",
            "GET /download/attachments/{id}/{name}",
            "h_download",
        ),
    ]
    return [(m, re.compile(p.rstrip("/") + "/?$"), label, h) for m, p, label, h in table]


_ROUTES = _routes()


class _Query:
    """Query parameters (``parse_qs`` output) with Confluence-style accessors."""

    def __init__(self, raw: str) -> None:
        self.params = parse_qs(raw, keep_blank_values=True)

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self.params.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list[str]:
        out: list[str] = []
        for value in self.params.get(name, []):
            out.extend(v.strip() for v in value.split(",") if v.strip())
        return out

    def expand(self) -> str:
        return ",".join(self.params.get("expand", []))

    def integer(self, name: str, default: int, minimum: int = 0) -> int:
        raw = self.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, f"{name} must be an integer but was {raw!r}") from None
        if value < minimum:
            raise ApiError(400, f"{name} must be >= {minimum}")
        return value

    def flag(self, name: str) -> bool:
        return (self.get(name) or "").lower() == "true"


def _json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _parse_instant(value: Any) -> int:
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not an ISO-8601 instant: {value!r}") from None
    else:
        raise ValueError("now must be an ISO-8601 string such as 2026-01-05T10:30:15Z")
    if dt.tzinfo is None:
        raise ValueError("now needs a UTC offset (for example 2026-01-05T10:30:15Z or 2026-01-05T19:30:15+09:00)")
    return int(dt.timestamp() * 1000)


class SandboxServer:
    """The local Confluence: serves a :class:`Corpus` over HTTP and exposes the admin operations as methods.

    Args:
        corpus: The content to serve.
        host: Interface to bind (keep it on loopback).
        port: Port to bind; 0 picks a free one.
        flavor: ``cloud`` or ``dc``; defaults to the corpus's flavour (a different one is an error, because
            bodies mention users by account id on Cloud and by user key on Data Center).
        context_path: Context path; Cloud always uses ``/wiki``, Data Center defaults to none (``/confluence``
            is a common one).
        email: Accepted Basic-auth user (Data Center also accepts ``sandbox``).
        token: Accepted API token (Basic password) and personal access token (Bearer).
        timezone: The site's zone, used for CQL dates and reported as the current user's ``timeZone`` on Cloud;
            defaults to the corpus's.
        log_requests: Print one line per request to stderr.
    """

    def __init__(
        self,
        corpus: Corpus,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        flavor: str | None = None,
        context_path: str | None = None,
        email: str = DEFAULT_EMAIL,
        token: str = DEFAULT_TOKEN,
        timezone: str | None = None,
        log_requests: bool = False,
    ) -> None:
        flavor = flavor or corpus.flavor
        if flavor not in ("cloud", "dc"):
            raise ValueError(f"flavor must be 'cloud' or 'dc', not {flavor!r}")
        if flavor != corpus.flavor:
            raise ValueError(f"the corpus was generated for flavor {corpus.flavor!r}, not {flavor!r}")
        self.corpus = corpus
        self.flavor = flavor
        self.email = email
        self.token = token
        self.timezone = timezone or corpus.timezone
        self.tz = ZoneInfo(self.timezone)
        # Cloud always lives under /wiki; Data Center sits at the root unless it was installed under a path.
        default_context = "/wiki" if flavor == "cloud" else ""
        context = default_context if context_path is None else context_path
        context = "/" + context.strip("/") if context.strip("/") else ""
        self.context_path = context
        self.log_requests = log_requests
        self.clock = SandboxClock(int(corpus.epoch.timestamp()) * 1000 + 60_000)
        self.faults_state = FaultInjector(flavor)
        self.request_stats = RequestStats()
        self._httpd = _HTTPServer((host, port), self)
        self.host = host
        self.port: int = self._httpd.server_address[1]
        shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
        self.root_url = f"http://{shown}:{self.port}"
        self.renderer = Renderer(corpus, flavor=flavor, base=self.root_url + context, context=context)
        self.renderer.failing = lambda: self.faults_state.settings.fail_page_ids
        self._admin_renderer = Renderer(corpus, flavor=flavor, base=self.root_url + context, context=context)
        self._thread: threading.Thread | None = None
        self._search_cache: OrderedDict[tuple[Any, ...], list[int]] = OrderedDict()
        self._search_lock = threading.Lock()

    # --- lifecycle -----------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What a user puts in ``CONFLUENCE_BASE_URL`` (Cloud: ``http://127.0.0.1:P/wiki``)."""
        return self.root_url + self.context_path

    @property
    def admin_url(self) -> str:
        """Root of the admin API: ``http://127.0.0.1:P/_sandbox``."""
        return self.root_url + "/_sandbox"

    def start(self) -> SandboxServer:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="confluence-sandbox", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` (from another thread) or KeyboardInterrupt."""
        self._httpd.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        """Stop serving, close open connections and release the port."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.close_connections()
        self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self) -> Any:
        """Return an ``atlassian.Confluence`` client configured as a user would (email + token on Cloud, PAT on DC)."""
        from atlassian import Confluence

        if self.flavor == "cloud":
            return Confluence(url=self.base_url, username=self.email, password=self.token)
        return Confluence(url=self.base_url, token=self.token)

    def session(self) -> Any:
        """Return a ``requests.Session`` that authenticates with Basic email + token."""
        import requests

        session = requests.Session()
        session.auth = (self.email, self.token)
        return session

    # --- admin operations (also behind /_sandbox/) ---------------------------------------------------------------

    def now_ms(self) -> int:
        """Return the sandbox clock's reading (epoch milliseconds)."""
        return self.clock.now_ms()

    def _admin_view(self, page: Page) -> dict[str, Any]:
        return self._admin_renderer.content(page, parse_expand(ADMIN_EXPAND), top_level=True)

    def create_page(
        self,
        space: str,
        title: str,
        *,
        parent_id: str | int | None = None,
        body: str | None = None,
        labels: Sequence[str] = (),
        author: str | None = None,
    ) -> dict[str, Any]:
        """Create a page at the sandbox clock's time; returns it as a Confluence content object.

        Args:
            space: Space key.
            title: Title, unique in the space.
            parent_id: Parent page (default: the space's homepage).
            body: Storage-format body (default: a paragraph with the title).
            labels: Labels.
            author: Username, account id or user key of the creator (default: the sandbox service account).

        Returns:
            The page with ``body.storage``, ``version``, ``history``, ``space``, ``ancestors`` and labels expanded.
        """
        page = self.corpus.create_page(
            space, title, now_ms=self.now_ms(), parent_id=parent_id, body=body, labels=labels, author=author
        )
        return self._admin_view(page)

    def edit_page(
        self,
        page_id: str | int,
        *,
        title: str | None = None,
        body: str | None = None,
        message: str = "",
        minor_edit: bool = False,
        author: str | None = None,
    ) -> dict[str, Any]:
        """Make a new version at the sandbox clock's time (``version.when`` = the clock); returns the page."""
        page = self.corpus.edit_page(
            page_id, now_ms=self.now_ms(), title=title, body=body, message=message, minor_edit=minor_edit, author=author
        )
        return self._admin_view(page)

    def move_page(
        self,
        page_id: str | int,
        *,
        parent_id: str | int | None = None,
        space: str | None = None,
        bump_version: bool = False,
    ) -> dict[str, Any]:
        """Move a page (and its descendants) under a new parent and/or into another space; returns the page."""
        page = self.corpus.move_page(
            page_id, now_ms=self.now_ms(), parent_id=parent_id, space_key=space, bump_version=bump_version
        )
        return self._admin_view(page)

    def set_status(
        self, page_id: str | int, status: str, *, cascade: bool = False, bump_version: bool = False
    ) -> dict[str, Any]:
        """Set a page's status (``current``, ``archived`` or ``trashed``); returns the page."""
        self.corpus.set_status(page_id, status, now_ms=self.now_ms(), cascade=cascade, bump_version=bump_version)
        page = self.corpus.page(page_id)
        assert page is not None
        return self._admin_view(page)

    def delete_page(self, page_id: str | int, *, cascade: bool = False) -> list[str]:
        """Purge a page (children move up unless ``cascade``); returns the purged ids."""
        return [str(i) for i in self.corpus.delete_page(page_id, cascade=cascade)]

    def stats(self) -> dict[str, Any]:
        """Return request counts: ``total``, ``by_endpoint``, ``by_status``, ``by_endpoint_status``, ``faults``."""
        return self.request_stats.snapshot()

    def reset_stats(self) -> None:
        """Zero the request counts."""
        self.request_stats.reset()

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Set faults (see :class:`~confluence_sandbox.faults.FaultSettings`); None/0/[] turns one off.

        Returns:
            All fault settings after the change.
        """
        return self.faults_state.configure(faults)

    def faults(self) -> dict[str, Any]:
        """Return the fault settings."""
        return self.faults_state.settings.as_dict()

    def reset_faults(self) -> dict[str, Any]:
        """Turn every fault off."""
        return self.set_faults(**FaultSettings().as_dict())

    def set_clock(
        self, now: datetime | str | None = None, *, advance_s: float | None = None, frozen: bool | None = None
    ) -> dict[str, Any]:
        """Set and/or advance the sandbox clock.

        Args:
            now: New time (aware datetime or ISO-8601 string with an offset); setting it freezes the clock unless
                ``frozen=False``.
            advance_s: Seconds to move the clock forward (negative: back).
            frozen: Freeze the clock, or let it run on from its current reading.

        Returns:
            ``{"now": ISO instant, "frozen": bool}``.
        """
        now_ms = _parse_instant(now) if now is not None else None
        self.clock.set(now_ms, advance_ms=round((advance_s or 0) * 1000), frozen=frozen)
        return self.clock.snapshot()

    def info(self) -> dict[str, Any]:
        """Return what a client needs to connect, plus a summary of the corpus."""
        return {
            "flavor": self.flavor,
            "base_url": self.base_url,
            "admin_url": self.admin_url,
            "context_path": self.context_path,
            "email": self.email,
            "token": self.token,
            "timezone": self.timezone,
            "clock": self.clock.snapshot(),
            "corpus": self.corpus.summary(),
        }

    def page_record(self, page: Page) -> dict[str, Any]:
        """Return a compact description of a page (what tests compare a synced database with)."""
        return {
            "id": str(page.id),
            "space": page.space_key,
            "title": page.title,
            "status": page.status,
            "version": page.version,
            "when": format_instant(page.modified_ms),
            "created": format_instant(page.created_ms),
            "parent_id": str(page.parent_id) if page.parent_id is not None else None,
            "labels": list(page.labels),
        }

    # --- CQL search ----------------------------------------------------------------------------------------------

    def search_ids(self, cql: str, *, include_archived_spaces: bool = True) -> list[int]:
        """Run a CQL query and return the matching page ids in result order.

        Only ``current`` pages match unless the query has a ``status`` clause; trashed pages never match.

        Raises:
            CqlError: When the query cannot be parsed or uses an unsupported field or operator.
        """
        parsed = parse_cql(cql)
        now_ms = self.now_ms()
        key = (
            cql,
            include_archived_spaces,
            self.corpus.generation,
            now_ms // 60_000 if parsed.uses_now else None,
            self.timezone,
        )
        with self._search_lock:
            cached = self._search_cache.get(key)
            if cached is not None:
                self._search_cache.move_to_end(key)
                return cached
        corpus = self.corpus
        with corpus.lock:
            spaces = constrained_spaces(parsed)
            if spaces is not None:
                folded = corpus.space_keys_ci()
                ids: list[int] = []
                for s in spaces:
                    real = folded.get(s.casefold())
                    if real is not None:
                        ids.extend(corpus.page_ids(real))
            else:
                ids = corpus.page_ids()
            predicate = compile_query(parsed, EvalContext(self.tz, now_ms, corpus, current_user="sandbox"))
            default_status = not parsed.mentions("status")
            matched: list[Page] = []
            for page_id in ids:
                page = corpus.page(page_id)
                if page is None or page.status == "trashed" or (default_status and page.status != "current"):
                    continue
                if not include_archived_spaces and corpus.spaces[page.space_key].status == "archived":
                    continue
                if predicate(page):
                    matched.append(page)
            result = [p.id for p in sort_pages(matched, parsed.order)]
        with self._search_lock:
            self._search_cache[key] = result
            while len(self._search_cache) > 64:
                self._search_cache.popitem(last=False)
        return result


def is_loopback_client(host: str) -> bool:
    """Whether a client address may use the admin API (loopback only, IPv4-mapped IPv6 included)."""
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool((mapped or address).is_loopback)


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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ConfluenceSandbox/1.0"
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.sandbox.log_requests:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # --- plumbing ------------------------------------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = _JSON_TYPE,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        lines = [
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
            f"Date: {formatdate(usegmt=True)}",
            f"Server: {self.server_version}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
            "Connection: close" if self.close_connection else "Connection: keep-alive",
        ]
        lines.extend(f"{k}: {v}" for k, v in headers)
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head + body)
        if self.server.sandbox.log_requests:
            self.log_request(status, len(body))

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            self.close_connection = True
            return b""
        return self.rfile.read(n) if n > 0 else b""

    def _handle(self, method: str) -> None:
        sandbox = self.server.sandbox
        split = urlsplit(self.path)
        path = unquote(split.path)
        raw_body = self._read_body()
        ctx = sandbox.context_path
        if ctx and (path == ctx or path.startswith(ctx + "/")):
            path = path[len(ctx) :] or "/"
        if path == "/_sandbox" or path.startswith("/_sandbox/"):
            self._admin(method, path, split.query, raw_body)
            return
        self._api(method, path, split.query, raw_body)

    # --- REST API ------------------------------------------------------------------------------------------------

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
    def sandbox(self) -> SandboxServer:
        return self.server.sandbox

    @property
    def r(self) -> Renderer:
        return self.server.sandbox.renderer

    def _page(self, page_id: str, statuses: set[str] | None = None) -> Page:
        page = self.sandbox.corpus.page(page_id) if page_id.isdigit() else None
        if page is not None and self.sandbox.faults_state.hidden(page.space_key):
            page = None  # without permission to its space, Confluence answers as if the page did not exist
        if page is None or (statuses is not None and page.status not in statuses):
            raise ApiError(404, f"No content found with id : ContentId{{id={page_id}}}")
        return page

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

    # --- handlers ------------------------------------------------------------------------------------------------

    def h_spaces(self, q: _Query, _body: bytes) -> dict:
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
        space = self.sandbox.corpus.spaces.get(key)
        if space is None or self.sandbox.faults_state.hidden(key):
            raise ApiError(404, f"No space with key : {key}")
        return self.r.space(space, parse_expand(q.expand()), top_level=True)

    def h_content_list(self, q: _Query, _body: bytes) -> dict:
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
        return self._search(q, wrapped=False)

    def h_search(self, q: _Query, _body: bytes) -> dict:
        return self._search(q, wrapped=True)

    def h_content(self, q: _Query, _body: bytes, id: str) -> dict:
        page = self._page(id, self._statuses(q, {"current", "archived"}))
        version = q.get("version")
        if version is not None and version != str(page.version):
            raise ApiError(404, f"No content found with id : ContentId{{id={id}}} at version {version}")
        return self.r.content(page, parse_expand(q.expand()), top_level=True)

    def _json_body(self, raw: bytes) -> dict[str, Any]:
        try:
            data = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "The request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "The request body must be a JSON object")
        return data

    def h_content_create(self, q: _Query, raw: bytes) -> dict:
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
        page = self._page(id, {"current", "archived"})
        tree = parse_expand(q.expand())
        out = self.r.children(page, tree)
        out["_links"].update({"base": self.r.base, "context": self.r.context})
        return out

    def h_child_pages(self, q: _Query, _body: bytes, id: str) -> dict:
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

    def h_child_attachments(self, q: _Query, _body: bytes, id: str) -> dict:
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

    def h_labels(self, q: _Query, _body: bytes, id: str) -> dict:
        page = self._page(id, {"current", "archived"})
        prefix = q.get("prefix")
        if prefix not in (None, "", "global"):
            return self.r.collection([], start=0, limit=200, self_path=f"/rest/api/content/{page.id}/label")
        start, limit = q.integer("start", 0), self._limit(q, 200, 200)
        return self.r.labels(page, start, limit, top_level=True)

    def h_history(self, q: _Query, _body: bytes, id: str) -> dict:
        page = self._page(id, {"current", "archived"})
        # The history endpoint includes lastUpdated by default (clients read the next version number from it).
        tree = parse_expand(q.expand())
        tree.setdefault("lastUpdated", {})
        return self.r.history(page, tree, top_level=True)

    def h_user(self, q: _Query, _body: bytes) -> dict:
        corpus = self.sandbox.corpus
        if self.sandbox.flavor == "cloud":
            ref = q.get("accountId")
            if not ref:
                raise ApiError(400, "accountId is required (username and key are not supported on Cloud)")
            user = corpus.find_user(ref)
            if user is None or user.account_id != ref:
                raise ApiError(404, f"No user found with accountId : {ref}")
        else:
            username, key = q.get("username"), q.get("key")
            if not username and not key:
                raise ApiError(400, "username or key is required")
            user = corpus.find_user(username or key or "")
            if user is None or (username and user.username != username) or (key and user.user_key != key):
                raise ApiError(404, f"No user found with {'username' if username else 'key'} : {username or key}")
        out = self.r.user(user)
        out["_links"].update({"base": self.r.base, "context": self.r.context})
        return out

    def h_current_user(self, q: _Query, _body: bytes) -> dict:
        corpus = self.sandbox.corpus
        user = corpus.find_user("sandbox")
        assert user is not None
        tz = self.sandbox.timezone if self.sandbox.flavor == "cloud" else None
        return self.r.user(user, current=True, email=self.sandbox.email, tz=tz)

    def h_download(self, q: _Query, _body: bytes, id: str, name: str) -> tuple[int, bytes, str]:
        page = self._page(id, {"current", "archived"})
        for att in self.sandbox.corpus.attachments(page):
            if att.title == name:
                return 200, _fake_file(att.id, att.media_type, att.file_size), att.media_type
        raise ApiError(404, f"No attachment {name!r} on page {id}")

    # --- admin API -----------------------------------------------------------------------------------------------

    def _admin(self, method: str, path: str, raw_query: str, raw_body: bytes) -> None:
        try:
            if not is_loopback_client(self.client_address[0]):
                raise ApiError(403, "The admin API answers loopback clients only")
            payload = self._admin_dispatch(method, path.rstrip("/"), _Query(raw_query), raw_body)
            status = 200
        except ApiError as exc:
            status, payload = exc.status, {"error": exc.message}
        except CorpusError as exc:
            status, payload = exc.status, {"error": exc.message}
        except (ValueError, TypeError, KeyError) as exc:
            status, payload = 400, {"error": str(exc)}
        self._send(status, _json(payload))

    def _admin_dispatch(self, method: str, path: str, q: _Query, raw: bytes) -> Any:
        s = self.sandbox
        parts = path.split("/")[2:]  # after "", "_sandbox"
        data = self._json_body(raw) if method in ("POST", "PUT") else {}
        if parts in ([], ["info"]) and method == "GET":
            return s.info()
        if parts == ["stats"] and method == "GET":
            return s.stats()
        if parts == ["stats", "reset"] and method == "POST":
            s.reset_stats()
            return s.stats()
        if parts == ["faults"]:
            if method == "GET":
                return s.faults()
            if method == "POST":
                return s.set_faults(**data)
            if method == "DELETE":
                return s.reset_faults()
        if parts == ["faults", "reset"] and method == "POST":
            return s.reset_faults()
        if parts == ["clock"]:
            if method == "GET":
                return s.clock.snapshot()
            if method == "POST":
                unknown = set(data) - {"now", "advance_s", "frozen"}
                if unknown:
                    raise ValueError(f"unknown clock field(s): {', '.join(sorted(unknown))}")
                return s.set_clock(data.get("now"), advance_s=data.get("advance_s"), frozen=data.get("frozen"))
        if parts == ["pages"]:
            if method == "GET":
                statuses = q.all("status") or ["current"]
                wanted = None if "any" in statuses else set(statuses)
                pages = s.corpus.pages(space_key=q.get("space"), statuses=wanted)
                return {"size": len(pages), "results": [s.page_record(p) for p in pages]}
            if method == "POST":
                return s.create_page(
                    _required(data, "space"),
                    _required(data, "title"),
                    parent_id=data.get("parent_id"),
                    body=data.get("body"),
                    labels=data.get("labels") or (),
                    author=data.get("author"),
                )
        if len(parts) == 2 and parts[0] == "pages":
            page_id = parts[1]
            if method == "DELETE":
                return {"deleted": s.delete_page(page_id, cascade=q.flag("cascade"))}
            if method == "GET":
                page = s.corpus.page(page_id)
                if page is None:
                    raise ApiError(404, f"No page {page_id}")
                kw = s.corpus.keywords(page.id)
                return s.page_record(page) | {"keywords": None if kw is None else asdict(kw)}
        if len(parts) == 3 and parts[0] == "pages" and method == "POST":
            page_id, action = parts[1], parts[2]
            if action == "edit":
                return s.edit_page(
                    page_id,
                    title=data.get("title"),
                    body=data.get("body"),
                    message=data.get("message") or "",
                    minor_edit=bool(data.get("minor_edit", False)),
                    author=data.get("author"),
                )
            if action == "move":
                return s.move_page(
                    page_id,
                    parent_id=data.get("parent_id"),
                    space=data.get("space"),
                    bump_version=bool(data.get("bump_version", False)),
                )
            if action == "status":
                return s.set_status(
                    page_id,
                    _required(data, "status"),
                    cascade=bool(data.get("cascade", False)),
                    bump_version=bool(data.get("bump_version", False)),
                )
        raise ApiError(404, f"No admin operation {method} {path}")


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


def _required(data: dict[str, Any], name: str) -> Any:
    value = data.get(name)
    if value in (None, ""):
        raise ValueError(f"{name} is required")
    return value


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
