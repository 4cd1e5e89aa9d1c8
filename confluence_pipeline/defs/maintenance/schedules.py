"""The weekly schedule: reconcile every space whose strategy is ``weekly`` (Fridays 18:00 Asia/Seoul by default).

Each run of a tick carries two tags: :data:`WEEKLY_TICK_TAG`, the tick's scheduled time (ISO-8601 in the schedule's
zone), and :data:`WEEKLY_TICK_RUNS_TAG`, how many runs the tick requested. Work that must follow the week's
reconciliation (the Play QTD aggregation) is a job given to
:func:`~confluence_pipeline.defs.maintenance.sensors.after_weekly_maintenance`: its sensor requests the job once per
tick, when every run of the tick has finished.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, SkipReason, schedule

from confluence_pipeline.defs.ingest.partitions import space_partitions
from confluence_pipeline.defs.maintenance.jobs import reconcile_job
from confluence_pipeline.defs.resources import ReconcileResource, automation_settings
from confluence_pipeline.defs.tags import WEEKLY_TICK_RUNS_TAG, WEEKLY_TICK_TAG

_AUTOMATION = automation_settings()


def weekly_tick_tags(tick: str, runs: int) -> dict[str, str]:
    """The tags every run of one weekly tick carries: the tick, and how many runs it requested."""
    return {WEEKLY_TICK_TAG: tick, WEEKLY_TICK_RUNS_TAG: str(runs)}


@schedule(
    job=reconcile_job,
    cron_schedule=_AUTOMATION.weekly_cron,
    execution_timezone=_AUTOMATION.weekly_timezone,
    default_status=DefaultScheduleStatus.RUNNING if _AUTOMATION.enabled else DefaultScheduleStatus.STOPPED,
    description=(
        "Weekly maintenance: one confluence_reconcile run per space whose strategy is weekly (CONFLUENCE_RECONCILE). "
        "Cron and zone: PIPELINE_WEEKLY_CRON, PIPELINE_WEEKLY_TIMEZONE."
    ),
)
def weekly_maintenance_schedule(
    context: ScheduleEvaluationContext, reconcile: ReconcileResource
) -> list[RunRequest] | SkipReason:
    """Request a reconciliation of every ``weekly`` space, tagged with the tick."""
    settings = reconcile.settings()
    keys = sorted(context.instance.get_dynamic_partitions(space_partitions.name))
    weekly = [key for key in keys if settings.strategy_for(key) == "weekly"]
    if not weekly:
        return SkipReason(f"none of the {len(keys)} space(s) is reconciled weekly (CONFLUENCE_RECONCILE)")
    # The tick as the schedule's zone reads it (a run of 18:00 Friday in Seoul is tagged ...T18:00:00+09:00).
    when = context.scheduled_execution_time or datetime.now(UTC)
    tick = when.astimezone(ZoneInfo(_AUTOMATION.weekly_timezone)).isoformat()
    tags = weekly_tick_tags(tick, len(weekly))
    return [RunRequest(partition_key=key, run_key=f"{key}:weekly:{tick}", tags=tags) for key in weekly]
