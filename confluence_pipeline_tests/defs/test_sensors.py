"""Sensors: new spaces become partitions; CQL polling requests runs only for spaces that changed."""

from __future__ import annotations

import json
import time

import pytest
from dagster import DagsterInstance, build_sensor_context

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.polling import polling_order
from confluence_pipeline.confluence.sync import fetch_space, sync_space
from confluence_pipeline.defs.ingest.partitions import space_partitions
from confluence_pipeline.defs.ingest.sensors import confluence_change_sensor, confluence_space_sensor
from confluence_pipeline.defs.resources import build_resources
from confluence_pipeline.stages import StageSettings, convert_space
from confluence_pipeline.store import pages as store
from confluence_pipeline_tests.confluence.helpers import sandbox_environ, sandbox_settings


@pytest.fixture
def env(make_sandbox, db_url: str, monkeypatch: pytest.MonkeyPatch):
    server = make_sandbox(pages=40)
    for name, value in sandbox_environ(server, db_url).items():
        monkeypatch.setenv(name, value)
    return server


def test_space_sensor_adds_new_spaces_as_partitions(env) -> None:
    instance = DagsterInstance.ephemeral()
    resources = build_resources()
    context = build_sensor_context(instance=instance, resources=resources)
    result = confluence_space_sensor(context)
    added = result.dynamic_partitions_requests[0].partition_keys
    assert {"ENG", "OPS", "QM"} <= set(added) and "LEGACY" not in added
    assert {r.partition_key for r in result.run_requests} == set(added)
    instance.add_dynamic_partitions(space_partitions.name, list(added))
    again = confluence_space_sensor(build_sensor_context(instance=instance, resources=resources))
    assert again.skip_reason is not None and not again.run_requests


def test_change_sensor_requests_a_run_only_for_changed_spaces(env, conn) -> None:
    server = env
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(space_partitions.name, ["ENG", "HR"])
    resources = build_resources()
    client = ConfluenceClient(sandbox_settings(server))
    for key in ("ENG", "HR"):
        with conn.transaction():
            store.upsert_space(conn, fetch_space(client, key))

    first = confluence_change_sensor(build_sensor_context(instance=instance, resources=resources))
    assert {r.partition_key for r in first.run_requests} == {"ENG", "HR"}

    for key in ("ENG", "HR"):
        sync_space(conn, client, key)
    server.reset_stats()
    idle = confluence_change_sensor(build_sensor_context(instance=instance, resources=resources))
    assert idle.skip_reason is not None and not idle.run_requests
    assert server.stats()["total"] == 2  # one small CQL query per space

    page = next(p for p in server.corpus.pages(space_key="ENG", statuses=["current"]))
    server.edit_page(page.id, body="<p>changed</p>")
    changed = confluence_change_sensor(build_sensor_context(instance=instance, resources=resources))
    assert [r.partition_key for r in changed.run_requests] == ["ENG"]
    run_key = changed.run_requests[0].run_key
    assert run_key.startswith("ENG:") and run_key != first.run_requests[0].run_key


def test_change_sensor_retries_a_space_with_failed_pages(env, conn) -> None:
    server = env
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(space_partitions.name, ["ENG"])
    resources = build_resources()
    client = ConfluenceClient(sandbox_settings(server))
    with conn.transaction():
        store.upsert_space(conn, fetch_space(client, "ENG"))
    sync_space(conn, client, "ENG")
    assert confluence_change_sensor(build_sensor_context(instance=instance, resources=resources)).skip_reason

    # A stored page whose refetch failed: Confluence and the store still agree on the count, so no reconciliation.
    with conn.transaction():
        store.record_failures(conn, "ENG", {min(store.current_page_ids(conn, "ENG"), key=int): "HTTP 500"})
    result = confluence_change_sensor(build_sensor_context(instance=instance, resources=resources))
    assert [r.partition_key for r in result.run_requests] == ["ENG"]
    assert result.run_requests[0].run_key.startswith("ENG:retry-")


def _synced(server, conn, instance, keys: list[str]) -> ConfluenceClient:
    instance.add_dynamic_partitions(space_partitions.name, keys)
    client = ConfluenceClient(sandbox_settings(server))
    for key in keys:
        with conn.transaction():
            store.upsert_space(conn, fetch_space(client, key))
        sync_space(conn, client, key)
    return client


