"""Polling within a tick's budget: bounded probes, as many spaces as fit, resumed where the last tick stopped."""

from __future__ import annotations

import json

from confluence_pipeline.confluence.errors import ConfluenceUnavailable
from confluence_pipeline.confluence.polling import (
    PollCursor,
    poll_spaces,
    polling_order,
    probe_bound_s,
    probe_settings,
)
from confluence_pipeline.confluence.settings import ConfluenceSettings
from confluence_pipeline.confluence.sync import ChangeCheck

KEYS = [f"S{i:03d}" for i in range(200)]


class FakeClock:
    """Monotonic seconds that move only when a probe takes time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _prober(clock: FakeClock, seconds: float, failing: set[str] = frozenset()):  # type: ignore[assignment]
    polled: list[str] = []

    def probe(key: str) -> ChangeCheck:
        polled.append(key)
        clock.now += seconds
        if key in failing:
            raise ConfluenceUnavailable("HTTP 503")
        return ChangeCheck(key, None, False, 3, 3)

    return probe, polled


def test_two_hundred_spaces_are_polled_across_ticks_that_each_stay_within_the_budget() -> None:
    cursor = PollCursor()
    seen: list[str] = []
    for _tick in range(4):
        clock = FakeClock()
        probe, polled = _prober(clock, seconds=0.25)
        outcome = poll_spaces(KEYS, probe, cursor, budget_s=40, bound_s=20, clock=clock)
        # A probe starts only while its worst case still fits: the tick never runs past its budget.
        assert clock.now <= 40 - 20 + 0.25
        assert outcome.polled == len(polled) == 81
        assert outcome.not_reached == polling_order(KEYS, cursor.resume)[: 200 - 81]
        seen += polled
        cursor = PollCursor.from_json(cursor.to_json())
    # Resumed where the last tick stopped, wrapping around: every space in turn, none twice before all once.
    assert seen[:200] == KEYS and seen[200:] == KEYS[:124]


def test_a_failing_probe_is_reported_and_does_not_stop_the_tick() -> None:
    clock = FakeClock()
    probe, polled = _prober(clock, seconds=0.1, failing={"S001"})
    outcome = poll_spaces(KEYS[:5], probe, PollCursor(), budget_s=40, bound_s=20, clock=clock)
    assert polled == KEYS[:5] and outcome.errors == {"S001": "HTTP 503"}
    assert [check.space_key for check in outcome.checks] == ["S000", "S002", "S003", "S004"]
    assert outcome.not_reached == []


def test_the_cursor_is_json_with_a_marker_per_space_and_forgets_removed_spaces() -> None:
    cursor = PollCursor(markers={"ENG": "2026-01-09T09:00:00+00:00", "OLD": "x"}, reconcile={"HR": "count-9-10"})
    clock = FakeClock()
    probe, _ = _prober(clock, seconds=0.1)
    poll_spaces(["ENG", "HR"], probe, cursor, budget_s=40, bound_s=20, clock=clock)
    data = json.loads(cursor.to_json())
    assert data == {
        "v": 1,
        "markers": {"ENG": "2026-01-09T09:00:00+00:00"},
        "reconcile": {"HR": "count-9-10"},
        "resume": None,
    }
    assert PollCursor.from_json(cursor.to_json()) == cursor
    # An unreadable cursor (say, from an older version) starts afresh rather than failing the sensor.
    assert PollCursor.from_json("ENG:2026-01-09") == PollCursor() == PollCursor.from_json(None)


def test_probe_settings_bound_one_probe_to_half_the_budget() -> None:
    settings = ConfluenceSettings(base_url="https://acme.atlassian.net", email="a@b.c", api_token="t")
    probe = probe_settings(settings, budget_s=40)
    assert probe.max_retries == 0 and probe.read_timeout_s == 10 and probe.connect_timeout_s == 5
    assert probe.backoff_max_s == 5 and probe_bound_s(probe) <= 20.2
    # The unbounded client could block a tick for minutes: six retries with minute-long back-off.
    assert probe_bound_s(settings) > 300


def test_polling_order_starts_at_the_resume_point_or_the_next_key_after_it() -> None:
    assert polling_order(["C", "A", "B"], None) == ["A", "B", "C"]
    assert polling_order(["C", "A", "B"], "B") == ["B", "C", "A"]
    # The space to resume from was removed meanwhile: start at the next one.
    assert polling_order(["A", "C", "D"], "B") == ["C", "D", "A"]
    assert polling_order(["A", "C"], "Z") == ["A", "C"]
