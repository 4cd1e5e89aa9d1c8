"""benchmarks.freshness: the daemon it runs ticks within its wait, and a missing figure says what the sensor did."""

from __future__ import annotations

import pytest

from benchmarks import freshness
from confluence_pipeline.defs.resources import automation_settings


def test_bench_daemon_ticks_the_change_sensor_at_its_interval() -> None:
    # The product's default (300 s) outlasts the bench's wait after the edit: the bench must set an interval the
    # product accepts, or the tick that sees the edit comes after the bench gave up.
    settings = automation_settings(freshness.DAEMON_SETTINGS)
    assert settings.change_interval_s == freshness.SENSOR_INTERVAL_S
    assert automation_settings({}).change_interval_s > freshness.SENSOR_INTERVAL_S


def test_missing_figure_names_the_sensor_ticks(capsys: pytest.CaptureFixture[str]) -> None:
    freshness.print_figures({"searchable": None, "ticks": "18:03:59 no changes in 4 space(s) polled (4 request(s))"})
    out = capsys.readouterr().out
    assert "not measured (run missing, searchable=False" in out
    assert "confluence_change_sensor ticks: 18:03:59 no changes in 4 space(s) polled" in out
