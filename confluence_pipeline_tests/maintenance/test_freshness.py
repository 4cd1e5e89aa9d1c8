"""Freshness without Dagster: the latest confirmation counts, and the allowed age decides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from confluence_pipeline.maintenance.freshness import FreshnessSettings, assess_freshness

NOW = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)
DAY = FreshnessSettings(max_age_hours=24)


def test_the_latest_confirmation_counts() -> None:
    old, recent = NOW - timedelta(days=3), NOW - timedelta(hours=2)
    fresh = assess_freshness("ENG", old, None, recent, settings=DAY, now=NOW)
    assert fresh.fresh and fresh.current_as_of == recent and fresh.age == timedelta(hours=2)
    assert fresh.metadata() == {
        "space": "ENG",
        "current_as_of": recent.isoformat(),
        "age_hours": 2.0,
        "max_age_hours": 24.0,
    }
    assert "confirmed current 2.0 h ago, within the 24.0 h allowed" in fresh.description()


def test_a_space_older_than_the_allowed_age_is_stale_and_says_what_to_check() -> None:
    last = NOW - timedelta(hours=30)
    stale = assess_freshness("ENG", last, None, settings=DAY, now=NOW)
    assert not stale.fresh and stale.stale_since == last + timedelta(hours=24)
    assert "30.0 h ago, more than the 24.0 h allowed (FRESHNESS_MAX_AGE_HOURS)" in stale.description()
    assert "confluence_change_sensor" in stale.description()
    # Exactly the allowed age is still fresh.
    assert assess_freshness("ENG", NOW - timedelta(hours=24), settings=DAY, now=NOW).fresh


def test_a_space_never_synced_is_stale() -> None:
    never = assess_freshness("OPS", None, None, settings=DAY, now=NOW)
    assert not never.fresh and never.current_as_of is None and never.stale_since is None
    assert "never been synced" in never.description() and "--space OPS" in never.description()
    assert never.metadata()["current_as_of"] == "never"


def test_the_allowed_age_must_be_positive() -> None:
    with pytest.raises(ValueError, match="FRESHNESS_MAX_AGE_HOURS=0"):
        FreshnessSettings(max_age_hours=0).validate()
