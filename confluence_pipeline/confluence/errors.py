"""Errors raised by the Confluence client. Messages name the setting to fix and never carry a secret."""

from __future__ import annotations


class ConfluenceError(RuntimeError):
    """Base class for Confluence failures."""

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts


class ConfluenceAuthError(ConfluenceError):
    """The credentials were rejected (401) or lack permission (403 that is not throttling)."""


class ConfluenceConfigError(ConfluenceError):
    """The base URL is wrong or unreachable."""


class ConfluenceNotFound(ConfluenceError):
    """The resource (space, page) does not exist or is not visible to this user."""


class ConfluenceBadRequest(ConfluenceError):
    """Confluence refused the request as malformed (e.g. unsupported CQL)."""


class ConfluenceConflict(ConfluenceError):
    """Confluence refused a write that conflicts with the current state (409, e.g. a stale version number)."""


class ConfluenceUnavailable(ConfluenceError):
    """Retries were exhausted on throttling, server errors or network errors."""
