"""HTTP access to Confluence over atlassian-python-api, with rate limiting, retries and pagination.

atlassian-python-api is pinned at 4.0.7 (see README): 5.x routes ``*.atlassian.net`` to a Cloud class without
``get_page_by_id`` and with a broken ``cql()``, and 4.0.x's own helpers stop after the first page. So the pipeline
uses the client's authenticated session and URL handling (``Confluence.get(..., advanced_mode=True)``) and does
retries and ``_links.next`` pagination here, where they can be tested. The client's built-in 429 handling is off:
it ``int()``-parses ``Retry-After`` (crashing on HTTP dates) and retries forever.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

import requests
from atlassian import Confluence
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from confluence_pipeline.confluence.errors import (
    ConfluenceAuthError,
    ConfluenceBadRequest,
    ConfluenceConfigError,
    ConfluenceConflict,
    ConfluenceError,
    ConfluenceNotFound,
    ConfluenceUnavailable,
)
from confluence_pipeline.confluence.ratelimit import Limiter, shared_limiter
from confluence_pipeline.confluence.settings import ConfluenceSettings
from confluence_pipeline.lib.retry import parse_retry_after, wait_hint_or_backoff

log = logging.getLogger(__name__)

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_RATE_LIMIT_HEADERS = ("Retry-After", "X-RateLimit-Remaining", "RateLimit-Reason", "X-RateLimit-Limit")


@dataclass
class RequestStats:
    """Counters for the operator: what one run cost on the Confluence side."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    server_errors: int = 0
    network_errors: int = 0
    wait_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **deltas: float) -> None:
        """Add to several counters at once, thread-safely."""
        with self._lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)

    def as_dict(self) -> dict[str, float]:
        """The counters as a plain dict (for metadata)."""
        with self._lock:
            data = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        data["wait_seconds"] = round(data["wait_seconds"], 3)
        return data


