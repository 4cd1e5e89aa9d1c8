"""Calendar quarters in a time zone: ``2026Q4`` starts at midnight of 1 October in the team's zone, not in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter, e.g. ``Quarter(2026, 4)`` (written ``2026Q4``)."""

    year: int
    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4 or not 1900 <= self.year <= 9999:
            raise ValueError(f"no such quarter: {self.year}Q{self.number}")

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """Read ``2026Q4`` (also ``2026-Q4``, ``2026q4``).

        Raises:
            ValueError: naming the expected form.
        """
        match = _QUARTER.match(text or "")
        if not match:
            raise ValueError(f"{text!r} is not a quarter: write it as YYYYQn, e.g. 2026Q4")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, instant: datetime, tz: ZoneInfo) -> Quarter:
        """The quarter that holds ``instant`` in ``tz`` (a naive instant is taken as already in ``tz``)."""
        local = instant.astimezone(tz) if instant.tzinfo is not None else instant
        return cls(local.year, (local.month - 1) // 3 + 1)

    @property
    def first_day(self) -> date:
        """The quarter's first day."""
        return date(self.year, 3 * (self.number - 1) + 1, 1)

    def next(self) -> Quarter:
        """The following quarter."""
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)

    def previous(self) -> Quarter:
        """The quarter before."""
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    def start(self, tz: ZoneInfo) -> datetime:
        """Midnight of the first day, in ``tz`` (an aware datetime)."""
        return datetime.combine(self.first_day, time(), tz)

    def end(self, tz: ZoneInfo) -> datetime:
        """Midnight of the next quarter's first day, in ``tz`` (exclusive)."""
        return self.next().start(tz)

    def elapsed(self, now: datetime, tz: ZoneInfo) -> float:
        """The share of the quarter that has passed at ``now``: 0 before it starts, 1 after it ends."""
        start, end = self.start(tz), self.end(tz)
        if now <= start:
            return 0.0
        if now >= end:
            return 1.0
        return (now - start) / (end - start)

    def days_elapsed(self, now: datetime, tz: ZoneInfo) -> float:
        """Days of the quarter that have passed at ``now`` (capped at the quarter's length)."""
        start, end = self.start(tz), self.end(tz)
        return max(0.0, (min(now, end) - start).total_seconds() / 86_400)
