"""Change polling within a time budget: one probe per space, as many spaces as fit, resumed where it stopped.

A sensor tick that runs past Dagster's sensor timeout (60 s by default) is abandoned and its cursor is lost, so
with hundreds of spaces the poll must stop in time. Two things make that safe:

* Each probe is bounded: :func:`probe_settings` gives the client short timeouts and no retries of its own (the next
  tick is the retry), so one probe can take at most :func:`probe_bound_s` seconds.
* A probe starts only when that bound still fits in the time left. The spaces not reached are polled first by the
  next tick: the cursor names where to resume, and the order wraps around, so every space is reached in turn.

The cursor is JSON. Besides where to resume, it holds the change marker last requested per space (and the count
mismatch last sent to reconciliation), so a tick requests each change once and a new change always gets a run key
of its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from confluence_pipeline.confluence.errors import ConfluenceError
from confluence_pipeline.confluence.settings import ConfluenceSettings
from confluence_pipeline.confluence.sync import ChangeCheck

CURSOR_VERSION = 1


@dataclass
class PollCursor:
    """What a change sensor remembers between ticks.

    Attributes:
        markers: per space, the change marker of the last run requested for it.
        reconcile: per space, the count mismatch of the last reconciliation requested for it.
        resume: the space to poll first next tick (the first one a tick did not reach), or None.
    """

    markers: dict[str, str] = field(default_factory=dict)
    reconcile: dict[str, str] = field(default_factory=dict)
    resume: str | None = None

    @classmethod
    def from_json(cls, text: str | None) -> PollCursor:
        """Read a cursor; an empty or unreadable one (e.g. written by an older version) starts afresh."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except ValueError:
            return cls()
        if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION:
            return cls()
        return cls(
            markers={str(k): str(v) for k, v in (data.get("markers") or {}).items()},
            reconcile={str(k): str(v) for k, v in (data.get("reconcile") or {}).items()},
            resume=data.get("resume") or None,
        )

    def to_json(self) -> str:
        """The cursor as compact, stable JSON."""
        data: dict[str, Any] = {"v": CURSOR_VERSION, "markers": self.markers, "reconcile": self.reconcile}
        data["resume"] = self.resume
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def forget_except(self, keys: Sequence[str]) -> None:
        """Drop what is remembered of spaces that are no longer polled (removed partitions)."""
        keep = set(keys)
        self.markers = {k: v for k, v in self.markers.items() if k in keep}
        self.reconcile = {k: v for k, v in self.reconcile.items() if k in keep}


@dataclass
class PollOutcome:
    """What one tick's poll found.

    Attributes:
        checks: the probes that answered, in the order polled.
        errors: per space, why its probe failed (it is polled again next tick).
        not_reached: spaces the time budget left for the next tick, in the order they will be polled.
    """

    checks: list[ChangeCheck] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    not_reached: list[str] = field(default_factory=list)

    @property
    def polled(self) -> int:
        """How many spaces were probed (answered or failed)."""
        return len(self.checks) + len(self.errors)


def probe_settings(settings: ConfluenceSettings, budget_s: float) -> ConfluenceSettings:
    """The client settings of a sensor's probes: no retries, and timeouts that fit a tick's budget.

    A probe that fails is simply polled again by the next tick, so retrying within the tick only eats its budget.
    Timeouts are capped at a quarter (read) and an eighth (connect, and the longest pause a ``Retry-After`` causes)
    of the budget, so one probe never takes more than half of it.
    """
    return replace(
        settings,
        max_retries=0,
        connect_timeout_s=min(settings.connect_timeout_s, budget_s / 8),
        read_timeout_s=min(settings.read_timeout_s, budget_s / 4),
        backoff_max_s=min(settings.backoff_max_s, budget_s / 8),
    )


def probe_bound_s(settings: ConfluenceSettings) -> float:
    """The longest one probe can take with these settings (one request: limiter wait, connect, read)."""
    # A throttled answer elsewhere in the process pauses the shared limiter for at most backoff_max_s.
    attempts = settings.max_retries + 1
    per_attempt = settings.connect_timeout_s + settings.read_timeout_s + 1 / settings.rate_limit_rps
    return attempts * per_attempt + settings.max_retries * settings.backoff_max_s + settings.backoff_max_s


def polling_order(keys: Sequence[str], resume: str | None) -> list[str]:
    """The spaces in the order to poll them: sorted, starting at ``resume`` (or the first key after it), wrapping."""
    ordered = sorted(set(keys))
    if not resume or not ordered:
        return ordered
    start = next((i for i, key in enumerate(ordered) if key >= resume), 0)
    return ordered[start:] + ordered[:start]


def poll_spaces(
    keys: Sequence[str],
    probe: Callable[[str], ChangeCheck],
    cursor: PollCursor,
    *,
    budget_s: float,
    bound_s: float,
    clock: Callable[[], float] = time.monotonic,
) -> PollOutcome:
    """Probe each space once, in turn from the cursor's resume point, while a probe still fits in the budget.

    Args:
        keys: the spaces to poll.
        probe: one bounded request for a space (e.g. :func:`~confluence_pipeline.confluence.sync.detect_changes`).
        cursor: read for where to resume; its ``resume`` is updated (markers are the caller's to update).
        budget_s: the time this tick may spend.
        bound_s: the longest one probe can take (:func:`probe_bound_s`).
        clock: monotonic seconds (for tests).

    Returns:
        The answers, the failures and the spaces left for the next tick.
    """
    started = clock()
    outcome = PollOutcome()
    order = polling_order(keys, cursor.resume)
    for index, key in enumerate(order):
        if clock() - started + bound_s > budget_s:
            outcome.not_reached = order[index:]
            break
        try:
            outcome.checks.append(probe(key))
        except ConfluenceError as exc:
            outcome.errors[key] = str(exc)
    cursor.resume = outcome.not_reached[0] if outcome.not_reached else None
    cursor.forget_except(keys)
    return outcome
