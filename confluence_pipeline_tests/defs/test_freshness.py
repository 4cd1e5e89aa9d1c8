"""Each space's freshness check on chunk_embeddings: passes after an ingest run, fails for a stale or unsynced space."""

from __future__ import annotations

import psycopg
import pytest
from dagster import AssetCheckSeverity, DagsterInstance, Definitions, build_sensor_context

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.sync import detect_changes, fetch_space, sync_space
from confluence_pipeline.defs.ingest.assets import ingest_assets
from confluence_pipeline.defs.ingest.checks import ingest_checks
from confluence_pipeline.defs.ingest.jobs import ingest_job
from confluence_pipeline.defs.ingest.partitions import space_partitions
from confluence_pipeline.defs.maintenance.assets import maintenance_assets
from confluence_pipeline.defs.maintenance.freshness import confluence_freshness_sensor, space_is_fresh
from confluence_pipeline.defs.resources import build_resources
from confluence_pipeline.store import pages as store
from confluence_pipeline_tests.confluence.helpers import sandbox_environ, sandbox_settings


@pytest.fixture
def stack(make_sandbox, db_url: str, monkeypatch: pytest.MonkeyPatch):
    server = make_sandbox(pages=40)
    for name, value in sandbox_environ(server, db_url).items():
        monkeypatch.setenv(name, value)
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(space_partitions.name, ["ENG", "OPS", "HR"])
    defs = Definitions(
        assets=[*ingest_assets, *maintenance_assets],
        asset_checks=[*ingest_checks, space_is_fresh],
        jobs=[ingest_job],
        sensors=[confluence_freshness_sensor],
        resources=build_resources(),
    )
    return server, instance, defs


def _tick(instance: DagsterInstance, defs: Definitions):
    context = build_sensor_context(instance=instance, resources=build_resources(), definitions=defs)
    return confluence_freshness_sensor(context)


def _evaluate_check(instance: DagsterInstance, defs: Definitions, request):
    """Run what the daemon runs for the sensor's request: the check alone, for the request's partition."""
    assert request.asset_selection == [] and request.asset_check_keys == [space_is_fresh.check_key]
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(), asset_check_selection=set(request.asset_check_keys)
    )
    result = job.execute_in_process(instance=instance, partition_key=request.partition_key, tags=request.tags)
    assert result.success
    [evaluation] = result.get_asset_check_evaluations()
    return evaluation


def test_an_ingest_run_passes_the_check_and_stale_spaces_get_it_evaluated(stack, conn: psycopg.Connection) -> None:
    server, instance, defs = stack
    ingest = defs.resolve_job_def(ingest_job.name).execute_in_process(partition_key="ENG", instance=instance)
    fresh = {e.check_name: e for e in ingest.get_asset_check_evaluations()}["space_is_fresh"]
    assert fresh.passed and fresh.partition == "ENG" and fresh.metadata["space"].value == "ENG"
    assert "was confirmed current" in (fresh.description or "")

    # OPS was synced outside Dagster two days ago; HR never was.
    client = ConfluenceClient(sandbox_settings(server))
    with conn.transaction():
        store.upsert_space(conn, fetch_space(client, "OPS"))
    sync_space(conn, client, "OPS")
    conn.execute("UPDATE spaces SET last_sync_at = now() - interval '2 days' WHERE space_key = 'OPS'")

    first = _tick(instance, defs)
    by_space = {r.partition_key: r for r in first.run_requests}
    assert set(by_space) == {"OPS", "HR"}
    assert by_space["HR"].run_key == "HR:stale:never-synced"
    assert by_space["OPS"].run_key.startswith("OPS:stale:")
    assert by_space["OPS"].tags == {"confluence_pipeline/trigger": "freshness"}
    # The same stale spell asks again with the same run key, which Dagster runs once.
    assert {r.run_key for r in _tick(instance, defs).run_requests} == {r.run_key for r in first.run_requests}

    stale = _evaluate_check(instance, defs, by_space["OPS"])
    assert not stale.passed and stale.severity == AssetCheckSeverity.ERROR and stale.partition == "OPS"
    assert "more than the 24.0 h allowed (FRESHNESS_MAX_AGE_HOURS)" in (stale.description or "")
    assert stale.metadata["age_hours"].value >= 47
    never = _evaluate_check(instance, defs, by_space["HR"])
    assert not never.passed and "never been synced" in (never.description or "")

    # A change-sensor probe that finds nothing to fetch confirms OPS current: it is fresh again.
    assert detect_changes(conn, client, "OPS").marker is None
    assert {r.partition_key for r in _tick(instance, defs).run_requests} == {"HR"}


def test_the_allowed_age_is_a_setting(stack, monkeypatch: pytest.MonkeyPatch) -> None:
    _, instance, defs = stack
    instance.delete_dynamic_partition(space_partitions.name, "OPS")
    instance.delete_dynamic_partition(space_partitions.name, "HR")
    monkeypatch.setenv("FRESHNESS_MAX_AGE_HOURS", "0.0000001")
    defs = Definitions(
        assets=[*ingest_assets, *maintenance_assets],
        asset_checks=[space_is_fresh],
        jobs=[ingest_job],
        resources=build_resources(),
    )
    result = defs.resolve_job_def(ingest_job.name).execute_in_process(partition_key="ENG", instance=instance)
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.metadata["max_age_hours"].value == 0.0
    monkeypatch.setenv("FRESHNESS_MAX_AGE_HOURS", "-1")
    with pytest.raises(Exception, match=r"FRESHNESS_MAX_AGE_HOURS=-1\.0 must be greater than 0"):
        _tick(instance, defs)
