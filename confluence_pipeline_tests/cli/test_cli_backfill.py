"""Backfills recorded by the CLI beside `make dev` and by `dagster job backfill`, run by a daemon."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from confluence_pipeline import localstack
from confluence_pipeline.cli import main
from confluence_pipeline.localstack import PROJECT_ROOT

DAGSTER = str(Path(sys.executable).parent / "dagster")
DAEMON = str(Path(sys.executable).parent / "dagster-daemon")


def _exports(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            found[name] = shlex.split(value)[0]
    return found


def _dagster(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DAGSTER, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=240, check=False
    )


def _wait_for_runs(instance: DagsterInstance, count: int, daemon: subprocess.Popen[bytes], log: Path) -> list:
    deadline = time.monotonic() + 420
    while time.monotonic() < deadline:
        runs = instance.get_runs(RunsFilter(job_name="confluence_ingest"))
        if len(runs) >= count and all(run.is_finished for run in runs):
            return runs
        assert daemon.poll() is None, log.read_text(errors="replace")[-3000:]
        time.sleep(2)
    raise AssertionError(f"runs did not finish in time: {[(r.status, r.tags) for r in runs]}")


def _stop(daemon: subprocess.Popen[bytes]) -> None:
    # The daemon was started in a session of its own: stop it and the code server it spawned, by its group id.
    os.killpg(daemon.pid, signal.SIGTERM)
    try:
        daemon.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait(timeout=30)


@pytest.mark.timeout(900)
def test_backfills_of_two_spaces_each_are_materialized_by_the_daemon(
    cli_env: None, make_sandbox, tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_sandbox(pages=40)
    # As `make dev` leaves it: a sandbox recorded for the commands run beside it, and no CONFLUENCE_* set.
    localstack.write_sandbox_state(tmp_path / "local", localstack.SandboxState.of(server))
    assert "CONFLUENCE_BASE_URL" not in os.environ
    assert main(["backfill", "--spaces", "HR,DATA"]) == 0

    # A plain Dagster user, with the environment `confluence-pipeline env` prints.
    capsys.readouterr()
    assert main(["env"]) == 0
    exports = _exports(capsys.readouterr().out)
    assert {"DAGSTER_HOME", "DAGSTER_PG_URL", "DATABASE_URL", "CONFLUENCE_BASE_URL"} <= set(exports)
    plain = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "DATABASE_", "CONFLUENCE_"))}
    env = {**plain, **exports, "DAGSTER_DISABLE_TELEMETRY": "1"}
    recorded = _dagster(["job", "backfill", "-w", "workspace.yaml", "-j", "confluence_ingest", "--partitions",
                         "ENG,OPS", "--noprompt"], env)  # fmt: skip
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr

    instance = DagsterInstance.get()
    assert sorted(sorted(b.partition_names or []) for b in instance.get_backfills()) == [["DATA", "HR"], ["ENG", "OPS"]]
    queued = instance.get_runs(RunsFilter(job_name="confluence_ingest"))
    assert len(queued) == 4 and {run.status for run in queued} == {DagsterRunStatus.QUEUED}

    # The daemon `make dev` runs (its runs get the sandbox's token from its environment); no sensor or schedule.
    daemon_env = {**env, **localstack.SandboxState.of(server).environment(), "PIPELINE_AUTOMATION": "false"}
    daemon_env.update({"CONFLUENCE_RATE_LIMIT_RPS": "1000", "PIPELINE_WORKERS": "1"})
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        daemon = subprocess.Popen(
            [DAEMON, "run", "-w", "workspace.yaml"],
            cwd=PROJECT_ROOT,
            env=daemon_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            runs = _wait_for_runs(instance, 4, daemon, log)
        finally:
            _stop(daemon)
    assert sorted((run.tags["dagster/partition"], run.status) for run in runs) == [
        (key, DagsterRunStatus.SUCCESS) for key in ("DATA", "ENG", "HR", "OPS")
    ], log.read_text(errors="replace")[-3000:]
    assert all("dagster/backfill" in run.tags for run in runs)
    with psycopg.connect(db_url) as conn:
        stored = dict(conn.execute("SELECT space_key, count(*) FROM pages WHERE status = 'current' GROUP BY 1"))
    assert stored == {key: len(server.corpus.pages(space_key=key, statuses=["current"])) for key in stored}
    assert set(stored) == {"DATA", "ENG", "HR", "OPS"}

    # `--all` takes every registered space (the flag wants a value).
    everything = _dagster(
        ["job", "backfill", "-w", "workspace.yaml", "-j", "confluence_ingest", "--all", "all", "--noprompt"], env
    )
    assert everything.returncode == 0, everything.stdout + everything.stderr
    newest = max(instance.get_backfills(), key=lambda b: b.backfill_timestamp)
    assert sorted(newest.partition_names or []) == sorted(instance.get_dynamic_partitions("confluence_spaces"))
