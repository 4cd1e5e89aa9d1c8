"""Sensors: discover spaces (new partitions) and poll CQL for edits (one small query per space per tick)."""

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from confluence_pipeline.confluence.errors import ConfluenceError
from confluence_pipeline.confluence.sync import detect_changes
from confluence_pipeline.defs.ingest.jobs import ingest_job
from confluence_pipeline.defs.ingest.partitions import discover_new_spaces, space_partitions
from confluence_pipeline.defs.resources import ConfluenceResource, PostgresResource
from confluence_pipeline.store.references import stale_dependant_spaces


@sensor(
    job=ingest_job,
    minimum_interval_seconds=3600,
    default_status=DefaultSensorStatus.STOPPED,
    description="Lists Confluence spaces hourly; new ones become partitions and get a first full sync.",
)
def confluence_space_sensor(context: SensorEvaluationContext, confluence: ConfluenceResource) -> SensorResult:
    """Add partitions for spaces that appeared and request their first run."""
    discovery = discover_new_spaces(context.instance, confluence.client())
    if not discovery.new:
        return SensorResult(skip_reason=SkipReason(f"{len(discovery.keys)} space(s), none new"))
    # Partitions and their first runs in one tick: a run may target a key added by the same result.
    return SensorResult(
        dynamic_partitions_requests=[space_partitions.build_add_request(discovery.new)],
        run_requests=[RunRequest(partition_key=key, run_key=f"{key}:initial") for key in discovery.new],
    )


@sensor(
    job=ingest_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description="Polls CQL per space for page versions the store lacks and requests a run for that space.",
)
def confluence_change_sensor(
    context: SensorEvaluationContext, confluence: ConfluenceResource, postgres: PostgresResource
) -> SensorResult:
    """Request a run for each space with unseen page versions; the run key carries the change marker."""
    client = confluence.client()
    requests: list[RunRequest] = []
    errors: list[str] = []
    with postgres.connect() as conn:
        for key in context.instance.get_dynamic_partitions(space_partitions.name):
            try:
                check = detect_changes(conn, client, key)
            except ConfluenceError as exc:
                errors.append(f"{key}: {exc}")
                continue
            if check.marker:
                requests.append(RunRequest(partition_key=key, run_key=f"{key}:{check.marker}"))
            if check.reconcile_needed:
                context.log.info(
                    "space %s: Confluence counts %s current pages, the store %s; pages may have been deleted, so a "
                    "reconciliation is due",
                    key,
                    check.total_size,
                    check.known_current,
                )
        # Pages that show pages of another space (include, excerpt-include) are refreshed by their own space's run.
        requested = {r.partition_key for r in requests}
        known = set(context.instance.get_dynamic_partitions(space_partitions.name))
        for key, marker in stale_dependant_spaces(conn).items():
            if key not in requested and key in known:
                requests.append(RunRequest(partition_key=key, run_key=f"{key}:deps-{marker}"))
    for error in errors:
        context.log.warning("change check failed for %s", error)
    if not requests:
        return SensorResult(skip_reason=SkipReason(f"no changes ({client.stats.requests} request(s))"))
    return SensorResult(run_requests=requests)
