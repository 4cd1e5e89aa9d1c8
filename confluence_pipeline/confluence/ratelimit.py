"""A token-bucket rate limit shared by every request to one Confluence site from this process."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """Token bucket: at most ``rate`` requests per second on average, bursts up to ``burst``.

    A throttled response (429) pauses the whole bucket until the server's ``Retry-After`` has passed, so that the
    other threads of the process stop hammering the site too.
    """

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, rate))
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
        """Stop handing out tokens for ``seconds`` (used on 429 with ``Retry-After``)."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)


_limiters: dict[tuple[str, float], RateLimiter] = {}
_registry_lock = threading.Lock()


def shared_limiter(site: str, rate: float) -> RateLimiter:
    """Return the process-wide limiter for ``site`` at ``rate`` requests/s, creating it on first use."""
    with _registry_lock:
        key = (site, rate)
        if key not in _limiters:
            _limiters[key] = RateLimiter(rate)
        return _limiters[key]
