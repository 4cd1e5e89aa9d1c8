"""Sensors: discover spaces (new partitions) and poll Confluence for edits and deletions (one request a space).

Both start running with the code location unless ``PIPELINE_AUTOMATION`` is false. A tick never outlasts Dagster's
sensor timeout: its Confluence requests are bounded and the change sensor polls only as many spaces as fit in
``PIPELINE_SENSOR_TICK_BUDGET_S``, resuming the rest next tick (see :mod:`confluence_pipeline.confluence.polling`).
"""

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.polling import PollCursor, poll_spaces, probe_bound_s, probe_settings
from confluence_pipeline.confluence.sync import ChangeCheck, detect_changes
from confluence_pipeline.defs.ingest.jobs import INGEST_JOB_NAME, ingest_job
from confluence_pipeline.defs.ingest.partitions import discover_new_spaces, space_partitions
from confluence_pipeline.defs.maintenance.jobs import RECONCILE_JOB_NAME, reconcile_job
from confluence_pipeline.defs.resources import (
    AutomationResource,
    ConfluenceResource,
    PostgresResource,
    ReconcileResource,
    automation_settings,
)
from confluence_pipeline.store import pages as page_store
from confluence_pipeline.store.references import stale_dependant_spaces

_AUTOMATION = automation_settings()
_DEFAULT_STATUS = DefaultSensorStatus.RUNNING if _AUTOMATION.enabled else DefaultSensorStatus.STOPPED


def _probe_client(
    confluence: ConfluenceResource, automation: AutomationResource, postgres: PostgresResource
) -> ConfluenceClient:
    """A client whose every request fits in a tick: short timeouts, no retries (the next tick is the retry).

    Its requests count against the rate limit the runs share.
    """
    settings = probe_settings(confluence.settings(), automation.settings().tick_budget_s)
    return ConfluenceClient(settings, database_url=postgres.database_url())


@sensor(
    job=ingest_job,
    minimum_interval_seconds=_AUTOMATION.space_interval_s,
    default_status=_DEFAULT_STATUS,
    description=(
        "Lists Confluence spaces (hourly by default); new ones become partitions and get a first full sync. Spaces "
        "taken out with `confluence-pipeline spaces remove` are not added back."
    ),
)
def confluence_space_sensor(
    context: SensorEvaluationContext,
    confluence: ConfluenceResource,
    postgres: PostgresResource,
    automation: AutomationResource,
) -> SensorResult:
    """Add partitions for spaces that appeared and request their first run."""
    with postgres.connect() as conn:
        removed = page_store.removed_space_keys(conn)
    discovery = discover_new_spaces(context.instance, _probe_client(confluence, automation, postgres), removed)
    if not discovery.new:
        return SensorResult(skip_reason=SkipReason(f"{len(discovery.keys)} space(s), none new"))
    # Partitions and their first runs in one tick: a run may target a key added by the same result.
    return SensorResult(
        dynamic_partitions_requests=[space_partitions.build_add_request(discovery.new)],
        run_requests=[RunRequest(partition_key=key, run_key=f"{key}:initial") for key in discovery.new],
    )


def _requests_for(
    context: SensorEvaluationContext, check: ChangeCheck, cursor: PollCursor, strategy: str
) -> list[RunRequest]:
    """The runs one probe asks for: an ingest run per new change, a reconciliation per new count mismatch."""
    key = check.space_key
    requests: list[RunRequest] = []
    if check.marker and cursor.markers.get(key) != check.marker:
        # The marker names the change, so a later change to the same space gets a run key of its own.
        requests.append(RunRequest(job_name=INGEST_JOB_NAME, partition_key=key, run_key=f"{key}:{check.marker}"))
        cursor.markers[key] = check.marker
    marker = check.reconcile_marker
    if marker is None:
        # Counts agree again: a later mismatch, even one of the same size, asks anew.
        cursor.reconcile.pop(key, None)
    elif strategy == "on_demand":
        context.log.info(
            "space %s: Confluence counts %s current pages, the store %s; its strategy is on_demand, so run "
            "`confluence-pipeline reconcile --space %s`",
            key,
            check.total_size,
            check.known_current,
            key,
        )
    elif cursor.reconcile.get(key) != marker:
        context.log.info(
            "space %s: Confluence counts %s current pages, the store %s; pages may have been deleted, requesting "
            "a reconciliation",
            key,
            check.total_size,
            check.known_current,
        )
        requests.append(RunRequest(job_name=RECONCILE_JOB_NAME, partition_key=key, run_key=f"{key}:reconcile:{marker}"))
        cursor.reconcile[key] = marker
    return requests


@sensor(
    jobs=[ingest_job, reconcile_job],
    minimum_interval_seconds=_AUTOMATION.change_interval_s,
    default_status=_DEFAULT_STATUS,
    description=(
        "Every 5 minutes by default (PIPELINE_CHANGE_SENSOR_INTERVAL_S): one small search per space for page versions "
        "the store lacks (a confluence_ingest run, the change marker in its run key) and for a count of current "
        "pages that disagrees with the store's (a confluence_reconcile run, the counts in its run key)."
    ),
)
def confluence_change_sensor(
    context: SensorEvaluationContext,
    confluence: ConfluenceResource,
    postgres: PostgresResource,
    reconcile: ReconcileResource,
    automation: AutomationResource,
) -> SensorResult:
    """Poll the spaces that fit in the tick's budget and request runs for what changed or disappeared."""
    budget = automation.settings().tick_budget_s
    client = _probe_client(confluence, automation, postgres)
    strategies = reconcile.settings()
    cursor = PollCursor.from_json(context.cursor)
    keys = context.instance.get_dynamic_partitions(space_partitions.name)
    with postgres.connect() as conn:
        outcome = poll_spaces(
            keys,
            lambda key: detect_changes(conn, client, key),
            cursor,
            budget_s=budget,
            bound_s=probe_bound_s(client.settings),
        )
        # Pages that show pages of another space (include, excerpt-include) are refreshed by their own space's run.
        stale = stale_dependant_spaces(conn)
    requests = [
        request
        for check in outcome.checks
        for request in _requests_for(context, check, cursor, strategies.strategy_for(check.space_key))
    ]
    requested = {r.partition_key for r in requests if r.job_name == INGEST_JOB_NAME}
    requests += [
        RunRequest(job_name=INGEST_JOB_NAME, partition_key=key, run_key=f"{key}:deps-{marker}")
        for key, marker in stale.items()
        if key not in requested and key in keys
    ]
    for key, error in outcome.errors.items():
        context.log.warning("change check failed for %s (polled again next tick): %s", key, error)
    if outcome.not_reached:
        context.log.info(
            "polled %d of %d space(s) within %gs; the next tick starts at %s",
            outcome.polled,
            len(keys),
            budget,
            outcome.not_reached[0],
        )
    if not requests:
        summary = f"no changes in {outcome.polled} space(s) polled ({client.stats.requests} request(s))"
        return SensorResult(skip_reason=SkipReason(summary), cursor=cursor.to_json())
    return SensorResult(run_requests=requests, cursor=cursor.to_json())
