"""Helpers for tests that talk to the local Confluence sandbox through the real client."""

from __future__ import annotations

from typing import Any

from confluence_pipeline.confluence.settings import ConfluenceSettings


def sandbox_settings(server: Any, **overrides: Any) -> ConfluenceSettings:
    """ConfluenceSettings pointing at a sandbox, with short back-off so retries do not slow the suite."""
    values: dict[str, Any] = {
        "base_url": server.base_url,
        "deployment": "cloud" if server.flavor == "cloud" else "datacenter",
        "email": server.email,
        "api_token": server.token,
        "personal_access_token": None if server.flavor == "cloud" else server.token,
        "rate_limit_rps": 1000.0,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.2,
        "include_personal_spaces": True,
    }
    values.update(overrides)
    return ConfluenceSettings(**values)


def sandbox_environ(server: Any, db_url: str, **extra: str) -> dict[str, str]:
    """The variables a deployment would set to sync the sandbox into ``db_url``; ``extra`` adds or overrides some.

    Besides the URL and login: no client rate limit to speak of, and stage work in process.
    """
    return {
        "DATABASE_URL": db_url,
        "CONFLUENCE_BASE_URL": server.base_url,
        "CONFLUENCE_DEPLOYMENT": "cloud" if server.flavor == "cloud" else "datacenter",
        "CONFLUENCE_EMAIL": server.email,
        "CONFLUENCE_API_TOKEN": server.token,
        "CONFLUENCE_RATE_LIMIT_RPS": "1000",
        "PIPELINE_WORKERS": "1",
        **extra,
    }
