"""The Play sensors: the outbox drains in its tick; the aggregation follows each weekly tick's runs; automation off."""

from __future__ import annotations

import importlib
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg
import pytest
from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    Definitions,
    SensorResult,
    build_sensor_context,
)

from confluence_pipeline.defs.ingest.assets import ingest_assets
from confluence_pipeline.defs.ingest.jobs import ingest_job
from confluence_pipeline.defs.ingest.partitions import space_partitions
from confluence_pipeline.defs.maintenance.assets import maintenance_assets
from confluence_pipeline.defs.plays import sensors
from confluence_pipeline.defs.plays.assets import play_assets
from confluence_pipeline.defs.plays.jobs import play_aggregation_job
from confluence_pipeline.defs.resources import PlaysResource, SettingError, build_resources, default_sensor_status
from confluence_pipeline.defs.tags import AFTER_WEEKLY_TICK_TAG, WEEKLY_TICK_RUNS_TAG, WEEKLY_TICK_TAG, weekly_tick_tags
from confluence_pipeline.plays.outbox import PlayEvent, enqueue_event, outbox_status
from confluence_pipeline.store import plays as store
from confluence_pipeline_tests.plays.conftest import page_body, writes
from confluence_sandbox import SandboxServer
from confluence_sandbox import plays as sandbox_plays

SEOUL = ZoneInfo("Asia/Seoul")


def _tick(instance: DagsterInstance) -> str:
    result = sensors.play_outbox_sensor(build_sensor_context(instance=instance, resources=build_resources()))
    return result.skip_message


def _counts(conn: psycopg.Connection) -> tuple[int, int, int]:
    status = outbox_status(conn)
    return status.pending, status.failed, status.synced


def test_the_outbox_sensor_drains_in_its_tick_and_waits_out_an_outage(
    play_env: SandboxServer, conn: psycopg.Connection, sync_plays
) -> None:
    server = play_env
    sync_plays()
    instance = DagsterInstance.ephemeral()
    server.reset_stats()
    assert _tick(instance) == "outbox empty (0 event(s) synced)"
    assert server.stats()["total"] == 0  # an empty outbox asks Confluence nothing

    for n, kind in enumerate(["activity.created", "signal.created", "brief.created"], start=1):
        event = PlayEvent(kind, "EXT_Desk_D02", f"Event {n}", actor="Kim", event_id=f"ev-{n}")
        assert enqueue_event(conn, event)
    server.set_faults(error_rate=1.0)
    down = _tick(instance)
    assert "0 write(s) applied" in down and "1 failed" in down and "stopped: Confluence unavailable" in down
    assert _counts(conn) == (2, 1, 0)
    assert "ev-1" not in page_body(server, sandbox_plays.ACTION_LOG_PAGE_ID)

    server.reset_faults()
    back = _tick(instance)
    assert "7 write(s) applied" in back and "0 failed" in back and "0 pending, 0 failed, 3 synced" in back
    assert _counts(conn) == (0, 0, 3)
    log = page_body(server, sandbox_plays.ACTION_LOG_PAGE_ID)
    assert log.index("ev-1") < log.index("ev-2") < log.index("ev-3")
    server.reset_stats()
    assert _tick(instance) == "outbox empty (3 event(s) synced)" and writes(server) == 0


def test_automation_off_starts_the_sensors_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_sensor_status({}) == DefaultSensorStatus.RUNNING
    assert default_sensor_status({"PIPELINE_AUTOMATION": "off"}) == DefaultSensorStatus.STOPPED
    with pytest.raises(SettingError, match="PIPELINE_AUTOMATION='sometimes' is not a boolean"):
        default_sensor_status({"PIPELINE_AUTOMATION": "sometimes"})
    assert sensors.play_outbox_sensor.default_status == DefaultSensorStatus.RUNNING
    try:
        monkeypatch.setenv("PIPELINE_AUTOMATION", "off")
        reloaded = importlib.reload(sensors)
        assert reloaded.play_outbox_sensor.default_status == DefaultSensorStatus.STOPPED
        assert reloaded.play_aggregation_after_weekly_sensor.default_status == DefaultSensorStatus.STOPPED
    finally:
        monkeypatch.delenv("PIPELINE_AUTOMATION")
        importlib.reload(sensors)


def _after_weekly(instance: DagsterInstance, cursor: str | None = None, **resources: object) -> SensorResult:
    context = build_sensor_context(instance=instance, cursor=cursor, resources=resources or build_resources())
    return sensors.play_aggregation_after_weekly_sensor(context)


