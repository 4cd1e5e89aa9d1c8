from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt

from confluence_pipeline.lib.retry import backoff_s, parse_retry_after, wait_hint_or_backoff


class _Hinted(Exception):
    def __init__(self, seconds: float | None) -> None:
        super().__init__("hinted")
        self.seconds = seconds


def _hint(exc: BaseException | None) -> float | None:
    return exc.seconds if isinstance(exc, _Hinted) else None


def test_retry_after_in_seconds_and_as_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:05 GMT", now) == 5.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:05 -0000", now) == 5.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("", now) is None
    assert parse_retry_after(None, now) is None


@pytest.mark.parametrize("value", ["-3", "inf", "nan"])
def test_retry_after_outside_the_rfc_is_unreadable(value: str) -> None:
    assert parse_retry_after(value) is None


def test_backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() -> None:
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 5.0), (30, 5.0)]:
        waits = [backoff_s(attempt, 0.5, 5.0) for _ in range(200)]
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits), attempt
        assert len(set(waits)) > 1


def _sleeps(exceptions: list[BaseException], wait: wait_hint_or_backoff) -> list[float]:
    """Run a call that fails with ``exceptions`` in turn under ``wait`` and return the sleeps tenacity asked for."""
    sleeps: list[float] = []
    failures = iter(exceptions)
    retrying = Retrying(
        stop=stop_after_attempt(len(exceptions) + 1),
        wait=wait,
        retry=retry_if_exception_type(_Hinted),
        sleep=sleeps.append,
    )
    with pytest.raises(RetryError):
        for attempt in retrying:
            with attempt:
                raise next(failures, _Hinted(None))
    return sleeps


def test_wait_honours_the_server_hint_capped_else_backs_off() -> None:
    wait = wait_hint_or_backoff(_hint, base_s=0.1, max_s=0.4, max_hint_s=2.0)
    sleeps = _sleeps([_Hinted(1.5), _Hinted(None), _Hinted(9.0), _Hinted(None)], wait)
    assert sleeps[0] == 1.5
    assert 0.1 <= sleeps[1] <= 0.2  # second attempt's ceiling: 0.2
    assert sleeps[2] == 2.0  # hint capped at max_hint_s
    assert 0.2 <= sleeps[3] <= 0.4


def test_hint_jitter_only_adds_wait_and_the_cap_defaults_to_max_s() -> None:
    jittered = wait_hint_or_backoff(_hint, base_s=0.1, max_s=10.0, hint_jitter=0.1)
    assert all(1.0 <= s <= 1.1 for s in _sleeps([_Hinted(1.0)] * 20, jittered))
    capped = wait_hint_or_backoff(_hint, base_s=0.1, max_s=3.0)
    assert _sleeps([_Hinted(60.0)], capped) == [3.0]