def test_a_trashed_page_makes_the_next_tick_request_a_reconciliation_with_one_request_a_space(env, conn) -> None:
    server = env
    instance = DagsterInstance.ephemeral()
    _synced(server, conn, instance, ["ENG", "OPS"])
    resources = build_resources()
    idle = confluence_change_sensor(build_sensor_context(instance=instance, resources=resources))
    assert idle.skip_reason is not None and not idle.run_requests

    stored = len(store.current_page_ids(conn, "ENG"))
    page = next(p for p in server.corpus.pages(space_key="ENG", statuses=["current"]))
    server.set_status(page.id, "trashed")
    server.reset_stats()
    tick = confluence_change_sensor(build_sensor_context(instance=instance, resources=resources, cursor=idle.cursor))
    [request] = tick.run_requests
    assert (request.job_name, request.partition_key) == ("confluence_reconcile", "ENG")
    assert request.run_key == f"ENG:reconcile:count-{stored - 1}-{stored}"  # the counts name the mismatch
    # One request for that space (and one for the other): the count rode on the change probe.
    assert server.stats()["by_endpoint"] == {"GET /rest/api/search": 2} and server.stats()["total"] == 2
    assert json.loads(tick.cursor)["reconcile"] == {"ENG": f"count-{stored - 1}-{stored}"}

    # The same mismatch is requested once; an edit meanwhile is a change of its own.
    server.edit_page(next(p for p in server.corpus.pages(space_key="OPS", statuses=["current"])).id, body="<p>x</p>")
    later = confluence_change_sensor(build_sensor_context(instance=instance, resources=resources, cursor=tick.cursor))
    assert [(r.job_name, r.partition_key) for r in later.run_requests] == [("confluence_ingest", "OPS")]


def test_an_on_demand_space_is_not_reconciled_by_the_sensor(env, conn, monkeypatch: pytest.MonkeyPatch) -> None:
    server = env
    monkeypatch.setenv("CONFLUENCE_RECONCILE", "weekly,ENG=on_demand")
    instance = DagsterInstance.ephemeral()
    _synced(server, conn, instance, ["ENG"])
    server.delete_page(next(p for p in server.corpus.pages(space_key="ENG", statuses=["current"])).id)
    result = confluence_change_sensor(build_sensor_context(instance=instance, resources=build_resources()))
    assert result.skip_reason is not None and not result.run_requests


def test_a_tick_stops_within_its_budget_and_the_next_resumes_where_it_stopped(
    env, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = env
    # Each probe takes over a second; a tick may spend 8 s and starts a probe only while 4 s (its bound) are left.
    monkeypatch.setenv("PIPELINE_SENSOR_TICK_BUDGET_S", "8")
    server.set_faults(latency_ms=1000)
    instance = DagsterInstance.ephemeral()
    keys = sorted(s["key"] for s in server.client().get_all_spaces(limit=100)["results"])
    assert len(keys) >= 7
    instance.add_dynamic_partitions(space_partitions.name, keys)
    resources = build_resources()
    cursor: str | None = None
    polled_total = 0
    for _tick in range(2):
        server.reset_stats()
        started = time.monotonic()
        result = confluence_change_sensor(build_sensor_context(instance=instance, resources=resources, cursor=cursor))
        assert time.monotonic() - started < 8
        polled = server.stats()["total"]
        assert 1 <= polled < len(keys)
        polled_total += polled
        cursor = result.cursor
        assert json.loads(cursor)["resume"] == polling_order(keys, None)[polled_total % len(keys)]


def test_change_sensor_refreshes_a_space_whose_pages_show_a_changed_page_of_another_space(env, conn) -> None:
    server = env
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(space_partitions.name, ["ENG", "HR"])
    resources = build_resources()
    client = ConfluenceClient(sandbox_settings(server))
    for key in ("ENG", "HR"):
        with conn.transaction():
            store.upsert_space(conn, fetch_space(client, key))
        sync_space(conn, client, key)
    eng = next(p for p in server.corpus.pages(space_key="ENG", statuses=["current"]))
    hr = next(p for p in server.corpus.pages(space_key="HR", statuses=["current"]))
    ref = f'<ac:link><ri:page ri:content-id="{eng.id}" /></ac:link>'
    server.edit_page(hr.id, body=f'<ac:structured-macro ac:name="include"><ac:parameter ac:name="">{ref}'
                     "</ac:parameter></ac:structured-macro>")  # fmt: skip
    sync_space(conn, client, "HR")
    for key in ("ENG", "HR"):
        convert_space(conn, key, StageSettings(workers=1))
    assert confluence_change_sensor(build_sensor_context(instance=instance, resources=resources)).skip_reason

    server.edit_page(eng.id, body="<p>The included page changed.</p>")
    sync_space(conn, client, "ENG")
    convert_space(conn, "ENG", StageSettings(workers=1))  # ENG's own run: HR's page is not its to convert
    result = confluence_change_sensor(build_sensor_context(instance=instance, resources=resources))
    assert [r.partition_key for r in result.run_requests] == ["HR"]
    assert result.run_requests[0].run_key.startswith("HR:deps-")
    assert convert_space(conn, "HR", StageSettings(workers=1)).processed == 1
    assert confluence_change_sensor(build_sensor_context(instance=instance, resources=resources)).skip_reason
