"""Masking secrets before text reaches a log, an exception or the database."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import urlsplit, urlunsplit

__all__ = ["MASK", "redact_url", "redact_userinfo", "scrub_secrets"]

MASK: Final = "***"

_PASSWORD_IN_URL = re.compile(r"(://[^:/@]+:)[^@]*@")
# Key-shaped strings are masked even when the exact key is unknown (e.g. a server echoing a different key).
_KEY_PATTERN = re.compile(r"\b(sk|rk|pk)-[A-Za-z0-9_\-*]{6,}")
_BEARER_PATTERN = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")


def redact_url(text: str) -> str:
    """Mask the password of every ``scheme://user:password@host`` URL in a text, keeping the user name.

    Args:
        text: a URL or a message that may quote one (libpq quotes its connection string).

    Returns:
        The text with each such password replaced by ``***``.
    """
    return _PASSWORD_IN_URL.sub(rf"\1{MASK}@", text)


def redact_userinfo(url: str) -> str:
    """Mask the whole userinfo of one URL (``https://***@host/...``), for URLs whose user part may be a token.

    Args:
        url: the URL.

    Returns:
        The URL with everything before ``@`` in its authority replaced by ``***``; unchanged without userinfo.
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=f"{MASK}@{parts.netloc.rsplit('@', 1)[1]}"))


def scrub_secrets(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove secrets from a message before it is logged or raised.

    Args:
        text: The message, possibly quoting a server response or a request.
        secrets: Exact secret values to mask (e.g. the API key). Empty and very short values are ignored
            because masking them would mangle ordinary text without protecting anything.

    Returns:
        The message with every given secret, every ``sk-…``-shaped key and every bearer token replaced by ``***``.
    """
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    text = _KEY_PATTERN.sub(lambda m: f"{m.group(1)}-{MASK}", text)
    return _BEARER_PATTERN.sub(lambda m: f"{m.group(1)}{MASK}", text)
