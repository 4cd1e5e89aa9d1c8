"""The CLI end to end on the test server: demo twice (runs of the real job, checks included), status agrees."""

from __future__ import annotations

import json
import re

import psycopg
import pytest

from confluence_pipeline.cli import main


def _row_versions(url: str) -> dict[str, list[tuple[str, str]]]:
    """Every row's physical version: any insert, update or delete changes it."""
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return {t: sorted(conn.execute(f"SELECT ctid::text, xmin::text FROM {t}").fetchall()) for t in tables}


def _field(output: str, name: str) -> int:
    match = re.search(rf"^{name}:\s+(\d+)", output, re.MULTILINE)
    assert match, output
    return int(match.group(1))


def _assert_runs_of_the_ingest_job_with_checks(spaces: int) -> None:
    """The demo's runs are recorded as confluence_ingest runs, each with its four asset checks evaluated."""
    from dagster import DagsterEventType, DagsterInstance

    instance = DagsterInstance.get()
    runs = instance.get_runs()
    assert spaces > 0 and len(runs) == spaces
    assert {run.job_name for run in runs} == {"confluence_ingest"}
    for run in runs:
        checks = instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
        evaluations = [record.dagster_event.event_specific_data for record in checks]
        assert len(evaluations) == 4 and all(e.passed for e in evaluations), run.tags.get("dagster/partition")


def test_demo_status_and_second_demo(
    cli_env: None, db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    assert main(["demo", "--pages", "60"]) == 0
    first = capsys.readouterr().out
    pages = re.search(r"^pages:\s+(\d+) stored of (\d+) current pages", first, re.MULTILINE)
    assert pages and pages.group(1) == pages.group(2) and int(pages.group(1)) > 0
    assert _field(first, "changed pages") == int(pages.group(1))
    assert _field(first, "embedded chunks") == _field(first, "chunks") > 0
    assert "sample search" in first and "no results" not in first
    _assert_runs_of_the_ingest_job_with_checks(spaces=len(re.findall(r"run \S+ succeeded", first)))

    for name in ("CONFLUENCE_BASE_URL", "CONFLUENCE_EMAIL", "CONFLUENCE_API_TOKEN", "CONFLUENCE_DEPLOYMENT"):
        monkeypatch.delenv(name, raising=False)
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert sum(row["pages"] for row in status) == int(pages.group(1))
    assert sum(row["chunks"] for row in status) == _field(first, "chunks")
    assert sum(row["chunks_with_embeddings"] for row in status) == _field(first, "embedded chunks")
    assert all(row["watermark"] and row["last_sync_at"] for row in status)

    versions = _row_versions(db_url)
    assert main(["demo", "--pages", "60"]) == 0
    second = capsys.readouterr().out
    assert _row_versions(db_url) == versions  # the second run wrote nothing
    assert _field(second, "changed pages") == 0
    assert "nothing changed: no writes" in second
    assert main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == status

    assert main(["search", "kubectl rollback", "--json", "-k", "3"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and {"title", "section", "space_key", "url", "snippet", "score"} <= set(hits[0])
