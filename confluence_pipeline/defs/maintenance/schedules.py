"""The weekly schedule: reconcile every space whose strategy is ``weekly`` (Fridays 18:00 Asia/Seoul by default).

Each run of a tick carries :func:`~confluence_pipeline.defs.tags.weekly_tick_tags`: the tick's scheduled time and
how many runs the tick requested. Work that must follow the week's reconciliation (the Play QTD aggregation,
``defs/plays/sensors.py``) waits for every run of the tick to finish.
"""

from datetime import UTC, datetime

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, SkipReason, schedule

from confluence_pipeline.defs.ingest.partitions import space_partitions
from confluence_pipeline.defs.maintenance.jobs import reconcile_job
from confluence_pipeline.defs.resources import ReconcileResource, automation_settings
from confluence_pipeline.defs.tags import WEEKLY_TICK_TAG, weekly_tick_tags

_AUTOMATION = automation_settings()


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
    tags = weekly_tick_tags(context.scheduled_execution_time or datetime.now(UTC), len(weekly))
    tick = tags[WEEKLY_TICK_TAG]
    return [RunRequest(partition_key=key, run_key=f"{key}:weekly:{tick}", tags=tags) for key in weekly]
