"""The local Confluence server: its lifecycle, the admin operations and CQL search over the corpus."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from confluence_sandbox.corpus import Corpus, Page, format_instant
from confluence_sandbox.cql import EvalContext, compile_query, constrained_spaces, parse_cql, sort_pages
from confluence_sandbox.faults import FaultInjector, FaultSettings, RequestStats, SandboxClock
from confluence_sandbox.render import Renderer, parse_expand
from confluence_sandbox.server.handler import _HTTPServer

DEFAULT_EMAIL = "sandbox@example.com"
DEFAULT_TOKEN = "sandbox-token"
ADMIN_EXPAND = "body.storage,version,history,space,ancestors,metadata.labels"


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
