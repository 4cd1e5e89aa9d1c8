"""Work that follows the weekly schedule's reconciliation: one sensor per follow-up job, from one factory.

The weekly schedule tags each run of a tick with the tick and the number of runs it requested
(:mod:`~confluence_pipeline.defs.maintenance.schedules`). A follow-up sensor waits until every run of a tick has
finished (succeeded, failed or canceled: a space whose reconciliation refused to delete must not hold up the rest)
and then requests its job once for that tick; the run key carries the tick, and the cursor the last tick followed.
Adding follow-up work is one line in the domain that owns the job::

    play_qtd_after_weekly = after_weekly_maintenance(play_qtd_job)
"""

from datetime import datetime

from dagster import (
    DagsterInstance,
    DefaultSensorStatus,
    JobDefinition,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

# define_asset_job returns this type, which dagster does not export at the top level.
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from confluence_pipeline.defs.resources import automation_settings
from confluence_pipeline.defs.tags import AFTER_WEEKLY_TICK_TAG, WEEKLY_TICK_RUNS_TAG, WEEKLY_TICK_TAG

_AUTOMATION = automation_settings()


def weekly_ticks(instance: DagsterInstance) -> list[str]:
    """Every weekly tick that started runs, oldest first."""
    values = {value for key, found in instance.get_run_tags(tag_keys=[WEEKLY_TICK_TAG]) for value in found if key}
    return sorted(values, key=datetime.fromisoformat)


def tick_finished(instance: DagsterInstance, tick: str) -> bool:
    """Whether every run the tick requested exists and has finished."""
    runs = instance.get_runs(RunsFilter(tags={WEEKLY_TICK_TAG: tick}))
    expected = max((int(run.tags.get(WEEKLY_TICK_RUNS_TAG, "0")) for run in runs), default=0)
    return bool(runs) and len(runs) >= expected and all(run.is_finished for run in runs)


def ticks_to_follow(instance: DagsterInstance, last_followed: str | None) -> list[str]:
    """The ticks after ``last_followed`` whose runs have all finished, oldest first, up to the first that has not.

    Without a cursor only the newest tick counts: a follow-up added today does not replay a year of ticks.
    """
    ticks = weekly_ticks(instance)
    if last_followed:
        after = datetime.fromisoformat(last_followed)
        ticks = [tick for tick in ticks if datetime.fromisoformat(tick) > after]
    else:
        ticks = ticks[-1:]
    ready: list[str] = []
    for tick in ticks:
        if not tick_finished(instance, tick):
            break
        ready.append(tick)
    return ready


def after_weekly_maintenance(
    job: JobDefinition | UnresolvedAssetJobDefinition, *, name: str | None = None, minimum_interval_seconds: int = 60
) -> SensorDefinition:
    """A sensor that requests ``job`` once per weekly tick, after every reconciliation run of the tick finished.

    Args:
        job: the follow-up job (e.g. the Play QTD aggregation).
        name: the sensor's name; default ``<job>_after_weekly``.
        minimum_interval_seconds: how often it looks.

    Returns:
        The sensor; it starts running unless ``PIPELINE_AUTOMATION`` is false.
    """

    @sensor(
        name=name or f"{job.name}_after_weekly",
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=DefaultSensorStatus.RUNNING if _AUTOMATION.enabled else DefaultSensorStatus.STOPPED,
        description=f"Runs {job.name} once per weekly maintenance tick, after all of the tick's runs finished.",
    )
    def _after_weekly(context: SensorEvaluationContext) -> SensorResult:
        ready = ticks_to_follow(context.instance, context.cursor)
        if not ready:
            return SensorResult(skip_reason=SkipReason("no weekly tick has finished since the last follow-up"))
        return SensorResult(
            run_requests=[
                RunRequest(run_key=f"after-weekly:{tick}", tags={AFTER_WEEKLY_TICK_TAG: tick}) for tick in ready
            ],
            cursor=ready[-1],
        )

    return _after_weekly
