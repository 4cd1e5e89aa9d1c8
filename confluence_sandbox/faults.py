"""Fault injection, request statistics and the settable clock of the sandbox server."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from confluence_sandbox.corpus import format_instant

ERROR_STATUSES = (500, 502, 503, 504)


@dataclass(slots=True)
class FaultSettings:
    """The active faults; every one of them is off by default.

    Attributes:
        rate_limit_rps: Token-bucket rate (requests per second) above which requests are throttled; None is off.
        rate_limit_burst: Bucket size; defaults to ``max(1, rate_limit_rps)``.
        retry_after_s: Value of ``Retry-After`` on throttled responses.
        retry_after_http_date: Send ``Retry-After`` as an HTTP date instead of seconds.
        throttle_status: 429, or 403 (Data Center only: it may throttle with 403).
        error_rate: Probability of answering a request with a random 500/502/503/504.
        error_statuses: The statuses ``error_rate`` picks from.
        latency_ms: Delay added before every response.
        fail_page_ids: Pages whose body cannot be rendered: any response that would include one of their bodies
            answers 500.
        seed: Seed of the RNG behind ``error_rate`` (reseeded whenever it is set).
        fail_endpoint: An endpoint label (as in the stats, e.g. ``GET /rest/api/search``) that starts failing with
            500 after ``fail_endpoint_after`` of its requests succeeded, and keeps failing: a listing that breaks
            half-way, deterministically.
        fail_endpoint_after: Requests of ``fail_endpoint`` that still succeed (counted from when it was set).
        hidden_spaces: Space keys the token's user lost permission to: searches do not list their pages (and
            ``totalSize`` does not count them), and the space and its pages answer 404, as Confluence does.
        end_cursor_after: CQL search responses that reach this many results omit ``_links.next``: a cursor that
            ends early.
        unindexed_page_ids: Pages the search index lost (or has not caught up with): CQL does not find them and
            ``totalSize`` does not count them, while ``content/{id}`` still serves them as current.
        drop_write_responses: The next this many REST writes (PUT, POST) are applied, and then the connection is
            closed without a response: the client never learns that its write succeeded.
    """

    rate_limit_rps: float | None = None
    rate_limit_burst: float | None = None
    retry_after_s: float = 1.0
    retry_after_http_date: bool = False
    throttle_status: int = 429
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = ERROR_STATUSES
    latency_ms: float = 0.0
    fail_page_ids: frozenset[int] = field(default_factory=frozenset)
    seed: int = 0
    fail_endpoint: str | None = None
    fail_endpoint_after: int = 0
    hidden_spaces: frozenset[str] = field(default_factory=frozenset)
    end_cursor_after: int | None = None
    unindexed_page_ids: frozenset[int] = field(default_factory=frozenset)
    drop_write_responses: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as JSON-ready values."""
        return {
            "rate_limit_rps": self.rate_limit_rps,
            "rate_limit_burst": self.rate_limit_burst,
            "retry_after_s": self.retry_after_s,
            "retry_after_http_date": self.retry_after_http_date,
            "throttle_status": self.throttle_status,
            "error_rate": self.error_rate,
            "error_statuses": list(self.error_statuses),
            "latency_ms": self.latency_ms,
            "fail_page_ids": sorted(str(i) for i in self.fail_page_ids),
            "seed": self.seed,
            "fail_endpoint": self.fail_endpoint,
            "fail_endpoint_after": self.fail_endpoint_after,
            "hidden_spaces": sorted(self.hidden_spaces),
            "end_cursor_after": self.end_cursor_after,
            "unindexed_page_ids": sorted(str(i) for i in self.unindexed_page_ids),
            "drop_write_responses": self.drop_write_responses,
        }


@dataclass(frozen=True, slots=True)
class Throttle:
    """A throttled request: the status and headers to answer with."""

    status: int
    headers: list[tuple[str, str]]


