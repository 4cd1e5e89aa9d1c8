"""Reconciliation in Dagster: the asset in its jobs, the strategies, the weekly schedule and its follow-ups."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from dagster import (
    DagsterInstance,
    DefaultScheduleStatus,
    ExecuteInProcessResult,
    build_schedule_context,
    instance_for_test,
)
from dagster._utils.schedules import cron_string_iterator

from confluence_pipeline.definitions import defs
from confluence_pipeline.defs.ingest.partitions import space_partitions
from confluence_pipeline.defs.maintenance.schedules import weekly_maintenance_schedule
from confluence_pipeline.defs.resources import SettingError, automation_settings, build_resources
from confluence_pipeline.defs.tags import WEEKLY_TICK_RUNS_TAG, WEEKLY_TICK_TAG
from confluence_pipeline.localstack import PROJECT_ROOT
from confluence_pipeline.store import pages as store
from confluence_pipeline_tests.confluence.helpers import sandbox_environ

SEOUL = ZoneInfo("Asia/Seoul")


@pytest.fixture
def stack(make_sandbox, db_url: str, monkeypatch: pytest.MonkeyPatch):
    server = make_sandbox(pages=80)
    for name, value in sandbox_environ(server, db_url, CONFLUENCE_RECONCILE="weekly,ENG=every_sync").items():
        monkeypatch.setenv(name, value)
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(space_partitions.name, ["ENG", "OPS"])
    return server, instance


def _run(instance: DagsterInstance, job_name: str, key: str, **run_config: Any) -> ExecuteInProcessResult:
    return defs.resolve_job_def(job_name).execute_in_process(
        instance=instance,
        partition_key=key,
        resources=build_resources(),
        run_config=run_config or None,
        raise_on_error=False,
    )


def _metadata(result: ExecuteInProcessResult, asset: str) -> dict[str, Any] | None:
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        if mat.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in mat.metadata.items()}
    return None


def _current(server, key: str) -> list[str]:
    return sorted((str(p.id) for p in server.corpus.pages(space_key=key, statuses=["current"])), key=int)


def test_every_sync_spaces_reconcile_at_the_end_of_the_ingest_run_and_weekly_ones_by_their_job(
    stack, conn: psycopg.Connection
) -> None:
    server, instance = stack
    for key in ("ENG", "OPS"):
        result = _run(instance, "confluence_ingest", key)
        assert result.success and result.dagster_run.job_name == "confluence_ingest"
        # The ingest job runs the asset checks of chunk_embeddings too (the freshness check among them).
        assert sorted(e.check_name for e in result.get_asset_check_evaluations() if e.passed) == [
            "current_pages_have_live_chunks",
            "live_chunks_have_embeddings",
            "no_chunks_for_inactive_pages",
            "space_is_fresh",
            "vector_dimensions_match",
        ]
    eng_gone, ops_gone = _current(server, "ENG")[-1], _current(server, "OPS")[-1]
    server.set_status(eng_gone, "trashed")
    server.set_status(ops_gone, "archived")

    eng = _run(instance, "confluence_ingest", "ENG")
    ops = _run(instance, "confluence_ingest", "OPS")
    assert eng.success and ops.success
    meta = _metadata(eng, "confluence_reconciliation")
    assert meta is not None and meta["strategy"] == "every_sync"
    assert meta["pages_removed"] == 1 and meta["removed_page_ids"] == eng_gone and meta["removed_trashed"] == 1
    assert meta["pages_listed"] == len(_current(server, "ENG")) and meta["requests"] >= 2 and meta["seconds"] >= 0
    # A weekly space's ingest run leaves the step without a materialization, and the page in the store.
    assert _metadata(ops, "confluence_reconciliation") is None
    assert "confluence_reconciliation" in {event.step_key for event in ops.get_step_success_events()}
    assert ops_gone in store.current_page_ids(conn, "OPS")

    weekly = _run(instance, "confluence_reconcile", "OPS")
    assert weekly.success and weekly.dagster_run.job_name == "confluence_reconcile"
    meta = _metadata(weekly, "confluence_reconciliation")
    assert meta is not None and meta["removed_page_ids"] == ops_gone and meta["removed_archived"] == 1
    assert ops_gone not in store.current_page_ids(conn, "OPS")


def test_a_reconciliation_that_would_delete_too_much_fails_until_forced(stack, conn: psycopg.Connection) -> None:
    server, instance = stack
    assert _run(instance, "confluence_ingest", "OPS").success
    pages = _current(server, "OPS")
    lost = pages[: round(len(pages) * 0.3)]
    for page_id in lost:
        server.set_status(page_id, "trashed")

    refused = _run(instance, "confluence_reconcile", "OPS")
    assert not refused.success
    [failure] = refused.get_step_failure_events()
    message = failure.step_failure_data.user_failure_data.description
    assert f"would remove {len(lost)} of its {len(pages)} stored pages" in message
    assert "Nothing was deleted" in message and "--force" in message and "`force: true`" in message
    assert store.current_page_ids(conn, "OPS") == set(pages)

    force = {"confluence_reconciliation": {"config": {"force": True}}}
    forced = _run(instance, "confluence_reconcile", "OPS", ops=force)
    assert forced.success
    meta = _metadata(forced, "confluence_reconciliation")
    assert meta is not None and meta["forced"] is True and meta["pages_removed"] == len(lost)
    assert store.current_page_ids(conn, "OPS") == set(pages) - set(lost)


def test_run_config_full_re_syncs_a_space_ignoring_its_watermark(stack) -> None:
    server, instance = stack
    assert _run(instance, "confluence_ingest", "ENG").success
    idle = _metadata(_run(instance, "confluence_ingest", "ENG"), "confluence_pages")
    assert idle is not None and idle["fetched"] == 0 and "lastmodified" in idle["cql"]
    full = _run(instance, "confluence_ingest", "ENG", ops={"confluence_pages": {"config": {"full": True}}})
    meta = _metadata(full, "confluence_pages")
    assert meta is not None and meta["full_resync"] is True and "lastmodified >=" not in meta["cql"]
    # Every page listed and fetched again; none rewritten, since none moved.
    assert meta["listed"] == meta["fetched"] == len(_current(server, "ENG")) and meta["pages_written"] == 0


def test_the_weekly_schedule_reconciles_the_weekly_spaces_at_its_tick_in_seoul() -> None:
    schedule = weekly_maintenance_schedule
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 18 * * 5", "Asia/Seoul")
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    # Friday 17:30 in Seoul (08:30 UTC): the next tick is that Friday at 18:00 Seoul time, 09:00 UTC.
    after = datetime(2026, 1, 9, 8, 30, tzinfo=UTC)
    tick = next(cron_string_iterator(after.timestamp(), schedule.cron_schedule, schedule.execution_timezone))
    assert tick == datetime(2026, 1, 9, 18, 0, tzinfo=SEOUL) == datetime(2026, 1, 9, 9, 0, tzinfo=UTC)
    assert tick.weekday() == 4

    with instance_for_test() as instance:
        instance.add_dynamic_partitions(space_partitions.name, ["ENG", "HR", "OPS", "QM"])
        resources = build_resources({"CONFLUENCE_RECONCILE": "weekly,ENG=every_sync,HR=on_demand"})
        context = build_schedule_context(
            instance=instance,
            scheduled_execution_time=tick,
            resources=resources,
            repository_def=defs.get_repository_def(),
        )
        requests = schedule.evaluate_tick(context).run_requests or []
    assert [r.partition_key for r in requests] == ["OPS", "QM"]
    stamp = "2026-01-09T09:00:00Z"  # the tick in UTC (defs/tags.py): 18:00 in Seoul
    assert [r.run_key for r in requests] == [f"OPS:weekly:{stamp}", f"QM:weekly:{stamp}"]
    assert all({WEEKLY_TICK_TAG: stamp, WEEKLY_TICK_RUNS_TAG: "2"}.items() <= r.tags.items() for r in requests)
    assert defs.resolve_job_def("confluence_reconcile").name == schedule.job_name


def test_the_schedule_and_sensors_follow_the_automation_settings_when_the_location_loads() -> None:
    probe = (
        "import json; from confluence_pipeline.definitions import defs; r = defs.get_repository_def(); "
        "print(json.dumps({'sensors': {s.name: [s.default_status.value, s.minimum_interval_seconds] "
        "for s in r.sensor_defs}, 'schedules': {s.name: [s.default_status.value, s.cron_schedule, "
        "s.execution_timezone] for s in r.schedule_defs}}))"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PIPELINE_AUTOMATION": "false",
        "PIPELINE_CHANGE_SENSOR_INTERVAL_S": "120",
        "PIPELINE_WEEKLY_CRON": "30 7 * * 1",
        "PIPELINE_WEEKLY_TIMEZONE": "Europe/Berlin",
    }
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout
    loaded = json.loads(out.strip().splitlines()[-1])
    # One setting stops everything; each can still be started in the UI.
    assert {status for status, _ in loaded["sensors"].values()} == {"STOPPED"}
    assert loaded["sensors"]["confluence_change_sensor"] == ["STOPPED", 120]
    assert loaded["sensors"]["confluence_space_sensor"] == ["STOPPED", 3600]
    assert loaded["schedules"] == {"weekly_maintenance_schedule": ["STOPPED", "30 7 * * 1", "Europe/Berlin"]}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PIPELINE_WEEKLY_CRON": "fridays at six"}, "PIPELINE_WEEKLY_CRON='fridays at six' is not a cron string"),
        ({"PIPELINE_WEEKLY_TIMEZONE": "Seoul"}, "PIPELINE_WEEKLY_TIMEZONE='Seoul' is not an IANA time zone"),
        ({"PIPELINE_SENSOR_TICK_BUDGET_S": "90"}, "PIPELINE_SENSOR_TICK_BUDGET_S=90 must lie between 5 and 55"),
        ({"PIPELINE_AUTOMATION": "maybe"}, "PIPELINE_AUTOMATION='maybe' is not a boolean"),
    ],
)
def test_bad_automation_settings_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises((ValueError, SettingError), match=message):
        automation_settings(environ)
    assert automation_settings({}).weekly_cron == "0 18 * * 5"
