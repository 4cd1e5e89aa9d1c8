"""Freshness per space: an asset check on each space's ``chunk_embeddings``, and the sensor that evaluates it.

Dagster's own freshness checks and policies judge an asset as a whole (its newest partition), while a space is fresh
only if *it* was synced recently, so this is a partitioned asset check of our own. It passes while the space was
confirmed current within ``FRESHNESS_MAX_AGE_HOURS`` (see :mod:`confluence_pipeline.maintenance.freshness`) and runs:

* with every ``confluence_ingest`` run, like the other checks on ``chunk_embeddings`` (it then passes);
* from ``confluence_freshness_sensor`` when a space has gone stale: the sensor asks for a check-only run for that
  space once per stale spell (the run key names the moment it went stale), so the UI shows the check failed.
"""

import warnings
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import psycopg
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    AssetRecordsFilter,
    AssetSelection,
    DagsterInstance,
    PreviewWarning,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset_check,
    sensor,
)

from confluence_pipeline.defs.ingest.assets import chunk_embeddings
from confluence_pipeline.defs.ingest.partitions import space_partitions
from confluence_pipeline.defs.resources import MonitoringResource, PostgresResource, default_sensor_status
from confluence_pipeline.maintenance.freshness import Freshness, FreshnessSettings, assess_freshness
from confluence_pipeline.store.space_checks import last_confirmed

CHUNK_EMBEDDINGS = AssetKey("chunk_embeddings")
FRESHNESS_TRIGGER = {"confluence_pipeline/trigger": "freshness"}


def last_materialized(instance: DagsterInstance, asset_key: AssetKey, space_keys: Iterable[str]) -> dict[str, datetime]:
    """When each space's partition of an asset last materialized, from the instance.

    Args:
        instance: the Dagster instance.
        asset_key: the asset, e.g. ``confluence_pages`` (the sync) or ``chunk_embeddings`` (the whole ingest).
        space_keys: the partitions.

    Returns:
        Space key → the materialization's time (UTC); spaces never materialized are left out.
    """
    out: dict[str, datetime] = {}
    for key in space_keys:
        records = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=asset_key, asset_partitions=[key]), limit=1
        ).records
        if records:
            out[key] = datetime.fromtimestamp(records[0].timestamp, UTC)
    return out


def space_freshness(
    instance: DagsterInstance,
    conn: psycopg.Connection,
    space_keys: Sequence[str],
    settings: FreshnessSettings,
    now: datetime | None = None,
) -> dict[str, Freshness]:
    """Assess each space: confirmed current (by a writing sync, a quiet probe or a finished ingest run) recently enough?

    Args:
        instance: the Dagster instance (for the last ingest run of each space).
        conn: a connection to the pipeline database (for syncs and probes).
        space_keys: the spaces.
        settings: the allowed age.
        now: the moment of the assessment (default: now).

    Returns:
        Space key → its freshness.
    """
    moment = now or datetime.now(UTC)
    confirmed = last_confirmed(conn, space_keys)
    runs = last_materialized(instance, CHUNK_EMBEDDINGS, space_keys)
    return {
        key: assess_freshness(key, confirmed.get(key), runs.get(key), settings=settings, now=moment)
        for key in space_keys
    }


# A partitioned asset check is a preview feature of Dagster 1.13 (see defs/ingest/checks.py); its warning is silenced.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=PreviewWarning, message=".*partitions_def on an AssetCheckSpec")

    @asset_check(
        asset=chunk_embeddings,
        partitions_def=space_partitions,
        description="The space was confirmed current within FRESHNESS_MAX_AGE_HOURS (a sync, or a probe that found "
        "nothing to fetch).",
    )
    def space_is_fresh(
        context: AssetCheckExecutionContext, postgres: PostgresResource, monitoring: MonitoringResource
    ) -> AssetCheckResult:
        """Fails when the space has not been confirmed current within the allowed age."""
        key = context.partition_key
        with postgres.connect() as conn:
            freshness = space_freshness(context.instance, conn, [key], monitoring.freshness_settings())[key]
        if not freshness.fresh:
            context.log.warning(freshness.description())
        return AssetCheckResult(
            passed=freshness.fresh,
            severity=AssetCheckSeverity.ERROR,
            description=freshness.description(),
            metadata=freshness.metadata(),
        )


@sensor(
    asset_selection=AssetSelection.checks(space_is_fresh),
    minimum_interval_seconds=600,
    default_status=default_sensor_status(),
    description="Every 10 minutes: evaluates the freshness check of each space that has gone stale, once per stale "
    "spell, so that the UI shows it failed.",
)
def confluence_freshness_sensor(
    context: SensorEvaluationContext, postgres: PostgresResource, monitoring: MonitoringResource
) -> SensorResult:
    """Request a check-only run for each stale space; the run key makes it once per stale spell."""
    keys = context.instance.get_dynamic_partitions(space_partitions.name)
    if not keys:
        return SensorResult(skip_reason=SkipReason("no space partitions yet"))
    with postgres.connect() as conn:
        assessed = space_freshness(context.instance, conn, keys, monitoring.freshness_settings())
    stale = [f for f in assessed.values() if not f.fresh]
    requests = [
        RunRequest(
            # The moment the space went stale names the spell: a later spell, after a fresh sync, gets its own run.
            run_key=f"{f.space_key}:stale:{f.stale_since.isoformat() if f.stale_since else 'never-synced'}",
            partition_key=f.space_key,
            asset_selection=[],
            asset_check_keys=[space_is_fresh.check_key],
            tags=FRESHNESS_TRIGGER,
        )
        for f in stale
    ]
    for freshness in stale:
        context.log.info(freshness.description())
    if not requests:
        return SensorResult(skip_reason=SkipReason(f"{len(keys)} space(s), all fresh"))
    return SensorResult(run_requests=requests)
