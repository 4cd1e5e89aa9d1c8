"""The client-side rate limit of one Confluence site: per process, or shared through the pipeline's database.

A process-local token bucket keeps one process to the configured rate. Runs in parallel (the daemon launches up to
``max_concurrent_runs``; ``materialize`` runs spaces side by side) are separate processes, possibly on separate
machines: each would keep to the rate on its own, and together press the site several times as hard. With the
pipeline's database, :class:`SharedRateLimiter` reserves each request's slot there instead, so that every process
together keeps to the rate.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

import psycopg

from confluence_pipeline.lib.redact import redact_url, redact_userinfo

log = logging.getLogger(__name__)

# After the database failed to answer, the process limits its own requests for this long before trying it again.
_SHARED_RETRY_S = 30.0

# A quiet spell earns a burst of this share of a second's requests, not all of them. A request reaches the site some
# time after its slot (connecting, building the request, the runs' other processes on the same cores), and not the
# same time each: the first requests of a burst reached the sandbox's bucket up to 0.1 s late, the later ones on
# time. A burst of the whole rate emptied the site's bucket of the same size, and the request at the edge of the
# next slot was throttled: one 429 in each of 6 end-to-end syncs, each stalling every process for its Retry-After.
# With a fifth of a second's requests held back, the site's bucket keeps that margin: no 429 in 6 of 6.
_BURST_SHARE = 0.8


def default_burst(rate: float) -> float:
    """The burst a limiter at ``rate`` requests/s allows after a quiet spell: 80% of a second's requests, at least 1.

    Args:
        rate: requests per second.
    """
    return max(1.0, rate * _BURST_SHARE)


class Limiter(Protocol):
    """What the client needs of a rate limit."""

    def acquire(self) -> float:
        """Block until a request may be sent; return the seconds spent waiting."""
        ...

    def pause(self, seconds: float) -> None:
        """Hold back requests for ``seconds`` (a 429's ``Retry-After``)."""
        ...


class RateLimiter:
    """Token bucket: at most ``rate`` requests per second on average, bursts up to ``burst`` (:func:`default_burst`).

    A throttled response (429) pauses the whole bucket until the server's ``Retry-After`` has passed, so that the
    other threads of the process stop hammering the site too; then requests resume at the rate, without a burst. The
    server's own bucket is empty at that point: a burst right after the pause was throttled again (seen against a
    token bucket of the same rate and size, as Data Center's rate limiting is).
    """

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else default_burst(rate))
        self._tokens = self.burst
        self._updated = time.monotonic()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until a request may be sent. Returns the seconds spent waiting."""
        waited = 0.0
        while True:
            with self._lock:
                now = time.monotonic()
                if now < self._paused_until:
                    delay = self._paused_until - now
                else:
                    self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
                    self._updated = now
                    if self._tokens >= 1.0:
                        self._tokens -= 1.0
                        return waited
                    delay = (1.0 - self._tokens) / self.rate
            time.sleep(delay)
            waited += delay

    def pause(self, seconds: float) -> None:
        """Stop handing out tokens for ``seconds`` (used on 429 with ``Retry-After``), then go on at the rate."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)
            # One token when the pause ends, and only what the rate adds after it: no burst from the quiet spell.
            self._tokens = 1.0
            self._updated = self._paused_until


class SharedRateLimiter:
    """At most ``rate`` requests per second to a site from every process that uses one database, together.

    Each request reserves its send time in the database's ``rate_limits`` row of the site, in one statement, on the
    server's clock (see :func:`confluence_pipeline.store.rate_limits.reserve`), then sleeps until then; a 429 pauses
    every process, which then resume at the rate. Bursts of up to ``burst`` requests go at once after a quiet spell
    (not after a pause), as with :class:`RateLimiter`.

    When the database does not answer, the process falls back to its own token bucket (logged once) and tries the
    database again after a while: a database hiccup slows nothing down and fails no request, at the cost of the
    processes keeping to the rate each on its own meanwhile.
    """

    def __init__(self, database_url: str, site: str, rate: float, burst: float | None = None) -> None:
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else default_burst(rate))
        # The key is stored in the database: never the user information a URL might carry.
        self.site = redact_userinfo(site)
        self._url = database_url
        self._local = RateLimiter(rate, burst)
        self._conn: psycopg.Connection | None = None
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until this process may send a request; returns the seconds spent waiting."""
        from confluence_pipeline.store import rate_limits

        interval = 1.0 / self.rate
        with self._lock:
            conn = self._connection()
            delay: float | None = None
            if conn is not None:
                try:
                    delay = rate_limits.reserve(conn, self.site, interval, (self.burst - 1.0) * interval)
                except psycopg.Error as exc:
                    self._unavailable(exc)
        if delay is None:
            return self._local.acquire()
        if delay > 0:
            time.sleep(delay)
        return delay

    def pause(self, seconds: float) -> None:
        """Hold back every process's requests to the site for ``seconds``."""
        from confluence_pipeline.store import rate_limits

        self._local.pause(seconds)
        with self._lock:
            conn = self._connection()
            if conn is None:
                return
            try:
                rate_limits.pause(conn, self.site, seconds, (self.burst - 1.0) / self.rate)
            except psycopg.Error as exc:
                self._unavailable(exc)

    def close(self) -> None:
        """Close the database connection (the next request opens it again)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connection(self) -> psycopg.Connection | None:
        # Called with the lock held.
        if self._conn is not None and not self._conn.closed:
            return self._conn
        if time.monotonic() < self._retry_at:
            return None
        from confluence_pipeline.store.db import DatabaseError, connect
        from confluence_pipeline.store.migrate import MigrationError, apply_migrations

        try:
            apply_migrations(self._url)  # the table may be newer than the database (a CLI command before any run)
            self._conn = connect(self._url, autocommit=True, vector=False)
        except (DatabaseError, MigrationError, psycopg.Error) as exc:
            self._unavailable(exc)
            return None
        return self._conn

    def _unavailable(self, exc: Exception) -> None:
        # Called with the lock held.
        if self._retry_at == 0.0 or self._conn is not None:
            detail = redact_url(str(exc).strip().splitlines()[0]) if str(exc).strip() else type(exc).__name__
            log.warning(
                "the shared Confluence rate limit is unavailable (%s); this process keeps to %g requests/s on its "
                "own, and tries the database again in %g s",
                detail,
                self.rate,
                _SHARED_RETRY_S,
            )
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._retry_at = time.monotonic() + _SHARED_RETRY_S


_limiters: dict[tuple[str, float, str | None], Limiter] = {}
_registry_lock = threading.Lock()


def shared_limiter(site: str, rate: float, database_url: str | None = None) -> Limiter:
    """Return this process's limiter for ``site`` at ``rate`` requests/s, creating it on first use.

    Args:
        site: the site's REST base URL.
        rate: requests per second.
        database_url: the pipeline's database; with it, the limit is shared by every process that uses it
            (:class:`SharedRateLimiter`), else it holds for this process alone (:class:`RateLimiter`).
    """
    with _registry_lock:
        key = (site, rate, database_url)
        if key not in _limiters:
            _limiters[key] = SharedRateLimiter(database_url, site, rate) if database_url else RateLimiter(rate)
        return _limiters[key]
