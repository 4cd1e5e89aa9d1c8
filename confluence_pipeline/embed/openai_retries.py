"""Which failures of an OpenAI-compatible server are worth retrying, and how long the server asked us to wait.

The retry loop itself runs in :mod:`confluence_pipeline.embed.openai_provider` on tenacity with
:class:`confluence_pipeline.lib.retry.wait_hint_or_backoff`; this module supplies the OpenAI-specific parts: the
``x-should-retry`` and ``insufficient_quota`` rules, the ``retry-after-ms`` header and the
``x-ratelimit-reset-*`` durations, and short server error texts for messages.
"""

from __future__ import annotations

import math
import re
from typing import Final

import openai

from confluence_pipeline.lib.retry import parse_retry_after

__all__ = ["error_detail", "is_transient", "mentions_encoding", "parse_reset_duration", "server_wait_s"]

_DURATION_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_DURATION_SCALE: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DETAIL_LIMIT: Final = 300


def parse_reset_duration(value: str) -> float | None:
    """Parse OpenAI's rate-limit reset durations such as ``20ms``, ``1.5s`` or ``6m0s`` into seconds.

    Args:
        value: an ``x-ratelimit-reset-requests`` or ``x-ratelimit-reset-tokens`` header value.

    Returns:
        The seconds, or None when the value is not such a duration.
    """
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return sum(float(number) * _DURATION_SCALE[unit] for number, unit in parts)


def server_wait_s(exc: BaseException | None) -> float | None:
    """Return how long the server asked us to wait before retrying, in seconds, or None when it did not say.

    Args:
        exc: the failure of the last attempt.

    Returns:
        ``retry-after-ms``, else ``Retry-After`` (seconds or HTTP date), else for a 429 the reset time of the
        exhausted budget (requests or tokens) from OpenAI's ``x-ratelimit-reset-*`` headers.
    """
    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            seconds = float(raw_ms) / 1000.0
        except ValueError:
            seconds = math.nan
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    retry_after = parse_retry_after(headers.get("retry-after"))
    if retry_after is not None:
        return retry_after
    if exc.status_code != 429:
        return None
    # Without Retry-After, OpenAI's reset headers say when the exhausted budget (requests or tokens) refills.
    resets: dict[str, float] = {}
    for kind in ("requests", "tokens"):
        raw = headers.get(f"x-ratelimit-reset-{kind}")
        reset = parse_reset_duration(raw) if raw else None
        if reset is not None:
            resets[kind] = reset
    if not resets:
        return None
    exhausted = [s for kind, s in resets.items() if headers.get(f"x-ratelimit-remaining-{kind}", "").strip() == "0"]
    return max(exhausted or resets.values())


def is_transient(exc: BaseException) -> bool:
    """Tell whether a failure may go away by itself, so that the same request is worth repeating.

    Args:
        exc: the failure.

    Returns:
        True for connection failures and for 408, 409, 429 (unless the quota is exhausted) and 5xx responses;
        the server's ``x-should-retry`` header overrides the status.
    """
    if isinstance(exc, openai.APIConnectionError):
        return True
    if not isinstance(exc, openai.APIStatusError):
        return False
    should_retry = exc.response.headers.get("x-should-retry")
    if should_retry in ("true", "false"):
        return should_retry == "true"
    if exc.status_code == 429 and _error_code(exc) == "insufficient_quota":
        return False
    return exc.status_code in (408, 409, 429) or exc.status_code >= 500


def _error_code(exc: openai.APIStatusError) -> str | None:
    body = exc.body
    if isinstance(body, dict):
        code = body.get("code") or body.get("type")
        return str(code) if code is not None else None
    return None


def error_detail(exc: openai.APIStatusError) -> str:
    """Return the server's own error message, shortened, for context in our messages.

    Args:
        exc: the error response.

    Returns:
        The message on one line, at most 300 characters (plus an ellipsis); empty when the server gave none.
    """
    body = exc.body
    message: object = None
    if isinstance(body, dict):
        message = body.get("message") or body.get("error") or body.get("detail")
    elif isinstance(body, str):
        message = body
    text = str(message) if message else ""
    text = " ".join(text.split())
    return text[:_DETAIL_LIMIT] + ("…" if len(text) > _DETAIL_LIMIT else "")


def mentions_encoding(exc: openai.APIStatusError) -> bool:
    """Tell whether a 400 complains about ``encoding_format`` (servers that only send float vectors).

    Args:
        exc: the error response.

    Returns:
        True when the server's message mentions base64 or encoding_format.
    """
    text = f"{error_detail(exc)} {exc.message}".lower()
    return "base64" in text or "encoding_format" in text
