"""The Play assets through a Dagster instance, against the Play sandbox and the embedded Postgres."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from dagster import AssetCheckSeverity, DagsterInstance, Definitions, ExecuteInProcessResult, JobDefinition

from confluence_pipeline.defs.plays.assets import play_assets
from confluence_pipeline.defs.plays.jobs import play_aggregation_job
from confluence_pipeline.defs.resources import build_resources
from confluence_pipeline.plays.aggregate import STATUSES, aggregate_quarter
from confluence_pipeline.plays.quarters import Quarter
from confluence_pipeline.store import plays as store
from confluence_pipeline_tests.plays.conftest import page_body, play_settings, writes
from confluence_sandbox import SandboxServer
from confluence_sandbox import plays as sandbox_plays

# The sandbox's Play pages run up to 2025-11-29: the quarter is over, so its figures do not depend on the clock.
QUARTER = "2025Q4"
PLAY_DB = sandbox_plays.PLAY_DB_PAGE_ID


def aggregation_job() -> JobDefinition:
    """The job as the code location defines it, bound to this process's environment."""
    defs = Definitions(assets=play_assets, jobs=[play_aggregation_job], resources=build_resources())
    return defs.resolve_job_def(play_aggregation_job.name)


def run_config(quarter: str = QUARTER, *, dry_run: bool = False) -> dict[str, Any]:
    """Run config of the aggregation job."""
    return {
        "ops": {
            "play_qtd_stats": {"config": {"quarter": quarter}},
            "play_db_page": {"config": {"dry_run": dry_run}},
        }
    }


def _metadata(result: ExecuteInProcessResult, node: str) -> dict[str, Any]:
    [materialization] = result.asset_materializations_for_node(node)
    return {k: v.value for k, v in materialization.metadata.items()}


def _failure(result: ExecuteInProcessResult) -> str:
    [event] = [e for e in result.all_events if e.is_step_failure]
    return event.step_failure_data.user_failure_data.description


def test_the_job_aggregates_the_stored_log_and_writes_the_play_db_once(
    play_env: SandboxServer, conn: psycopg.Connection, sync_plays
) -> None:
    server = play_env
    sync_plays()
    instance = DagsterInstance.ephemeral()
    expected = aggregate_quarter(conn, play_settings(), Quarter.parse(QUARTER), datetime.now(UTC), store_result=False)
    version = server.corpus.page(PLAY_DB).version
    server.reset_stats()

    first = aggregation_job().execute_in_process(run_config=run_config(), instance=instance)
    assert first.success
    stats = _metadata(first, "play_qtd_stats")
    assert stats["quarter"] == QUARTER and stats["plays"] == 43
    assert {status: stats[f"plays_{status.lower()}"] for status in STATUSES} == expected.status_counts()
    assert stats["rows_counted"] == expected.rows_counted > 100
    assert stats["malformed_rows"] == len(expected.problems) > 0
    assert all(str(problem) in stats["malformed"] for problem in expected.problems)
    assert stats["preview"].startswith("| Play") and "| EXT_Desk_D01 " in stats["preview"]
    [check] = first.get_asset_check_evaluations()
    assert check.check_name == "action_log_rows_readable" and not check.passed
    assert check.severity == AssetCheckSeverity.WARN
    as_of, stored = store.latest_qtd_stats(conn, QUARTER)
    assert sorted(stored, key=lambda r: r.play_id) == sorted(expected.rows(), key=lambda r: r.play_id)

    page = _metadata(first, "play_db_page")
    assert page["outcome"] == "written" and page["quarter"] == QUARTER
    assert (page["version_before"], page["version_after"]) == (version, version + 1)
    assert page["rows_changed"] > 0 and "| Play " in page["changes"]
    assert writes(server) == 1  # one page update for the whole table
    audit = store.page_writes(conn, str(PLAY_DB))
    assert [(a["kind"], a["outcome"], a["source"], a["quarter"]) for a in audit] == [
        ("play_db_aggregation", "written", first.run_id, QUARTER)
    ]

    server.reset_stats()
    body = page_body(server, PLAY_DB)
    again = aggregation_job().execute_in_process(run_config=run_config(), instance=instance)
    assert again.success
    unchanged = _metadata(again, "play_db_page")
    assert unchanged["outcome"] == "unchanged" and unchanged["cells_changed"] == 0
    assert writes(server) == 0 and page_body(server, PLAY_DB) == body
    assert len(store.page_writes(conn, str(PLAY_DB))) == 1
    assert store.latest_qtd_stats(conn, QUARTER) == (as_of, stored)


def test_a_dry_run_writes_nothing_and_records_the_plan_as_an_observation(
    play_env: SandboxServer, conn: psycopg.Connection, sync_plays
) -> None:
    server = play_env
    sync_plays()
    before = page_body(server, PLAY_DB)
    server.reset_stats()
    result = aggregation_job().execute_in_process(
        run_config=run_config(dry_run=True), instance=DagsterInstance.ephemeral()
    )
    assert result.success
    assert result.asset_materializations_for_node("play_db_page") == []
    [observation] = result.asset_observations_for_node("play_db_page")
    plan = {k: v.value for k, v in observation.metadata.items()}
    assert plan["outcome"] == "dry_run" and plan["cells_changed"] > 0 and "| Play " in plan["changes"]
    assert writes(server) == 0 and page_body(server, PLAY_DB) == before
    assert store.page_writes(conn) == []


def test_unsynced_pages_and_a_bad_quarter_fail_with_what_to_do(play_env: SandboxServer, sync_plays) -> None:
    instance = DagsterInstance.ephemeral()
    unsynced = aggregation_job().execute_in_process(run_config=run_config(), instance=instance, raise_on_error=False)
    assert not unsynced.success
    message = _failure(unsynced)
    assert f"page {sandbox_plays.ACTION_LOG_PAGE_ID} is not stored" in message and "sync the page's space" in message
    assert unsynced.asset_materializations_for_node("play_db_page") == []

    sync_plays()
    bad = aggregation_job().execute_in_process(
        run_config=run_config("Q4 2025"), instance=instance, raise_on_error=False
    )
    assert "is not a quarter: write it as YYYYQn" in _failure(bad)
