"""Play tracking sensors: the outbox drain, and the QTD aggregation after each weekly tick's reconciliation runs.

Both start running by default (``PIPELINE_AUTOMATION=off`` starts them stopped).

``play_outbox_sensor`` drains the event outbox inside its tick (no run: a drain is a few page writes, and a run per
half minute would bury the runs people look at). The tick's message says what it applied, what failed and what
waits; a tick never starts a write after :data:`DRAIN_BUDGET_S`, well inside Dagster's sensor timeout.

``play_aggregation_after_weekly_sensor`` is the "after reconciliation" half of the weekly schedule. The schedule tags
each run of a tick with :func:`~confluence_pipeline.defs.tags.weekly_tick_tags` (the tick and how many runs it
requested). Once that many runs carry the tick and every one of them finished (failed ones too: the aggregation
reads whatever the store holds, and a failed reconciliation deletes nothing), the sensor requests one
``play_qtd_aggregation`` run for the tick, with the run key ``weekly-qtd:<tick>``. A finished run that Dagster will
retry (``dagster/will_retry``) counts only once its retry finished. The cursor is the last tick handled; with no
cursor (a new deployment) only the newest tick is considered, so old ticks do not all trigger at once. A site whose
Play pages are not configured is skipped.
"""

import time
from datetime import datetime

from dagster import (
    DagsterRun,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from confluence_pipeline.defs.plays.jobs import play_aggregation_job
from confluence_pipeline.defs.resources import (
    ConfluenceResource,
    PlaysResource,
    PostgresResource,
    default_sensor_status,
)
from confluence_pipeline.defs.tags import AFTER_WEEKLY_TICK_TAG, TRIGGER_TAG, WEEKLY_TICK_RUNS_TAG, WEEKLY_TICK_TAG
from confluence_pipeline.plays.outbox import drain_outbox
from confluence_pipeline.store import plays as store

DRAIN_BUDGET_S = 40.0
# Dagster's own run tags (dagster._core.storage.tags, not public API): a failed run that the daemon will retry, and
# the run a retry or re-execution was made from.
_WILL_RETRY = "dagster/will_retry"
_PARENT_RUN_ID = "dagster/parent_run_id"


@sensor(
    minimum_interval_seconds=30,
    default_status=default_sensor_status(),
    description="Drains the Play event outbox: Action Log rows, Live doc entries and Play DB cells, in order per "
    "page, exactly once; failed writes wait with back-off. The tick's message says what it did.",
)
def play_outbox_sensor(
    context: SensorEvaluationContext,
    postgres: PostgresResource,
    confluence: ConfluenceResource,
    plays: PlaysResource,
) -> SkipReason:
    """Apply the outbox's due writes (no run is requested; the work happens in the tick)."""
    with postgres.connect() as conn:
        counts = store.event_counts(conn)
        if not counts["pending"] and not counts["failed"]:
            return SkipReason(f"outbox empty ({counts['synced']} event(s) synced)")
        result = drain_outbox(
            conn,
            confluence.client(postgres.database_url()),
            plays.settings(),
            limit=plays.outbox_batch_size,
            deadline=time.monotonic() + DRAIN_BUDGET_S,
        )
        after = store.event_counts(conn)
    for error in result.errors[:20]:
        context.log.warning("outbox write failed: %s", error)
    message = (
        f"{result.written} write(s) applied, {result.already_applied} already applied, {result.failed} failed, "
        f"{result.waiting} waiting; events now {after['pending']} pending, {after['failed']} failed, "
        f"{after['synced']} synced"
    )
    if result.stopped:
        message += f"; stopped: {result.stopped}"
    context.log.info("outbox drain: %s", message)
    return SkipReason(message)


def _instant(tick: str) -> datetime | None:
    """A tick's time: ticks are ISO 8601 with an offset (``…Z`` or the schedule zone's ``…+09:00``); None if not."""
    try:
        when = datetime.fromisoformat(tick)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _original_runs(runs: list[DagsterRun]) -> list[DagsterRun]:
    return [run for run in runs if _PARENT_RUN_ID not in run.tags]


def _done(run: DagsterRun, runs: list[DagsterRun]) -> bool:
    if not run.is_finished:
        return False
    if run.tags.get(_WILL_RETRY) == "true":
        # Its retry carries the same tags; until the daemon made it, the run is not over.
        return any(other.tags.get(_PARENT_RUN_ID) == run.run_id for other in runs)
    return True


def tick_state(context: SensorEvaluationContext, tick: str) -> tuple[bool, str]:
    """Whether every run of a weekly tick finished, and a line saying where it stands."""
    runs = list(context.instance.get_runs(RunsFilter(tags={WEEKLY_TICK_TAG: tick})))
    expected = max((int(r.tags.get(WEEKLY_TICK_RUNS_TAG) or 0) for r in runs), default=0)
    originals = len(_original_runs(runs))
    unfinished = [r for r in runs if not _done(r, runs)]
    if originals < max(expected, 1) or unfinished:
        return False, f"tick {tick}: {originals} of {expected} run(s) requested, {len(unfinished)} not finished"
    return True, f"tick {tick}: all {originals} run(s) finished"


@sensor(
    job=play_aggregation_job,
    minimum_interval_seconds=60,
    default_status=default_sensor_status(),
    description="Starts the Play QTD aggregation once per weekly tick, after every run of the tick "
    "(the reconciliation runs, tagged confluence_pipeline/weekly_tick) finished.",
)
def play_aggregation_after_weekly_sensor(context: SensorEvaluationContext, plays: PlaysResource) -> SensorResult:
    """Request ``play_qtd_aggregation`` for the newest weekly tick whose runs all finished."""
    cursor = context.cursor or ""
    settings = plays.settings()
    if not (settings.play_db_page_id and settings.action_log_page_id):
        # A site that does not track Plays gets no weekly run that can only fail.
        reason = "Play tracking is not configured (CONFLUENCE_PLAY_DB_PAGE_ID, CONFLUENCE_ACTION_LOG_PAGE_ID)"
        return SensorResult(skip_reason=SkipReason(reason), cursor=cursor)
    tags = context.instance.get_run_tags([WEEKLY_TICK_TAG])
    known = {tick: when for _key, values in tags for tick in values if (when := _instant(tick)) is not None}
    ticks = sorted(known, key=known.__getitem__)
    after = _instant(cursor)
    pending = [tick for tick in ticks if known[tick] > after] if after else ticks[-1:]
    if not pending:
        return SensorResult(skip_reason=SkipReason("no weekly tick since the last aggregation"), cursor=cursor)
    ready: str | None = None
    waiting = ""
    for tick in pending:
        finished, state = tick_state(context, tick)
        if not finished:
            waiting = state
            break
        ready = tick
    if ready is None:
        return SensorResult(skip_reason=SkipReason(f"waiting: {waiting}"), cursor=cursor)
    # Ticks missed while the daemon was down are caught up by one run: the aggregation computes today's figures.
    request = RunRequest(run_key=f"weekly-qtd:{ready}", tags={AFTER_WEEKLY_TICK_TAG: ready, TRIGGER_TAG: "weekly"})
    context.log.info("weekly tick %s finished: starting the Play QTD aggregation", ready)
    if waiting:
        context.log.info("still waiting for a later tick: %s", waiting)
    return SensorResult(run_requests=[request], cursor=ready)