def _number(name: str, value: Any, *, minimum: float = 0.0, maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValueError(f"{name} must be a number")
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ValueError(f"{name} must be {bounds}")
    return float(value)


class FaultInjector:
    """Holds the fault settings and decides, per request, whether to delay, throttle or fail it."""

    def __init__(self, flavor: str) -> None:
        self.flavor = flavor
        self._lock = threading.Lock()
        self.settings = FaultSettings()
        self._rng = random.Random(0)
        self._tokens = 0.0
        self._refilled = time.monotonic()
        self._endpoint_requests = 0

    def configure(self, updates: dict[str, Any]) -> dict[str, Any]:
        """Change some settings; a null, 0 or empty value turns a fault off.

        Args:
            updates: Any of the :class:`FaultSettings` fields.

        Returns:
            All settings after the change.

        Raises:
            ValueError: On an unknown field or an invalid value (nothing changes then).
        """
        with self._lock:
            s = self.settings
            new = FaultSettings(**{name: getattr(s, name) for name in FaultSettings.__slots__})
            for name, value in updates.items():
                if name == "rate_limit_rps":
                    new.rate_limit_rps = _number(name, value) or None if value is not None else None
                elif name == "rate_limit_burst":
                    new.rate_limit_burst = _number(name, value, minimum=1.0) if value else None
                elif name == "retry_after_s":
                    new.retry_after_s = _number(name, value if value is not None else 0)
                elif name == "retry_after_http_date":
                    new.retry_after_http_date = bool(value)
                elif name == "throttle_status":
                    status = int(value) if value else 429
                    if status not in (429, 403):
                        raise ValueError("throttle_status must be 429 or 403")
                    if status == 403 and self.flavor != "dc":
                        raise ValueError("throttle_status 403 is a Data Center behaviour: use --flavor dc")
                    new.throttle_status = status
                elif name == "error_rate":
                    new.error_rate = _number(name, value or 0, maximum=1.0)
                elif name == "error_statuses":
                    statuses = tuple(int(v) for v in (value or ERROR_STATUSES))
                    if not statuses or any(not 500 <= v <= 599 for v in statuses):
                        raise ValueError("error_statuses must be 5xx statuses")
                    new.error_statuses = statuses
                elif name == "latency_ms":
                    new.latency_ms = _number(name, value or 0)
                elif name == "fail_page_ids":
                    try:
                        new.fail_page_ids = frozenset(int(v) for v in (value or ()))
                    except (TypeError, ValueError) as exc:
                        raise ValueError("fail_page_ids must be a list of page ids") from exc
                elif name == "seed":
                    new.seed = int(value or 0)
                elif name in _LISTING_FAULTS:
                    _configure_listing_fault(new, name, value)
                elif name == "drop_write_responses":
                    new.drop_write_responses = int(_number(name, value or 0))
                else:
                    raise ValueError(f"unknown fault {name!r}")
            if "seed" in updates or "error_rate" in updates:
                self._rng = random.Random(new.seed)
            if "fail_endpoint" in updates or "fail_endpoint_after" in updates:
                self._endpoint_requests = 0
            if new.rate_limit_rps != s.rate_limit_rps or new.rate_limit_burst != s.rate_limit_burst:
                self._tokens = self._burst(new)
                self._refilled = time.monotonic()
            self.settings = new
            return new.as_dict()

    @staticmethod
    def _burst(s: FaultSettings) -> float:
        if s.rate_limit_rps is None:
            return 0.0
        return s.rate_limit_burst or max(1.0, s.rate_limit_rps)

    def throttle(self) -> Throttle | None:
        """Take a token from the bucket; return the throttled response when there is none."""
        with self._lock:
            s = self.settings
            if s.rate_limit_rps is None:
                return None
            now = time.monotonic()
            burst = self._burst(s)
            self._tokens = min(burst, self._tokens + (now - self._refilled) * s.rate_limit_rps)
            self._refilled = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return None
            wait = s.retry_after_s
            reset = datetime.now(UTC).timestamp() + max(wait, (1.0 - self._tokens) / s.rate_limit_rps)
        if s.retry_after_http_date:
            retry_after = format_datetime(datetime.fromtimestamp(math.ceil(time.time() + wait), tz=UTC), usegmt=True)
        else:
            retry_after = str(math.ceil(wait))
        headers = [("Retry-After", retry_after), ("X-RateLimit-Limit", str(math.ceil(s.rate_limit_rps)))]
        headers.append(("X-RateLimit-Remaining", "0"))
        if self.flavor == "cloud":
            headers.append(("X-RateLimit-Reset", format_instant(int(reset * 1000))))
            headers.append(("X-RateLimit-NearLimit", "true"))
            headers.append(("RateLimit-Reason", "confluence-quota-global-based"))
        else:
            headers.append(("X-RateLimit-Interval-Seconds", "1"))
            headers.append(("X-RateLimit-FillRate", str(math.ceil(s.rate_limit_rps))))
        return Throttle(s.throttle_status, headers)

    def take_dropped_write(self) -> bool:
        """Count one applied write against ``drop_write_responses``; True when its response is to be dropped."""
        with self._lock:
            if self.settings.drop_write_responses <= 0:
                return False
            self.settings.drop_write_responses -= 1
            return True

    def injected_error(self) -> int | None:
        """Return a 5xx status to answer with (``error_rate`` of the time), or None."""
        with self._lock:
            s = self.settings
            if s.error_rate <= 0 or self._rng.random() >= s.error_rate:
                return None
            return s.error_statuses[self._rng.randrange(len(s.error_statuses))]

    def endpoint_failure(self, endpoint: str) -> int | None:
        """Return 500 when ``endpoint`` is the failing one and its quota of successful requests is used up."""
        with self._lock:
            s = self.settings
            if s.fail_endpoint is None or endpoint != s.fail_endpoint:
                return None
            self._endpoint_requests += 1
            return 500 if self._endpoint_requests > s.fail_endpoint_after else None

    def hidden(self, space_key: str) -> bool:
        """Whether the token's user lost permission to the space (the ``hidden_spaces`` fault)."""
        return space_key in self.settings.hidden_spaces


_LISTING_FAULTS = frozenset(
    {"fail_endpoint", "fail_endpoint_after", "hidden_spaces", "end_cursor_after", "unindexed_page_ids"}
)


def _configure_listing_fault(new: FaultSettings, name: str, value: Any) -> None:
    """Validate and set one of the faults that break listings (see :class:`FaultSettings`)."""
    if name == "fail_endpoint":
        if value is not None and (not isinstance(value, str) or not value.startswith(("GET /", "POST /", "PUT /"))):
            raise ValueError("fail_endpoint must be an endpoint label such as 'GET /rest/api/search'")
        new.fail_endpoint = value or None
    elif name == "fail_endpoint_after":
        new.fail_endpoint_after = int(_number(name, value or 0))
    elif name == "hidden_spaces":
        if isinstance(value, str) or not all(isinstance(v, str) for v in value or ()):
            raise ValueError("hidden_spaces must be a list of space keys")
        new.hidden_spaces = frozenset(value or ())
    elif name == "unindexed_page_ids":
        try:
            new.unindexed_page_ids = frozenset(int(v) for v in (value or ()))
        except (TypeError, ValueError) as exc:
            raise ValueError("unindexed_page_ids must be a list of page ids") from exc
    else:
        new.end_cursor_after = int(_number(name, value, minimum=1.0)) if value else None


class RequestStats:
    """Counts requests by normalised endpoint (``GET /rest/api/content/{id}``) and by status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget all counts."""
        with self._lock:
            self.total = 0
            self.by_endpoint: Counter[str] = Counter()
            self.by_status: Counter[str] = Counter()
            self.by_endpoint_status: dict[str, Counter[str]] = {}
            self.faults: Counter[str] = Counter()
            self.since = time.time()

    def record(self, endpoint: str, status: int, fault: str | None = None) -> None:
        """Count one request."""
        key = str(status)
        with self._lock:
            self.total += 1
            self.by_endpoint[endpoint] += 1
            self.by_status[key] += 1
            self.by_endpoint_status.setdefault(endpoint, Counter())[key] += 1
            if fault:
                self.faults[fault] += 1

    def snapshot(self) -> dict[str, Any]:
        """Return the counts as JSON-ready values."""
        with self._lock:
            return {
                "total": self.total,
                "by_endpoint": dict(sorted(self.by_endpoint.items())),
                "by_status": dict(sorted(self.by_status.items())),
                "by_endpoint_status": {k: dict(sorted(v.items())) for k, v in sorted(self.by_endpoint_status.items())},
                "faults": dict(sorted(self.faults.items())),
                "since": format_instant(int(self.since * 1000)),
            }


class SandboxClock:
    """The time the sandbox stamps on edits and uses for ``now()`` in CQL.

    It follows the wall clock (never earlier than ``floor_ms``) until a test sets it; a set clock stands still
    (``frozen``) unless told to run on from there.
    """

    def __init__(self, floor_ms: int) -> None:
        self._lock = threading.Lock()
        wall = int(time.time() * 1000)
        self._offset_ms = max(0, floor_ms - wall)
        self._frozen_ms: int | None = None

    def now_ms(self) -> int:
        """Return the sandbox's current time (epoch milliseconds)."""
        with self._lock:
            if self._frozen_ms is not None:
                return self._frozen_ms
            return int(time.time() * 1000) + self._offset_ms

    def set(self, now_ms: int | None = None, *, advance_ms: int = 0, frozen: bool | None = None) -> int:
        """Set and/or advance the clock.

        Args:
            now_ms: The new time; setting it freezes the clock unless ``frozen`` is False.
            advance_ms: Milliseconds to move forward (or back, when negative).
            frozen: Freeze (True) or let the clock run on from its current reading (False).

        Returns:
            The new reading.
        """
        with self._lock:
            wall = int(time.time() * 1000)
            current = self._frozen_ms if self._frozen_ms is not None else wall + self._offset_ms
            target = (now_ms if now_ms is not None else current) + advance_ms
            freeze = frozen if frozen is not None else (True if now_ms is not None else self._frozen_ms is not None)
            if freeze:
                self._frozen_ms = target
            else:
                self._frozen_ms = None
                self._offset_ms = target - wall
            return target

    @property
    def frozen(self) -> bool:
        """Whether the clock stands still."""
        return self._frozen_ms is not None

    def snapshot(self) -> dict[str, Any]:
        """Return the clock as JSON-ready values."""
        return {"now": format_instant(self.now_ms()), "frozen": self.frozen}
