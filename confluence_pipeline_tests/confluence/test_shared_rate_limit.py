"""The Confluence rate limit shared through the pipeline's database by several processes."""

import json
import logging
import subprocess
import sys
import time

import psycopg
import pytest

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.ratelimit import RateLimiter, SharedRateLimiter, shared_limiter
from confluence_pipeline_tests.confluence.helpers import sandbox_settings

# Each process waits for a common start time, then takes its slots and prints when it got each one.
_WORKER = """
import json, sys, time
from confluence_pipeline.confluence.ratelimit import RateLimiter, SharedRateLimiter
url, start, count, rate = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
limiter = SharedRateLimiter(url, "https://site.example/wiki", rate, burst=1) if url else RateLimiter(rate, burst=1)
limiter.acquire()  # connect and migrate before the start, so that both processes start even
time.sleep(max(0.0, start - time.time()))
slots = []
for _ in range(count):
    limiter.acquire()
    slots.append(time.time())
print(json.dumps(slots))
"""


def _slots(url: str, processes: int, count: int, rate: float) -> list[float]:
    start = time.time() + 3.0
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, url, str(start), str(count), str(rate)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(processes)
    ]
    times: list[float] = []
    for worker in workers:
        out, _ = worker.communicate(timeout=60)
        assert worker.returncode == 0
        times.extend(json.loads(out))
    return sorted(times)


def test_processes_sharing_a_database_keep_to_the_rate_together(db_url: str) -> None:
    # Three processes, 8 requests each at 20 requests/s: together they need 23 intervals of 50 ms (1.15 s); each on
    # a limiter of its own, they would be done in 7 (0.35 s). The bound leaves room for a late first wake-up.
    slots = _slots(db_url, 3, 8, 20.0)
    assert slots[-1] - slots[0] >= 0.9


def test_a_pause_after_a_429_holds_back_the_other_processes(db_url: str) -> None:
    seen_429 = SharedRateLimiter(db_url, "https://site.example/wiki", 100.0)
    other = SharedRateLimiter(db_url, "https://site.example/wiki", 100.0)
    other.acquire()
    seen_429.pause(0.6)
    started = time.monotonic()
    waited = other.acquire()
    assert waited >= 0.5 and time.monotonic() - started >= 0.5
    # Another site is not held back.
    assert SharedRateLimiter(db_url, "https://other.example/wiki", 100.0).acquire() < 0.1


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "process"])
def test_after_a_pause_requests_resume_at_the_rate_without_a_burst(db_url: str, shared: bool) -> None:
    # 20 requests/s with bursts of 5: after a quiet spell 4 requests would go at once. After a 429 the server's
    # bucket is empty, so the first goes when the pause ends and the next ones 50 ms apart.
    site = "https://paused.example/wiki"
    limiter = SharedRateLimiter(db_url, site, 20.0, burst=5) if shared else RateLimiter(20.0, burst=5)
    limiter.acquire()
    time.sleep(0.3)  # a quiet spell: burst credit builds up
    limiter.pause(0.3)
    started = time.monotonic()
    for _ in range(4):
        limiter.acquire()
    assert time.monotonic() - started >= 0.3 + 3 * 0.05 - 0.02
    # A quiet spell after that earns the burst back.
    time.sleep(0.3)
    started = time.monotonic()
    for _ in range(4):
        limiter.acquire()
    assert time.monotonic() - started < 0.1


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "process"])
def test_a_quiet_spell_earns_a_burst_of_most_but_not_all_of_a_seconds_requests(db_url: str, shared: bool) -> None:
    # 20 requests/s: a quiet spell lets 16 go at once, and holds the last 4 of a second's 20 to the rate, so that a
    # site's bucket of the same size keeps a margin for requests that reach it later than their slot.
    site = "https://burst.example/wiki"
    limiter = SharedRateLimiter(db_url, site, 20.0) if shared else RateLimiter(20.0)
    limiter.acquire()  # connect first: the spell below is the quiet one
    time.sleep(1.2)
    started = time.monotonic()
    for _ in range(16):
        limiter.acquire()
    assert time.monotonic() - started < 0.15
    for _ in range(4):
        limiter.acquire()
    assert time.monotonic() - started >= 4 * 0.05 - 0.02


def test_the_site_key_keeps_no_user_information(db_url: str) -> None:
    SharedRateLimiter(db_url, "https://bob:s3cr3t-token@site.example/wiki", 10.0).acquire()
    with psycopg.connect(db_url) as conn:
        sites = [row[0] for row in conn.execute("SELECT site FROM rate_limits").fetchall()]
    assert sites == ["https://***@site.example/wiki"]


def test_an_unreachable_database_falls_back_to_the_process_limit(caplog: pytest.LogCaptureFixture) -> None:
    limiter = SharedRateLimiter("postgresql://pipeline:pg-pass-123@127.0.0.1:1/pipeline", "https://s.example", 50.0)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            limiter.acquire()
    warnings = [r.getMessage() for r in caplog.records if "shared Confluence rate limit" in r.getMessage()]
    assert len(warnings) == 1 and "keeps to 50 requests/s on its own" in warnings[0]
    assert "pg-pass-123" not in caplog.text


def test_a_client_given_the_database_shares_its_limit(make_sandbox, db_url: str) -> None:
    server = make_sandbox(pages=5)
    settings = sandbox_settings(server)
    client = ConfluenceClient(settings, database_url=db_url)
    client.get_json("rest/api/space")
    assert isinstance(shared_limiter(settings.api_url, settings.rate_limit_rps, db_url), SharedRateLimiter)
    assert isinstance(shared_limiter(settings.api_url, settings.rate_limit_rps), RateLimiter)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM rate_limits").fetchone()[0] == 1
