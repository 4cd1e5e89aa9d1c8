"""The code location: exactly these definitions, loaded alike by ``dagster -w workspace.yaml`` and by ``dg``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from dagster import Definitions

from confluence_pipeline.definitions import defs

REPO_ROOT = Path(__file__).resolve().parents[1]
LOCATION = "confluence_pipeline"

INGEST_ASSETS = [
    "chunk_embeddings",
    "confluence_pages",
    "confluence_reconciliation",
    "confluence_space",
    "page_chunks",
    "page_markdown",
]
PLAY_ASSETS = ["play_db_page", "play_qtd_stats"]
ASSETS = sorted(INGEST_ASSETS + PLAY_ASSETS)
ASSET_CHECKS = [
    "chunk_embeddings:current_pages_have_live_chunks",
    "chunk_embeddings:live_chunks_have_embeddings",
    "chunk_embeddings:no_chunks_for_inactive_pages",
    "chunk_embeddings:space_is_fresh",
    "chunk_embeddings:vector_dimensions_match",
    "play_qtd_stats:action_log_rows_readable",
]
JOBS = ["confluence_ingest", "confluence_reconcile", "play_qtd_aggregation"]
SENSORS = [
    "confluence_change_sensor",
    "confluence_freshness_sensor",
    "confluence_run_failure_alert",
    "confluence_space_sensor",
    "confluence_sync_health_alert",
    "play_aggregation_after_weekly_sensor",
    "play_outbox_sensor",
]
SCHEDULES = ["weekly_maintenance_schedule"]


def test_the_code_location_defines_exactly_these_names() -> None:
    Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    assert sorted(key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()) == ASSETS
    assert sorted(key.to_user_string() for key in repo.asset_graph.asset_check_keys) == ASSET_CHECKS
    # Dagster adds a hidden job per partitioning of the assets (``__ASSET_JOB``); only ours count.
    assert sorted(job.name for job in repo.get_all_jobs() if not job.name.startswith("__")) == JOBS
    assert sorted(sensor.name for sensor in repo.sensor_defs) == SENSORS
    assert sorted(schedule.name for schedule in repo.schedule_defs) == SCHEDULES


def test_each_job_selects_the_assets_of_its_domain() -> None:
    repo = defs.get_repository_def()
    jobs = (
        ("confluence_ingest", INGEST_ASSETS),
        ("confluence_reconcile", ["confluence_reconciliation"]),
        ("play_qtd_aggregation", PLAY_ASSETS),
    )
    for name, expected in jobs:
        job = repo.get_job(name)
        assert sorted(key.to_user_string() for key in job.asset_layer.executable_asset_keys) == expected, name


def test_workspace_yaml_and_dg_name_the_same_module_and_location() -> None:
    workspace = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text(encoding="utf-8"))
    [entry] = workspace["load_from"]
    target = entry["python_module"]
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["dg"]["project"]
    assert target["module_name"] == project["code_location_target_module"] == "confluence_pipeline.definitions"
    assert target["location_name"] == project["code_location_name"] == LOCATION
    assert target["attribute"] == "defs" and project["defs_module"] == "confluence_pipeline.defs"


@pytest.fixture
def instance_env(temporary_database, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for a Dagster CLI: a temporary DAGSTER_HOME with the repo's dagster.yaml, on the test server."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    with temporary_database(migrated=False) as url:
        env = {name: value for name, value in os.environ.items() if not name.startswith("DAGSTER_")}
        env.update(
            {
                "DAGSTER_HOME": str(home),
                "DAGSTER_PG_URL": url.replace("postgresql://", "postgresql+psycopg2://", 1),
                "DAGSTER_DISABLE_TELEMETRY": "1",
            }
        )
        yield env


def _tool(name: str) -> Path:
    return Path(sys.executable).parent / name


def _run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=240, check=False)


def test_dagster_loads_the_location_from_workspace_yaml(instance_env: dict[str, str]) -> None:
    cmd = [str(_tool("dagster")), "definitions", "validate", "-w", "workspace.yaml", "--log-level", "info"]
    result = _run(cmd, instance_env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"Validation successful for code location {LOCATION}." in output


@pytest.mark.skipif(not _tool("dg").exists(), reason="dg (dagster-dg-cli) is not installed")
def test_dg_check_defs_loads_the_same_location(instance_env: dict[str, str]) -> None:
    dg = str(_tool("dg"))
    check = _run([dg, "check", "defs", "--log-level", "info"], instance_env)
    output = check.stdout + check.stderr
    assert check.returncode == 0, output
    assert f"Validation successful for code location {LOCATION}." in output


def test_the_code_location_loads_without_the_checkout(tmp_path: Path) -> None:
    # A container image may install the wheel: no pyproject.toml beside the package. The location must still load.
    shutil.copytree(REPO_ROOT / "confluence_pipeline", tmp_path / "confluence_pipeline")
    code = (
        "import confluence_pipeline.definitions as d; "
        f"assert d.__file__.startswith({str(tmp_path)!r}), d.__file__; "
        "repo = d.defs.get_repository_def(); "
        "print(sorted(k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()))"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == str(ASSETS)


def test_loading_the_code_location_leaves_pandas_unimported() -> None:
    # Every run process loads the location: pandas (seconds of import under load) is for the Play aggregation only.
    probe = "import sys, confluence_pipeline.definitions; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
