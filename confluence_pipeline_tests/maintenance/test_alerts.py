"""Alerts without Dagster: which runs earn one, the Slack message, and posting it to a loopback webhook."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from confluence_pipeline.maintenance.alerts import (
    AlertError,
    AlertSettings,
    RunFacts,
    post_alert,
    run_alerts,
    slack_payload,
)
from confluence_pipeline_tests.maintenance.webhook import WebhookServer

SETTINGS = AlertSettings(ui_url="https://dagster.acme.com/", slow_sync_minutes=15, failed_pages_percent=10)


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    server = WebhookServer().start()
    yield server
    server.stop()


def _facts(**overrides) -> RunFacts:
    values = {
        "run_id": "0f1e2d3c-run",
        "job_name": "confluence_ingest",
        "space": "ENG",
        "seconds": 120.0,
        "step_seconds": {"confluence_pages": 90.0, "chunk_embeddings": 20.0},
        "pages_listed": 200,
        "pages_fetched": 200,
        "pages_failed": 0,
    }
    values.update(overrides)
    return RunFacts(**values)


def test_a_healthy_run_earns_no_alert() -> None:
    assert run_alerts(_facts(), SETTINGS) == []
    # Exactly at the thresholds is still fine: only "longer than" and "more than" alert.
    assert run_alerts(_facts(seconds=900.0, pages_failed=20, pages_fetched=180), SETTINGS) == []


def test_a_slow_sync_and_too_many_failed_pages_each_earn_an_alert() -> None:
    alerts = run_alerts(_facts(seconds=16 * 60.0, pages_failed=21, pages_fetched=179, failed_page_ids="7, 9"), SETTINGS)
    assert [a.kind for a in alerts] == ["slow_sync", "pages_failed"]
    slow, failed = alerts
    assert "16.0 min" in slow.title and "ALERT_SLOW_SYNC_MINUTES" in slow.summary
    assert "21 of the 200" in failed.summary and "ALERT_FAILED_PAGES_PERCENT" in failed.summary
    assert "status --space ENG" in failed.action
    assert all(a.space == "ENG" and a.run_url == "https://dagster.acme.com/runs/0f1e2d3c-run" for a in alerts)


def test_a_retry_run_counts_the_pages_it_attempted() -> None:
    # Nothing new was listed, but three earlier failures were retried and all failed again: 100%, not 0 of 0.
    [alert] = run_alerts(_facts(pages_listed=0, pages_fetched=0, pages_failed=3), SETTINGS)
    assert alert.kind == "pages_failed" and "3 of the 3" in alert.summary


def test_a_failed_run_earns_one_alert_naming_its_error_and_what_to_do() -> None:
    facts = _facts(succeeded=False, seconds=20 * 60.0, errors=["confluence_space: Confluence rejected the credentials"])
    [alert] = run_alerts(facts, SETTINGS)
    assert alert.kind == "run_failed" and alert.title == "confluence_ingest failed for space ENG"
    assert "confluence_space: Confluence rejected the credentials" in alert.summary
    assert "confluence-pipeline materialize --space ENG" in alert.action
    assert ("Duration", "20.0 min") in alert.details


def test_the_payload_is_slack_block_kit_and_its_text_stands_alone() -> None:
    [alert] = run_alerts(_facts(succeeded=False, errors=["confluence_pages: boom <script> & more"]), SETTINGS)
    payload = slack_payload(alert)
    assert set(payload) == {"text", "blocks"}
    text = payload["text"]
    for needed in ("space ENG", "run 0f1e2d3c-run", "https://dagster.acme.com/runs/0f1e2d3c-run", "What to do:"):
        assert needed in text
    assert "<script>" not in json.dumps(payload) and "&lt;script&gt; &amp; more" in text
    types = [block["type"] for block in payload["blocks"]]
    assert types == ["header", "section", "section", "section", "actions"]
    header, _, facts_block, action, link = payload["blocks"]
    assert header["text"] == {"type": "plain_text", "text": "confluence_ingest failed for space ENG"}
    fields = [field["text"] for field in facts_block["fields"]]
    assert "*Space*\nENG" in fields and "*Run*\n<https://dagster.acme.com/runs/0f1e2d3c-run|0f1e2d3c-run>" in fields
    assert action["text"]["text"].startswith("*What to do*\n")
    assert link["elements"][0]["url"] == "https://dagster.acme.com/runs/0f1e2d3c-run"


def test_no_secret_reaches_the_payload() -> None:
    error = (
        "confluence_pages: 401 for https://bot:hunter2-password@acme.atlassian.net/wiki with token atl-secret-token, "
        "key sk-proj-abcdefghijkl, header Bearer eyJhbGciOi"
    )
    [alert] = run_alerts(_facts(succeeded=False, errors=[error]), SETTINGS)
    dumped = json.dumps(slack_payload(alert, ["atl-secret-token", None, ""]))
    for secret in ("hunter2-password", "atl-secret-token", "sk-proj-abcdefghijkl", "eyJhbGciOi"):
        assert secret not in dumped
    assert "***" in dumped


def test_post_delivers_the_payload(webhook: WebhookServer) -> None:
    [alert] = run_alerts(_facts(succeeded=False, errors=["x: y"]), SETTINGS)
    payload = slack_payload(alert)
    assert post_alert(payload, AlertSettings(webhook_url=webhook.url)) == 1
    assert webhook.received == [payload]


def test_post_retries_a_rate_limit_and_a_server_error(webhook: WebhookServer) -> None:
    webhook.fail_next(429, retry_after="0")
    webhook.fail_next(503)
    settings = AlertSettings(webhook_url=webhook.url, max_retries=2)
    assert post_alert({"text": "hello"}, settings, backoff_base_s=0.01, backoff_max_s=0.02) == 3
    assert [status for status, _ in webhook.attempts] == [429, 503, 200]
    assert webhook.received == [{"text": "hello"}]


def test_post_gives_up_without_naming_the_webhook(webhook: WebhookServer) -> None:
    webhook.fail_next(500, 500)
    settings = AlertSettings(webhook_url=webhook.url, max_retries=1)
    with pytest.raises(AlertError, match=r"after 2 attempt\(s\) \(HTTP 500\)") as caught:
        post_alert({"text": "hello"}, settings, backoff_base_s=0.01, backoff_max_s=0.02)
    assert "s3cr3t-hook-token" not in str(caught.value) and "ALERT_WEBHOOK_URL" in str(caught.value)


def test_a_refused_alert_is_not_retried(webhook: WebhookServer) -> None:
    wrong = AlertSettings(webhook_url=webhook.url.replace("s3cr3t-hook-token", "old-hook-xyz"), max_retries=3)
    with pytest.raises(AlertError, match="HTTP 404") as caught:
        post_alert({"text": "hello"}, wrong, backoff_base_s=0.01)
    assert len(webhook.attempts) == 1 and "old-hook-xyz" not in str(caught.value)
    with pytest.raises(AlertError, match="HTTP 400"):
        post_alert({"blocks": []}, AlertSettings(webhook_url=webhook.url), backoff_base_s=0.01)


def test_an_unreachable_webhook_is_a_clear_error() -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    settings = AlertSettings(webhook_url="http://127.0.0.1:9/services/secret-path", max_retries=1, timeout_s=2)
    with pytest.raises(AlertError, match="network error") as caught:
        post_alert({"text": "x"}, settings, backoff_base_s=0.01, backoff_max_s=0.02)
    assert "secret-path" not in str(caught.value)


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        (AlertSettings(webhook_url="hooks.slack.com/services/x"), "ALERT_WEBHOOK_URL"),
        (AlertSettings(ui_url="dagster.acme.com"), "ALERT_UI_URL"),
        (AlertSettings(slow_sync_minutes=0), "ALERT_SLOW_SYNC_MINUTES"),
        (AlertSettings(failed_pages_percent=100), "ALERT_FAILED_PAGES_PERCENT"),
        (AlertSettings(timeout_s=-1), "ALERT_TIMEOUT_S"),
        (AlertSettings(max_retries=-1), "ALERT_MAX_RETRIES"),
    ],
)
def test_bad_settings_name_the_variable(settings: AlertSettings, variable: str) -> None:
    with pytest.raises(ValueError, match=variable) as caught:
        settings.validate()
    assert "slack.com/services/x" not in str(caught.value)