def test_the_weekly_tick_runs_its_reconciliation_then_the_aggregation(
    play_env: SandboxServer, conn: psycopg.Connection
) -> None:
    """The weekly schedule tags the runs of a tick; the aggregation starts once every one of them is over.

    The tick's runs here are the ingest run that syncs the Play space (what the aggregation reads) and a second run
    that is still going, then fails: failed runs count as over.
    """
    server = play_env
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(space_partitions.name, [sandbox_plays.PLAY_SPACE_KEY])
    defs = Definitions(
        assets=[*ingest_assets, *maintenance_assets, *play_assets],
        jobs=[ingest_job, play_aggregation_job],
        resources=build_resources(),
    )
    first = _after_weekly(instance)
    assert first.skip_reason and "no weekly tick" in first.skip_reason.skip_message

    tick = datetime(2026, 11, 27, 18, 0, tzinfo=SEOUL)
    tags = weekly_tick_tags(tick, runs=2)
    assert tags[WEEKLY_TICK_TAG] == "2026-11-27T09:00:00Z"
    sync = defs.resolve_job_def(ingest_job.name).execute_in_process(
        instance=instance, partition_key=sandbox_plays.PLAY_SPACE_KEY, tags=tags
    )
    assert sync.success
    waiting = _after_weekly(instance)
    assert not waiting.run_requests and "1 of 2 run(s) requested" in waiting.skip_reason.skip_message

    # The tick's other run exists but has not finished.
    other = instance.create_run_for_job(defs.resolve_job_def(ingest_job.name), tags=tags)
    still = _after_weekly(instance)
    assert not still.run_requests and "1 not finished" in still.skip_reason.skip_message

    instance.report_run_failed(other)
    ready = _after_weekly(instance)
    [request] = ready.run_requests
    assert request.run_key == "weekly-qtd:2026-11-27T09:00:00Z" and ready.cursor == tags[WEEKLY_TICK_TAG]
    assert request.tags[AFTER_WEEKLY_TICK_TAG] == tags[WEEKLY_TICK_TAG]
    done = _after_weekly(instance, cursor=ready.cursor)
    assert not done.run_requests and "no weekly tick since the last aggregation" in done.skip_reason.skip_message

    server.reset_stats()
    aggregation = defs.resolve_job_def(play_aggregation_job.name).execute_in_process(
        instance=instance, tags=request.tags
    )
    assert aggregation.success and writes(server) == 1
    records = {r.dagster_run.run_id: r for r in instance.get_run_records()}
    tick_runs = [r for r in records.values() if r.dagster_run.tags.get(WEEKLY_TICK_TAG)]
    assert {r.dagster_run.status for r in tick_runs} == {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE}
    assert records[aggregation.run_id].start_time >= max(r.end_time for r in tick_runs)
    assert store.page_writes(conn)[0]["source"] == aggregation.run_id


def test_a_run_the_daemon_will_retry_is_waited_for(play_env: SandboxServer) -> None:
    instance = DagsterInstance.ephemeral()
    job = Definitions(assets=play_assets, jobs=[play_aggregation_job], resources=build_resources()).resolve_job_def(
        play_aggregation_job.name
    )
    # A tick may also be written in the schedule's zone: ticks are ordered by time, not as text.
    older = {WEEKLY_TICK_TAG: "2026-11-20T18:00:00+09:00", WEEKLY_TICK_RUNS_TAG: "1"}
    newer = weekly_tick_tags(datetime(2026, 11, 27, 18, 0, tzinfo=SEOUL), runs=1)
    handled = instance.create_run_for_job(job, tags=older)
    instance.report_run_failed(handled)
    failed = instance.create_run_for_job(job, tags={**newer, "dagster/will_retry": "true"})
    instance.report_run_failed(failed)
    # A new deployment (no cursor) looks at the newest tick only.
    waiting = _after_weekly(instance)
    assert not waiting.run_requests and "1 not finished" in waiting.skip_reason.skip_message
    retry = instance.create_run_for_job(job, tags={**newer, "dagster/parent_run_id": failed.run_id})
    assert "1 not finished" in _after_weekly(instance).skip_reason.skip_message
    instance.report_run_failed(retry)
    # A site that does not track Plays gets no aggregation run, which could only fail.
    unconfigured = _after_weekly(instance, plays=PlaysResource())
    assert not unconfigured.run_requests and "Play tracking is not configured" in unconfigured.skip_reason.skip_message
    [request] = _after_weekly(instance).run_requests
    assert request.run_key == f"weekly-qtd:{newer[WEEKLY_TICK_TAG]}"
    [again] = _after_weekly(instance, cursor=older[WEEKLY_TICK_TAG]).run_requests
    assert again.run_key == request.run_key
    assert not _after_weekly(instance, cursor=newer[WEEKLY_TICK_TAG]).run_requests
