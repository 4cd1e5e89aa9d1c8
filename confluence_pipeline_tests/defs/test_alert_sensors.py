"""The alert sensors on real runs of the ingest job: what they post to a loopback webhook, and what they never post."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    build_run_status_sensor_context,
)

from confluence_pipeline.defs.ingest.assets import ingest_assets
from confluence_pipeline.defs.ingest.jobs import ingest_job
from confluence_pipeline.defs.ingest.partitions import space_partitions
from confluence_pipeline.defs.maintenance.alerts import confluence_run_failure_alert, confluence_sync_health_alert
from confluence_pipeline.defs.maintenance.assets import maintenance_assets
from confluence_pipeline.defs.resources import build_resources
from confluence_pipeline_tests.confluence.helpers import sandbox_environ
from confluence_pipeline_tests.maintenance.webhook import WebhookServer

SPACE = "ENG"
WRONG_TOKEN = "wrong-token-7f3a9c"


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    server = WebhookServer().start()
    yield server
    server.stop()


@pytest.fixture
def stack(make_sandbox, db_url: str, webhook: WebhookServer, monkeypatch: pytest.MonkeyPatch):
    server = make_sandbox(pages=40)
    for name, value in sandbox_environ(
        server,
        db_url,
        CONFLUENCE_MAX_RETRIES="0",
        CONFLUENCE_BACKOFF_BASE_S="0.01",
        ALERT_WEBHOOK_URL=webhook.url,
        ALERT_UI_URL="http://dagster.test:3000",
    ).items():
        monkeypatch.setenv(name, value)
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(space_partitions.name, [SPACE])
    return server, instance


def _run(instance: DagsterInstance) -> ExecuteInProcessResult:
    """One run of the real ``confluence_ingest`` job for the space, recorded in the instance."""
    defs = Definitions(assets=[*ingest_assets, *maintenance_assets], jobs=[ingest_job], resources=build_resources())
    job = defs.resolve_job_def(ingest_job.name)
    return job.execute_in_process(partition_key=SPACE, instance=instance, raise_on_error=False)


def _evaluate(sensor, instance: DagsterInstance, run_id: str, event_type: DagsterEventType, *, failure: bool) -> None:
    run = instance.get_run_by_id(run_id)
    [entry] = instance.all_logs(run_id, of_type=event_type)
    context = build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=entry.dagster_event,
        dagster_instance=instance,
        dagster_run=run,
        resources=build_resources(),
    )
    sensor(context.for_run_failure() if failure else context)


def test_a_failing_run_posts_the_expected_json(stack, webhook: WebhookServer, monkeypatch) -> None:
    _, instance = stack
    monkeypatch.setenv("CONFLUENCE_API_TOKEN", WRONG_TOKEN)
    result = _run(instance)
    assert not result.success

    _evaluate(confluence_run_failure_alert, instance, result.run_id, DagsterEventType.RUN_FAILURE, failure=True)

    [payload] = webhook.received
    run_url = f"http://dagster.test:3000/runs/{result.run_id}"
    error = "confluence_space: Confluence at http://127.0.0.1"
    assert payload["text"].startswith(
        f"confluence_ingest failed for space ENG (space ENG, run {result.run_id} {run_url})."
    )
    assert "rejected the credentials (HTTP 401). Check CONFLUENCE_EMAIL and CONFLUENCE_API_TOKEN" in payload["text"]
    assert "What to do: Read the error above" in payload["text"]
    assert "confluence-pipeline materialize --space ENG" in payload["text"]
    header, summary, facts, action, button = payload["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "confluence_ingest failed for space ENG"},
    }
    assert summary["text"]["text"].startswith(f"Run {result.run_id} failed.\n• {error}")
    fields = [field["text"] for field in facts["fields"]]
    assert fields[:3] == ["*Space*\nENG", f"*Run*\n<{run_url}|{result.run_id}>", "*Job*\nconfluence_ingest"]
    assert fields[3].startswith("*Duration*\n") and fields[4].startswith("*Slowest steps*\nconfluence_space ")
    assert action["text"]["text"].startswith("*What to do*\n")
    assert button == {
        "type": "actions",
        "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open the run"}, "url": run_url}],
    }
    dumped = json.dumps(payload)
    assert WRONG_TOKEN not in dumped and webhook.token_path not in dumped


def test_a_healthy_run_posts_nothing_and_a_slow_lossy_one_posts_two_alerts(
    stack, webhook: WebhookServer, monkeypatch
) -> None:
    server, instance = stack
    healthy = _run(instance)
    assert healthy.success
    _evaluate(confluence_sync_health_alert, instance, healthy.run_id, DagsterEventType.RUN_SUCCESS, failure=False)
    assert webhook.received == []

    # Some of the space's pages cannot be fetched (they are edited, so that the next run lists them), and any run
    # counts as slow: the run succeeds, with both thresholds crossed.
    pages = [p.id for p in server.corpus.pages(space_key=SPACE, statuses=["current"])][:5]
    for page_id in pages:
        server.edit_page(page_id, body="<p>edited</p>")
    server.set_faults(fail_page_ids=pages)
    monkeypatch.setenv("ALERT_SLOW_SYNC_MINUTES", "0.00001")
    lossy = _run(instance)
    assert lossy.success

    [pages_step] = lossy.asset_materializations_for_node("confluence_pages")
    counts = {key: value.value for key, value in pages_step.metadata.items()}
    lost, handled = counts["pages_failed"], max(counts["listed"], counts["fetched"] + counts["pages_failed"])
    assert lost > 0.1 * handled

    _evaluate(confluence_sync_health_alert, instance, lossy.run_id, DagsterEventType.RUN_SUCCESS, failure=False)
    slow, failed = webhook.received
    assert slow["text"].startswith("Slow sync of space ENG") and "ALERT_SLOW_SYNC_MINUTES" in slow["text"]
    header = failed["blocks"][0]["text"]["text"]
    assert header == f"{lost} page(s) failed in space ENG ({100 * lost / handled:.0f}%)"
    assert f"could not store {lost} of the {handled} page(s)" in failed["text"]
    fields = [field["text"] for field in failed["blocks"][2]["fields"]]
    assert f"*Failed pages*\n{lost} of {handled}: {counts['failed_page_ids']}" in fields


def test_without_a_webhook_nothing_is_posted(stack, webhook: WebhookServer, monkeypatch) -> None:
    _, instance = stack
    monkeypatch.delenv("ALERT_WEBHOOK_URL")
    monkeypatch.setenv("CONFLUENCE_API_TOKEN", WRONG_TOKEN)
    result = _run(instance)
    _evaluate(confluence_run_failure_alert, instance, result.run_id, DagsterEventType.RUN_FAILURE, failure=True)
    assert webhook.attempts == []
