from datetime import UTC, datetime, timedelta

import pytest

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.cql import (
    InvalidSpaceKey,
    changed_pages_cql,
    format_cql_datetime,
    resolve_timezone,
    validate_space_key,
)
from confluence_pipeline.confluence.errors import ConfluenceAuthError, ConfluenceConfigError, ConfluenceUnavailable
from confluence_pipeline.confluence.ratelimit import RateLimiter
from confluence_pipeline.confluence.settings import ConfluenceSettings
from confluence_pipeline_tests.confluence.helpers import sandbox_settings


@pytest.mark.parametrize("key", ['ENG" OR space = "HR', "ENG) OR (1=1", "a b", "", "ENG\n", "x;DROP"])
def test_hostile_space_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidSpaceKey):
        changed_pages_cql(key, None, resolve_timezone("UTC"), timedelta(0))


@pytest.mark.parametrize("key", ["ENG", "DATA2", "~alice", "~557058:f0e1d2c3-aaaa-bbbb", "my_space"])
def test_real_space_keys_are_accepted(key: str) -> None:
    assert validate_space_key(key) == key


def test_cql_dates_are_written_in_the_site_zone_floored_to_the_minute() -> None:
    instant = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
    assert format_cql_datetime(instant, resolve_timezone("Asia/Seoul")) == "2026-03-02 08:59"
    cql = changed_pages_cql("ENG", instant, resolve_timezone("UTC"), timedelta(minutes=10))
    assert cql == 'space = "ENG" AND type = page AND lastmodified >= "2026-03-01 23:49" ORDER BY lastmodified ASC'


def test_paginate_follows_next_links_to_the_end(make_sandbox) -> None:
    server = make_sandbox(pages=60)
    client = ConfluenceClient(sandbox_settings(server))
    ids: list[str] = []
    for body in client.paginate("rest/api/content/search", {"cql": "type = page", "limit": 7, "expand": "version"}):
        ids.extend(item["id"] for item in body["results"])
    expected = {str(p.id) for p in server.corpus.pages(statuses=["current"])}
    assert len(ids) == len(set(ids))
    assert set(ids) <= expected and len(ids) >= 50


def test_data_center_flavour_with_personal_access_token(make_sandbox) -> None:
    server = make_sandbox(pages=30, flavor="dc")
    client = ConfluenceClient(sandbox_settings(server, email=None, api_token=None))
    assert client.check_access()
    pages = [item for body in client.paginate("rest/api/content/search", {"cql": "type = page", "limit": 5})
             for item in body["results"]]  # fmt: skip
    assert len(pages) == len({p["id"] for p in pages}) > 5


def test_wrong_token_fails_fast_naming_the_setting_without_the_secret(make_sandbox) -> None:
    server = make_sandbox(pages=10)
    client = ConfluenceClient(sandbox_settings(server, api_token="wrong-secret-token-123"))
    started = datetime.now(UTC)
    with pytest.raises(ConfluenceAuthError) as info:
        client.check_access()
    assert (datetime.now(UTC) - started).total_seconds() < 5
    assert "CONFLUENCE_API_TOKEN" in str(info.value)
    assert "wrong-secret-token-123" not in str(info.value)
    assert server.stats()["by_status"].get("401", 0) == 1


def test_a_throttled_access_check_waits_instead_of_blaming_the_url(make_sandbox) -> None:
    server = make_sandbox(pages=10)
    client = ConfluenceClient(sandbox_settings(server, backoff_max_s=2.0))  # Retry-After (1 s) honoured
    # One request every 2.5 s: after the request below takes the only token, the check's first two attempts are
    # throttled (429 with Retry-After: 1), as when several runs start at once.
    server.set_faults(rate_limit_rps=0.4, rate_limit_burst=1, retry_after_s=1)
    client.get_json("rest/api/space")
    assert client.check_access()["type"]
    assert server.stats()["by_status"].get("429", 0) >= 2


def test_wrong_url_fails_fast_naming_the_setting() -> None:
    settings = ConfluenceSettings(
        base_url="http://127.0.0.1:9/wiki", deployment="cloud", email="a@b.c", api_token="t", backoff_base_s=0.01
    )
    with pytest.raises(ConfluenceConfigError, match="CONFLUENCE_BASE_URL"):
        ConfluenceClient(settings).check_access()


def test_missing_credentials_name_the_settings() -> None:
    with pytest.raises(ValueError, match="CONFLUENCE_EMAIL and CONFLUENCE_API_TOKEN"):
        ConfluenceClient(ConfluenceSettings(base_url="https://acme.atlassian.net"))
    with pytest.raises(ValueError, match="CONFLUENCE_PAT"):
        ConfluenceClient(ConfluenceSettings(base_url="https://wiki.acme.com", deployment="datacenter"))


def test_429_with_retry_after_is_retried_and_counted(make_sandbox) -> None:
    server = make_sandbox(pages=10)
    server.set_faults(rate_limit_rps=2, retry_after_s=0.05)
    client = ConfluenceClient(sandbox_settings(server))
    for _ in range(6):
        client.get_json("rest/api/space")
    assert client.stats.throttled >= 1
    assert client.stats.retries >= 1


def test_http_date_retry_after_does_not_crash(make_sandbox) -> None:
    server = make_sandbox(pages=10)
    server.set_faults(rate_limit_rps=1, retry_after_http_date=True, retry_after_s=1)
    client = ConfluenceClient(sandbox_settings(server))
    for _ in range(3):
        client.get_json("rest/api/space")
    assert client.stats.throttled >= 1


def test_server_errors_exhaust_retries_with_a_clear_error(make_sandbox) -> None:
    server = make_sandbox(pages=10)
    server.set_faults(error_rate=1.0)
    client = ConfluenceClient(sandbox_settings(server, max_retries=3))
    with pytest.raises(ConfluenceUnavailable, match="after 4 attempts"):
        client.get_json("rest/api/space")
    assert client.stats.requests == 4 and client.stats.retries == 3


def test_rate_limiter_spaces_requests() -> None:
    limiter = RateLimiter(rate=50, burst=1)
    waited = sum(limiter.acquire() for _ in range(6))
    assert waited > 0.05
