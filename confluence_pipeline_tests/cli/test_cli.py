"""The CLI end to end on the test server: demo twice (runs of the real job, checks included, and the Play DB
summary), status agrees."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import psycopg
import pytest

from confluence_pipeline.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]


# The figures without their day: a demo after midnight adds the new day's snapshot with the same figures.
FIGURES = "SELECT DISTINCT quarter, play_id, activity, signal, brief, s2, s3, status FROM play_qtd_stats"


def _row_versions(url: str) -> dict[str, list[tuple[str, str]]]:
    """Every row's physical version: any insert, update or delete changes it.

    Except in ``rate_limits``: the shared Confluence rate limit's clock, which every request moves on, is not data.
    """
    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            if r[0] != "rate_limits"
        ]
        return {t: sorted(conn.execute(f"SELECT ctid::text, xmin::text FROM {t}").fetchall()) for t in tables}


def _sync_rows(versions: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
    # The Play tables change on every demo: the sandbox starts over, so its Play DB is written (and audited) again.
    return {table: rows for table, rows in versions.items() if not table.startswith("play_")}


def _play_summary(output: str) -> tuple[dict[str, int], list[str]]:
    """The demo's Play DB summary: Plays per status, and the changed rows as printed."""
    match = re.search(
        r"^Play QTD \d{4}Q\d \(as of [\d-]+\): (\d+) Plays: (\d+) Green, (\d+) Amber, (\d+) Red$", output, re.M
    )
    assert match, output
    plays, green, amber, red = (int(n) for n in match.groups())
    assert plays == green + amber + red == 43
    written = re.search(r"^Play DB page 720899: written \(version (\d+) → (\d+)\)$", output, re.M)
    assert written and int(written[2]) == int(written[1]) + 1, output
    rows = re.findall(r"^  ([A-Z]{3}_[A-Za-z]+_[A-Z]\d\d): .* → ", output, re.M)
    assert 0 < len(rows) == _field(output, "rows changed") < 43
    return {"Green": green, "Amber": amber, "Red": red}, rows


def _field(output: str, name: str) -> int:
    match = re.search(rf"^{name}:\s+(\d+)", output, re.MULTILINE)
    assert match, output
    return int(match.group(1))


def _assert_runs_of_the_ingest_job_with_checks(spaces: int) -> None:
    """The demo's sync runs are confluence_ingest runs, each with its five asset checks evaluated; then one Play run."""
    from dagster import DagsterEventType, DagsterInstance

    instance = DagsterInstance.get()
    runs = [run for run in instance.get_runs() if run.job_name == "confluence_ingest"]
    assert spaces > 0 and len(runs) == spaces
    assert {run.job_name for run in instance.get_runs()} == {"confluence_ingest", "play_qtd_aggregation"}
    for run in runs:
        checks = instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
        evaluations = [record.dagster_event.event_specific_data for record in checks]
        assert len(evaluations) == 5 and all(e.passed for e in evaluations), run.tags.get("dagster/partition")


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
    statuses, changed_rows = _play_summary(first)

    for name in ("CONFLUENCE_BASE_URL", "CONFLUENCE_EMAIL", "CONFLUENCE_API_TOKEN", "CONFLUENCE_DEPLOYMENT"):
        monkeypatch.delenv(name, raising=False)
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert sum(row["pages"] for row in status) == int(pages.group(1))
    assert sum(row["chunks"] for row in status) == _field(first, "chunks")
    assert sum(row["chunks_with_embeddings"] for row in status) == _field(first, "embedded chunks")
    assert all(row["watermark"] and row["last_sync_at"] and row["last_check_at"] for row in status)
    assert re.search(r"^space .* last change +last check\s*$", first, re.MULTILINE), first

    versions = _row_versions(db_url)
    with psycopg.connect(db_url) as conn:
        figures = conn.execute(FIGURES)
        figures_before = sorted(figures.fetchall())
    assert main(["demo", "--pages", "60"]) == 0
    second = capsys.readouterr().out
    assert _sync_rows(_row_versions(db_url)) == _sync_rows(versions)  # the second sync wrote nothing
    assert _field(second, "changed pages") == 0
    assert "nothing changed: no writes" in second
    # The Play DB of the new sandbox gets the same figures, so the same rows change.
    assert _play_summary(second) == (statuses, changed_rows)
    with psycopg.connect(db_url) as conn:
        figures = conn.execute(FIGURES)
        assert sorted(figures.fetchall()) == figures_before
    assert main(["status", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    # Nothing changed, but the second run checked every space: only the last check moved.
    assert [{**row, "last_check_at": None} for row in again] == [{**row, "last_check_at": None} for row in status]
    assert all(now["last_check_at"] > before["last_check_at"] for now, before in zip(again, status, strict=True))

    assert main(["search", "kubectl rollback", "--json", "-k", "3"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and {"title", "section", "space_key", "url", "snippet", "score"} <= set(hits[0])


def test_dev_runs_dagster_from_the_dagster_home(cli_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Started in the repo, `dagster dev` warns that the repo's dagster.yaml is not the one it uses."""
    from confluence_pipeline.cli import ingest

    calls: list[tuple[list[str], str]] = []
    monkeypatch.setattr(ingest.subprocess, "call", lambda cmd, env, cwd: calls.append((cmd, cwd)) or 0)
    assert main(["dev", "--pages", "20", "--port", "3999"]) == 0
    [(cmd, cwd)] = calls
    home = Path(os.environ["DAGSTER_HOME"])
    assert Path(cwd) == home and (home / "dagster.yaml").read_bytes() == (REPO_ROOT / "dagster.yaml").read_bytes()
    assert cmd[1:4] == ["dev", "-w", str(REPO_ROOT / "workspace.yaml")] and cmd[-2:] == ["-p", "3999"]
