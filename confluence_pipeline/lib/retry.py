"""When to retry an HTTP request: the server's ``Retry-After`` hint, else jittered exponential back-off.

Callers keep what is specific to their server (which statuses are transient, extra hint headers such as OpenAI's
``x-ratelimit-reset-*``); this module holds the mechanism they share, as a tenacity wait strategy.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from tenacity import RetryCallState
from tenacity.wait import wait_base

__all__ = ["backoff_s", "parse_retry_after", "wait_hint_or_backoff"]


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` header given in seconds or as an HTTP date (RFC 9110 section 10.2.3).

    Args:
        value: the header value.
        now: the current time (for tests).

    Returns:
        Seconds to wait (a date in the past gives 0), or None when absent or unreadable (including negative or
        non-finite numbers, which the RFC does not allow).
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        # HTTP dates are always GMT; "-0000" parses as a naive datetime.
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_s(attempt: int, base_s: float, max_s: float) -> float:
    """Exponential back-off with jitter for the wait after failed attempt number ``attempt``.

    The ceiling doubles per attempt from ``base_s`` up to ``max_s``; the wait is drawn uniformly from the upper half
    of it, so many workers that failed together do not retry in lock-step, yet none retries almost at once.

    Args:
        attempt: the number of the attempt that just failed (1 for the first).
        base_s: the ceiling after the first failure, in seconds.
        max_s: the largest ceiling, in seconds.

    Returns:
        Seconds to wait.
    """
    ceiling = min(max_s, base_s * 2 ** (attempt - 1))
    return ceiling * (0.5 + 0.5 * random.random())


class wait_hint_or_backoff(wait_base):  # lower case like tenacity's own strategies (wait_exponential, ...)
    """Tenacity wait strategy: what the server asked for when it said, else :func:`backoff_s`.

    Args:
        hint: reads the failed attempt's exception and returns the seconds the server asked to wait, or None.
        base_s: back-off ceiling after the first failure.
        max_s: largest back-off ceiling.
        max_hint_s: longest server-requested wait honoured (defaults to ``max_s``).
        hint_jitter: fraction of random extra wait added to a hint, to spread concurrent workers that all
            received the same ``Retry-After``.
    """

    def __init__(
        self,
        hint: Callable[[BaseException | None], float | None],
        *,
        base_s: float,
        max_s: float,
        max_hint_s: float | None = None,
        hint_jitter: float = 0.0,
    ) -> None:
        self.hint = hint
        self.base_s = base_s
        self.max_s = max_s
        self.max_hint_s = max_s if max_hint_s is None else max_hint_s
        self.hint_jitter = hint_jitter

    def __call__(self, retry_state: RetryCallState) -> float:
        """Return the seconds to sleep before the next attempt."""
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        hinted = self.hint(exc)
        if hinted is not None:
            return min(hinted * (1.0 + self.hint_jitter * random.random()), self.max_hint_s)
        return backoff_s(retry_state.attempt_number, self.base_s, self.max_s)