class _Retryable(Exception):
    def __init__(self, message: str, status: int | None, retry_after: float | None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def _retry_after_of(exc: BaseException | None) -> float | None:
    return exc.retry_after if isinstance(exc, _Retryable) else None


def _is_throttle(response: requests.Response) -> bool:
    if response.status_code == 429:
        return True
    # Data Center may throttle with 403 plus rate-limit headers; a plain 403 is a permission problem.
    return response.status_code == 403 and any(h in response.headers for h in _RATE_LIMIT_HEADERS)


def _error_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason or ""
    if isinstance(body, dict):
        return str(body.get("message") or body.get("errorMessages") or body.get("reason") or "")[:500]
    return ""


class ConfluenceClient:
    """A Confluence REST v1 client for one site.

    Every request goes through the site's rate limiter and the retry policy, and is counted in
    :attr:`stats`. Secrets stay inside the atlassian-python-api session; no message built here contains them.
    """

    def __init__(
        self, settings: ConfluenceSettings, *, limiter: Limiter | None = None, database_url: str | None = None
    ) -> None:
        """A client for the site of ``settings``.

        Args:
            settings: the site and how to press it.
            limiter: the rate limit to use; by default the process's limiter of the site.
            database_url: the pipeline's database: the default limiter is then shared, through it, with every other
                process that uses it (concurrent runs, sensors, commands), so that together they keep to the rate.
        """
        settings.validate()
        self.settings = settings
        self.stats = RequestStats()
        self._limiter = limiter or shared_limiter(settings.api_url, settings.rate_limit_rps, database_url)
        verify: bool | str = settings.ca_bundle if settings.ca_bundle else settings.verify_tls
        kwargs: dict[str, Any] = {
            "url": settings.api_url,
            "verify_ssl": verify,
            "cloud": settings.is_cloud,
            "retry_with_header": False,
            "backoff_and_retry": False,
        }
        if settings.personal_access_token and not settings.is_cloud:
            kwargs["token"] = settings.personal_access_token
        else:
            kwargs["username"] = settings.email
            kwargs["password"] = settings.api_token
        self.api = Confluence(**kwargs)
        # The library int()s its timeout; requests wants a (connect, read) pair.
        self.api.timeout = (settings.connect_timeout_s, settings.read_timeout_s)  # type: ignore[assignment]

    @property
    def site(self) -> str:
        """The REST base URL, for messages."""
        return self.settings.api_url

    def close(self) -> None:
        """Close the HTTP session."""
        self.api.close()

    def get_json(self, path: str, params: dict[str, Any] | None = None, *, max_retries: int | None = None) -> Any:
        """GET a REST resource and return its JSON, retrying throttling, 5xx and network errors.

        Args:
            path: path under the site URL (``rest/api/...``), or an absolute URL.
            params: query parameters.
            max_retries: override the configured retry count (e.g. 0 for a fast credentials check).

        Raises:
            ConfluenceAuthError: 401, or a 403 that is not throttling. Never retried.
            ConfluenceNotFound: 404.
            ConfluenceBadRequest: 400 (e.g. CQL Confluence cannot parse).
            ConfluenceUnavailable: retries exhausted.
            ConfluenceConfigError: the URL answers with something that is not Confluence JSON.
        """
        return self.request_json("GET", path, params, max_retries=max_retries)

    def put_json(self, path: str, payload: dict[str, Any], *, max_retries: int | None = None) -> Any:
        """PUT a JSON body (e.g. a page update) and return the response's JSON.

        A retried write may have been applied by an attempt whose response was lost; callers make their writes
        safe to repeat (a page update sends version + 1, so a repeat gets 409).

        Raises:
            ConfluenceConflict: 409, e.g. "Version must be incremented" when the page moved on. Never retried.
            ConfluenceError: as :meth:`get_json`.
        """
        return self.request_json("PUT", path, None, payload, max_retries=max_retries)

    def post_json(self, path: str, payload: dict[str, Any], *, max_retries: int | None = None) -> Any:
        """POST a JSON body (e.g. a new page) and return the response's JSON; errors as :meth:`put_json`."""
        return self.request_json("POST", path, None, payload, max_retries=max_retries)

    def request_json(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        payload: dict[str, Any] | None = None,
        *,
        max_retries: int | None = None,
    ) -> Any:
        """Send one REST request through the rate limiter and the retry policy; see :meth:`get_json`."""
        retries = self.settings.max_retries if max_retries is None else max_retries
        retrying = Retrying(
            stop=stop_after_attempt(retries + 1),
            # Retry-After is honoured as sent (the shared limiter also pauses for it), capped like the back-off.
            wait=wait_hint_or_backoff(
                _retry_after_of, base_s=self.settings.backoff_base_s, max_s=self.settings.backoff_max_s
            ),
            retry=retry_if_exception_type(_Retryable),
            before_sleep=self._before_sleep,
            reraise=True,
        )
        attempts = 0
        try:
            for attempt in retrying:
                with attempt:
                    attempts += 1
                    return self._send_once(method, path, params, payload)
        except _Retryable as exc:
            raise ConfluenceUnavailable(
                f"Confluence at {self.site} kept failing on {path.split('?')[0]} after {attempts} attempts "
                f"({exc}). It is throttling or unavailable; the run can be retried, and CONFLUENCE_MAX_RETRIES / "
                "CONFLUENCE_RATE_LIMIT_RPS tune how patient it is.",
                status=exc.status,
                attempts=attempts,
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _before_sleep(self, state: RetryCallState) -> None:
        wait = state.next_action.sleep if state.next_action else 0.0
        self.stats.add(retries=1, wait_seconds=wait)
        exc = state.outcome.exception() if state.outcome else None
        log.info("Confluence: %s; retry %d in %.2fs", exc, state.attempt_number, wait)

    def _send_once(self, method: str, path: str, params: dict[str, Any] | None, payload: dict[str, Any] | None) -> Any:
        waited = self._limiter.acquire()
        self.stats.add(requests=1, wait_seconds=waited)
        absolute = path.startswith(("http://", "https://"))
        try:
            if method == "GET":
                response = self.api.get(path, params=params, absolute=absolute, advanced_mode=True)
            else:
                response = self.api.request(
                    method, path, data=payload, params=params, absolute=absolute, advanced_mode=True
                )
        except requests.exceptions.SSLError:
            raise ConfluenceConfigError(
                f"TLS verification failed for {self.site}. Point CONFLUENCE_CA_BUNDLE at your CA bundle "
                "(or, for a test server only, set CONFLUENCE_VERIFY_TLS=false)."
            ) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            self.stats.add(network_errors=1)
            raise _Retryable(f"network error: {type(exc).__name__}", None, None) from None
        status = response.status_code
        if status < 400:
            try:
                return response.json()
            except ValueError:
                raise ConfluenceConfigError(
                    f"{self.site}/{path.split('?')[0].lstrip('/')} answered HTTP {status} with non-JSON content. "
                    "Check CONFLUENCE_BASE_URL (Cloud: https://<site>.atlassian.net; Data Center: include the "
                    "context path, e.g. https://host/confluence)."
                ) from None
        if _is_throttle(response):
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            self.stats.add(throttled=1)
            if retry_after:
                self._limiter.pause(min(retry_after, self.settings.backoff_max_s))
            raise _Retryable(f"throttled with HTTP {status}", status, retry_after)
        if status in _RETRY_STATUSES:
            self.stats.add(server_errors=1)
            raise _Retryable(f"HTTP {status}", status, None)
        message = _error_message(response)
        if status == 401:
            raise ConfluenceAuthError(
                f"Confluence at {self.site} rejected the credentials (HTTP 401). Check "
                + (
                    "CONFLUENCE_EMAIL and CONFLUENCE_API_TOKEN (create a token at id.atlassian.com)."
                    if self.settings.is_cloud or not self.settings.personal_access_token
                    else "CONFLUENCE_PAT (a Data Center personal access token)."
                ),
                status=401,
            )
        if status == 403:
            raise ConfluenceAuthError(
                f"Confluence at {self.site} refused {path.split('?')[0]} (HTTP 403: {message}). The account behind "
                "the token lacks permission; grant it access or choose spaces with CONFLUENCE_SPACES.",
                status=403,
            )
        if status == 404:
            raise ConfluenceNotFound(f"not found: {path.split('?')[0]} ({message})", status=404)
        if status == 400:
            raise ConfluenceBadRequest(f"Confluence refused the request: {message}", status=400)
        if status == 409:
            raise ConfluenceConflict(f"conflict on {path.split('?')[0]}: {message}", status=409)
        raise ConfluenceError(f"HTTP {status} from {path.split('?')[0]}: {message}", status=status)

    def paginate(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Yield each page of a paginated v1 collection, following ``_links.next`` exactly.

        The next link is used verbatim (Cloud: ``cursor=``; Data Center: ``start=``), relative to the site's
        context path; ``limit`` is never changed mid-cursor. A ``next`` that leads to an empty page ends the walk.
        """
        body = self.get_json(path, params)
        while True:
            yield body
            next_link = (body.get("_links") or {}).get("next")
            if not next_link or not body.get("results"):
                return
            body = self.get_json(self._next_path(next_link, body))

    def _next_path(self, next_link: str, body: dict[str, Any]) -> str:
        if next_link.startswith(("http://", "https://")):
            return next_link
        context = ((body.get("_links") or {}).get("context") or "").rstrip("/")
        # Links are relative to the context path; our base URL already ends with it.
        if context and next_link.startswith(context + "/") and self.site.rstrip("/").endswith(context):
            next_link = next_link[len(context) :]
        return next_link.lstrip("/")

    def check_access(self) -> dict[str, Any]:
        """Fail fast on a wrong URL or token: one cheap request, no retries on 401; throttling is waited out.

        Returns:
            The current user's JSON (on Cloud it carries ``timeZone``).

        Raises:
            ConfluenceAuthError: the credentials were rejected.
            ConfluenceConfigError: the URL is unreachable or is not Confluence.
        """
        try:
            return self.get_json("rest/api/user/current", max_retries=1)
        except ConfluenceNotFound:
            raise ConfluenceConfigError(
                f"{self.site}/rest/api/user/current does not exist: CONFLUENCE_BASE_URL does not point at "
                "Confluence (Cloud: https://<site>.atlassian.net; Data Center: include the context path)."
            ) from None
        except ConfluenceUnavailable as exc:
            if exc.status in (403, 429):  # throttled (Data Center may throttle with 403): never a plain 403 here
                # The site answered, so the URL is right; it is busy. Wait as patiently as any other request does
                # rather than blame the configuration: runs that start together all check access at once.
                return self.get_json("rest/api/user/current")
            raise ConfluenceConfigError(
                f"cannot reach Confluence at {self.site} ({exc.args[0].split('(')[-1].rstrip(').')}). "
                "Check CONFLUENCE_BASE_URL and the network path to it.",
                status=exc.status,
            ) from None


def request_stats_metadata(stats: RequestStats, started: float) -> dict[str, float]:
    """Merge request counters with elapsed seconds, for ``MaterializeResult`` metadata."""
    data = stats.as_dict()
    data["seconds"] = round(time.monotonic() - started, 3)
    return data


__all__ = [
    "ConfluenceClient",
    "ConfluenceError",
    "RequestStats",
]
