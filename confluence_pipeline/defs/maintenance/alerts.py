"""Alert sensors: a failed run, a slow space sync, or too many failed pages post one message to ALERT_WEBHOOK_URL.

Thin glue over :mod:`confluence_pipeline.maintenance.alerts`: read the finished run's facts from the instance (its
partition, run and step timings, the ``confluence_pages`` materialization's page counts, the failed steps' errors),
decide and render there, post. Without ``ALERT_WEBHOOK_URL`` the sensors only log what they would have sent.

A post that fails after its retries raises: Dagster reports the error on the sensor's tick and on the run itself, so
an alert that could not be delivered is still visible in the UI.
"""

from collections.abc import Mapping
from typing import Any

from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    RunFailureSensorContext,
    RunStatusSensorContext,
    run_failure_sensor,
    run_status_sensor,
)

from confluence_pipeline.defs.ingest.jobs import ingest_job
from confluence_pipeline.defs.resources import (
    ConfluenceResource,
    EmbeddingsResource,
    MonitoringResource,
    PostgresResource,
    default_sensor_status,
    secret_values,
)
from confluence_pipeline.maintenance.alerts import RunFacts, post_alert, run_alerts, slack_payload

PARTITION_TAG = "dagster/partition"
_PAGES_STEP = "confluence_pages"


def _error_text(error: Any) -> str:
    # A step's error (Dagster's SerializableErrorInfo) wraps the exception raised; the innermost cause says what went
    # wrong.
    while error is not None and error.cause is not None:
        error = error.cause
    return error.message.strip() if error is not None else "unknown error"


def _step_errors(instance: DagsterInstance, run_id: str) -> list[str]:
    errors = []
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        event = entry.dagster_event
        if event is None:
            continue
        data = event.step_failure_data
        described = data.user_failure_data.description if data.user_failure_data else None
        errors.append(f"{event.step_key}: {described or _error_text(data.error)}")
    return errors


def _pages_metadata(instance: DagsterInstance, run_id: str) -> Mapping[str, Any]:
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
        materialization = entry.asset_materialization
        if materialization is not None and materialization.asset_key.to_user_string() == _PAGES_STEP:
            return {key: value.value for key, value in materialization.metadata.items()}
    return {}


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def run_facts(instance: DagsterInstance, run: DagsterRun) -> RunFacts:
    """What the alerting needs to know about a finished run, read from the instance.

    Args:
        instance: the Dagster instance that recorded the run.
        run: the run.

    Returns:
        Its job, space (partition), success, durations, page counts and step errors.
    """
    stats = instance.get_run_stats(run.run_id)
    seconds = stats.end_time - stats.start_time if stats.start_time and stats.end_time else None
    steps = {
        step.step_key: step.end_time - step.start_time
        for step in instance.get_run_step_stats(run.run_id)
        if step.start_time and step.end_time
    }
    pages = _pages_metadata(instance, run.run_id)
    return RunFacts(
        run_id=run.run_id,
        job_name=run.job_name,
        space=run.tags.get(PARTITION_TAG),
        succeeded=run.status == DagsterRunStatus.SUCCESS,
        seconds=seconds,
        step_seconds=steps,
        pages_listed=_int(pages.get("listed")),
        pages_fetched=_int(pages.get("fetched")),
        pages_failed=_int(pages.get("pages_failed")),
        failed_page_ids=str(pages.get("failed_page_ids") or ""),
        errors=[] if run.status == DagsterRunStatus.SUCCESS else _step_errors(instance, run.run_id),
    )


def _send(
    context: RunStatusSensorContext,
    monitoring: MonitoringResource,
    secrets: list[str],
) -> None:
    settings = monitoring.alert_settings()
    facts = run_facts(context.instance, context.dagster_run)
    for alert in run_alerts(facts, settings):
        payload = slack_payload(alert, [*secrets, settings.webhook_url])
        if not settings.webhook_url:
            context.log.info("ALERT_WEBHOOK_URL is not set; not sent: %s", payload["text"])
            continue
        attempts = post_alert(payload, settings)
        context.log.info("alert %s for run %s posted (%d attempt(s))", alert.kind, facts.run_id, attempts)


@run_failure_sensor(
    name="confluence_run_failure_alert",
    minimum_interval_seconds=30,
    default_status=default_sensor_status(),
    description="Posts an alert to ALERT_WEBHOOK_URL for every failed run of this code location.",
)
def confluence_run_failure_alert(
    context: RunFailureSensorContext,
    monitoring: MonitoringResource,
    confluence: ConfluenceResource,
    embeddings: EmbeddingsResource,
    postgres: PostgresResource,
) -> None:
    """Alert on a failed run: its space, its error, what to do."""
    _send(context, monitoring, secret_values(monitoring, confluence, embeddings, postgres))


@run_status_sensor(
    name="confluence_sync_health_alert",
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=[ingest_job],
    minimum_interval_seconds=30,
    default_status=default_sensor_status(),
    description=(
        "Posts an alert to ALERT_WEBHOOK_URL when a space's sync took longer than ALERT_SLOW_SYNC_MINUTES or more "
        "than ALERT_FAILED_PAGES_PERCENT of its pages failed."
    ),
)
def confluence_sync_health_alert(
    context: RunStatusSensorContext,
    monitoring: MonitoringResource,
    confluence: ConfluenceResource,
    embeddings: EmbeddingsResource,
    postgres: PostgresResource,
) -> None:
    """Alert on a successful sync that was slow or lost too many pages."""
    _send(context, monitoring, secret_values(monitoring, confluence, embeddings, postgres))
