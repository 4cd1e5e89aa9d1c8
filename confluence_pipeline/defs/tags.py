"""Run tags the Dagster glue shares: what triggered a run, and which weekly tick a run belongs to.

The weekly tick's contract: the weekly schedule puts :func:`weekly_tick_tags` on every run it requests for a tick
(the reconciliation runs), with the number of runs the tick requested. Follow-up work that must come after them (the
Play QTD aggregation, ``defs/plays/sensors.py``) waits until that many runs carry the tick and all of them finished,
then starts, once per tick. A tick's value is ISO 8601 with an offset, in any zone (followers order ticks by time).
"""

from datetime import UTC, datetime

TRIGGER_TAG = "confluence_pipeline/trigger"
WEEKLY_TICK_TAG = "confluence_pipeline/weekly_tick"
WEEKLY_TICK_RUNS_TAG = "confluence_pipeline/weekly_tick_runs"
AFTER_WEEKLY_TICK_TAG = "confluence_pipeline/after_weekly_tick"


def weekly_tick_tags(tick: datetime, runs: int) -> dict[str, str]:
    """The tags of each run a weekly tick requests.

    Args:
        tick: the tick's scheduled time (aware; the schedule context's ``scheduled_execution_time``).
        runs: how many runs the tick requests in all (follow-up work waits for every one of them).

    Returns:
        The tick (ISO 8601 in UTC, so that ticks sort as text) and the number of runs.

    Raises:
        ValueError: the tick is naive or ``runs`` is below 1.
    """
    if tick.tzinfo is None:
        raise ValueError("the weekly tick's time must be aware (the schedule gives it in its time zone)")
    if runs < 1:
        raise ValueError("a weekly tick tags runs only when it requests at least one")
    stamp = tick.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {WEEKLY_TICK_TAG: stamp, WEEKLY_TICK_RUNS_TAG: str(runs), TRIGGER_TAG: "weekly"}
