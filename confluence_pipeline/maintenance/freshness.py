"""Freshness: has each space been confirmed current within the allowed age (``FRESHNESS_MAX_AGE_HOURS``)?

A space is current as of the latest of three moments: the last sync that wrote something, the last change-sensor probe
that found nothing to fetch (both in the pipeline database), and the last ingest run that finished for the space (in
the Dagster instance, because an idle run writes nothing to the database). A space is stale when that moment is older
than the allowed age, or when there is none. Plain logic; ``defs/maintenance/freshness.py`` is the Dagster side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = ["Freshness", "FreshnessSettings", "assess_freshness"]


@dataclass(frozen=True)
class FreshnessSettings:
    """How fresh a space must be.

    Attributes:
        max_age_hours: longest time a space may go without being confirmed current (``FRESHNESS_MAX_AGE_HOURS``).
    """

    max_age_hours: float = 24.0

    @property
    def max_age(self) -> timedelta:
        """The allowed age as a timedelta."""
        return timedelta(hours=self.max_age_hours)

    def validate(self) -> None:
        """Raise ValueError naming ``FRESHNESS_MAX_AGE_HOURS`` when it is not positive."""
        if self.max_age_hours <= 0:
            raise ValueError(f"FRESHNESS_MAX_AGE_HOURS={self.max_age_hours} must be greater than 0")


@dataclass(frozen=True)
class Freshness:
    """The freshness of one space at one moment.

    Attributes:
        space_key: the space.
        fresh: confirmed current within the allowed age.
        current_as_of: when the space was last confirmed current; None: never.
        checked_at: the moment of the assessment.
        max_age: the allowed age.
    """

    space_key: str
    fresh: bool
    current_as_of: datetime | None
    checked_at: datetime
    max_age: timedelta

    @property
    def age(self) -> timedelta | None:
        """How old the confirmation is; None when there was none."""
        return self.checked_at - self.current_as_of if self.current_as_of else None

    @property
    def stale_since(self) -> datetime | None:
        """When the space became stale (its confirmation plus the allowed age); None when it never had one."""
        return self.current_as_of + self.max_age if self.current_as_of else None

    def description(self) -> str:
        """One line for people: how old the space's data is, against the allowed age, and what to do when stale."""
        allowed = _hours(self.max_age)
        if self.current_as_of is None:
            return (
                f"space {self.space_key} has never been synced: materialize it (`confluence-pipeline materialize "
                f"--space {self.space_key}`) or turn on confluence_change_sensor"
            )
        age = _hours(self.age or timedelta())
        if self.fresh:
            return f"space {self.space_key} was confirmed current {age} ago, within the {allowed} allowed"
        return (
            f"space {self.space_key} was last confirmed current {age} ago, more than the {allowed} allowed "
            "(FRESHNESS_MAX_AGE_HOURS): check that the Dagster daemon and confluence_change_sensor run, and whether "
            "the space's last runs failed"
        )

    def metadata(self) -> dict[str, Any]:
        """Plain-typed metadata for the asset check."""
        return {
            "space": self.space_key,
            "current_as_of": self.current_as_of.isoformat() if self.current_as_of else "never",
            "age_hours": round(self.age.total_seconds() / 3600, 2) if self.age is not None else -1.0,
            "max_age_hours": round(self.max_age.total_seconds() / 3600, 2),
        }


def _hours(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def assess_freshness(
    space_key: str,
    *moments: datetime | None,
    settings: FreshnessSettings,
    now: datetime,
) -> Freshness:
    """Judge a space's freshness from the moments it was confirmed current.

    Args:
        space_key: the space.
        *moments: when it was confirmed current, by any means (None for a means that never confirmed it); the
            latest counts. All timezone-aware.
        settings: the allowed age.
        now: the moment of the assessment (timezone-aware).

    Returns:
        The assessment.
    """
    present = [moment for moment in moments if moment is not None]
    latest = max(present) if present else None
    fresh = latest is not None and now - latest <= settings.max_age
    return Freshness(space_key, fresh, latest, now, settings.max_age)
