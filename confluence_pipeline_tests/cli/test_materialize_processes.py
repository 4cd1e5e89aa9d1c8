"""``materialize`` runs spaces side by side, each in a process of its own, largest first, under one rate limit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import psutil
import psycopg
import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from confluence_pipeline.cli import main
from confluence_pipeline.cli.common import PROCESS_TAG, _largest_first, _process_alive, _process_tag
from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.sync import count_space_pages
from confluence_pipeline.defs.resources import configured_resources
from confluence_pipeline_tests.confluence.helpers import sandbox_settings


def _pids(run_id: str) -> set[int]:
    """The process ids a run's events came from."""
    entries = DagsterInstance.get().all_logs(run_id)
    return {entry.dagster_event.pid for entry in entries if entry.dagster_event and entry.dagster_event.pid}


def _run_pids() -> dict[str, set[int]]:
    """Per space, the process ids its run's events came from."""
    return {run.tags["dagster/partition"]: _pids(run.run_id) for run in DagsterInstance.get().get_runs()}


def test_spaces_run_side_by_side_in_processes_of_their_own(
    cli_env: None, make_sandbox, use_sandbox, db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    server = make_sandbox(pages=60)
    use_sandbox(server, CONFLUENCE_SPACES="ENG,OPS,HR", PIPELINE_SPACE_PROCESSES="2")
    assert main(["materialize", "--all"]) == 0
    out = capsys.readouterr().out
    assert all(f"{key}: run " in out for key in ("ENG", "OPS", "HR"))
    pids = _run_pids()
    assert set(pids) == {"ENG", "OPS", "HR"}
    workers = set().union(*pids.values())
    # Two processes ran the three runs, none of them this one.
    assert len(workers) == 2 and os.getpid() not in workers and all(len(p) == 1 for p in pids.values())
    with psycopg.connect(db_url) as conn:
        stored = dict(conn.execute("SELECT space_key, count(*) FROM pages GROUP BY space_key").fetchall())
        limits = conn.execute("SELECT count(*) FROM rate_limits").fetchone()[0]
    for key in ("ENG", "OPS", "HR"):
        assert stored[key] == len(server.corpus.pages(space_key=key, statuses=["current"]))
    assert limits == 1  # the runs' requests went through the limit they share

    # One after another, in this process.
    monkeypatch.setenv("PIPELINE_SPACE_PROCESSES", "1")
    assert main(["materialize", "--space", "HR"]) == 0
    instance = DagsterInstance.get()
    latest = next(run for run in instance.get_runs() if run.tags["dagster/partition"] == "HR")  # newest first
    assert _pids(latest.run_id) == {os.getpid()}


def test_the_largest_space_goes_first(cli_env: None, make_sandbox, use_sandbox, db_url: str) -> None:
    server = make_sandbox(pages=80)
    use_sandbox(server, CONFLUENCE_SPACES="ENG,OPS,HR")
    sizes = {key: len(server.corpus.pages(space_key=key, statuses=["current"])) for key in ("ENG", "OPS", "HR")}
    client = ConfluenceClient(sandbox_settings(server))
    # Never synced: Confluence's own count, one small search each.
    assert {key: count_space_pages(client, key) for key in sizes} == sizes
    assert _largest_first(["HR", "OPS", "ENG"]) == sorted(sizes, key=lambda key: -sizes[key])
    # Synced: the store's count, with no request.
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO spaces (space_key, name, space_type, status) VALUES ('HR', 'HR', 'global', 'current')"
        )
        conn.execute(
            """INSERT INTO pages (page_id, space_key, title, status, version_number, version_at, path, body_storage,
                                  content_hash)
               SELECT 'x' || n, 'HR', 'p' || n, 'current', 1, now(), '/x' || n || '/', '', 'h'
               FROM generate_series(1, 500) n"""
        )
    before = server.stats()["total"]
    assert _largest_first(["ENG", "OPS", "HR"])[0] == "HR"
    assert server.stats()["total"] - before == 2  # ENG and OPS only


def test_the_space_processes_share_the_workers_and_refuse_a_negative_count() -> None:
    environ = {"PIPELINE_WORKERS": "4", "PIPELINE_SPACE_PROCESSES": "2"}
    assert configured_resources(environ).pipeline.space_plan(5) == (2, 2)
    assert configured_resources(environ).pipeline.space_plan(1) == (1, 4)
    assert configured_resources({"PIPELINE_WORKERS": "1"}).pipeline.space_plan(3)[1] == 1
    assert configured_resources({"PIPELINE_SPACE_PROCESSES": "1"}).pipeline.space_plan(9)[0] == 1
    with pytest.raises(ValueError, match="PIPELINE_SPACE_PROCESSES=-1 must be at least 0"):
        configured_resources({"PIPELINE_SPACE_PROCESSES": "-1"}).pipeline.space_plan(2)


def test_a_killed_space_process_fails_the_unfinished_spaces_with_a_way_to_resume(
    cli_env: None, make_sandbox, use_sandbox, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_sandbox(pages=80)
    # Slow enough (2 requests a second) that the runs are still going when a process is killed.
    use_sandbox(server, CONFLUENCE_SPACES="ENG,OPS", PIPELINE_SPACE_PROCESSES="2", CONFLUENCE_RATE_LIMIT_RPS="2")
    killed: list[int] = []

    def kill_one_space_process() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            # Once both runs are going, kill one of the command's processes, as the OOM killer would.
            # The command has built its instance's storage before its first search; opening the instance any
            # earlier would race it to create the storage's tables.
            ready = server.stats()["by_endpoint"].get("GET /rest/api/content/search", 0) > 0
            started = DagsterInstance.get().get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED])) if ready else []
            if len(started) == 2:
                # The process a run executes in is named by its tag (a fork of the command's fork server).
                pid = int(started[0].tags[PROCESS_TAG].split(":")[0])
                if pid != os.getpid():
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_one_space_process, daemon=True)
    killer.start()
    assert main(["materialize", "--all"]) == 1
    killer.join()
    assert killed
    err = capsys.readouterr().err
    assert "did not finish: a process of this command ended abruptly" in err
    assert "confluence-pipeline materialize --space" in err
    # No run is left 'started', holding its steps' pool slots: the next runs would wait for them for ever.
    statuses = {run.status for run in DagsterInstance.get().get_runs()}
    assert DagsterRunStatus.STARTED not in statuses and DagsterRunStatus.FAILURE in statuses

    # Run again: the sync resumes, and every page is stored.
    assert main(["materialize", "--all"]) == 0
    with psycopg.connect(db_url) as conn:
        stored = dict(conn.execute("SELECT space_key, count(*) FROM pages GROUP BY space_key").fetchall())
    for key in ("ENG", "OPS"):
        assert stored[key] == len(server.corpus.pages(space_key=key, statuses=["current"]))


def _held_slots(run_id: str) -> list[str]:
    """The pool slots a run's steps hold, as ``pool/step``."""
    storage = DagsterInstance.get().event_log_storage
    return [
        f"{pool.name}/{slot.step_key}"
        for pool in storage.get_pool_limits()
        for slot in storage.get_concurrency_info(pool.name).claimed_slots
        if slot.run_id == run_id
    ]


def test_a_command_killed_mid_run_leaves_no_run_holding_pool_slots(
    cli_env: None, make_sandbox, use_sandbox, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_sandbox(pages=240)
    # Slow enough (a request every 2 s) that the pages step is still fetching when the command is killed.
    use_sandbox(server, CONFLUENCE_SPACES="ENG", CONFLUENCE_RATE_LIMIT_RPS="0.5")
    code = "import sys; from confluence_pipeline.cli import main; sys.exit(main(['materialize', '--all']))"
    command = subprocess.Popen([sys.executable, "-c", code], env=os.environ.copy())
    try:
        deadline = time.monotonic() + 120
        held: list[str] = []
        while time.monotonic() < deadline and not held and command.poll() is None:
            # The command has built its instance's storage before its first search; opening the instance any
            # earlier would race it to create the storage's tables.
            ready = server.stats()["by_endpoint"].get("GET /rest/api/content/search", 0) > 0
            started = DagsterInstance.get().get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED])) if ready else []
            # The pages step holds its slot for seconds (a step that ends between two looks would free it).
            held = (
                [slot for slot in _held_slots(started[0].run_id) if slot.endswith("/confluence_pages")]
                if started
                else []
            )
            time.sleep(0.05)
        assert held, "the command's run never held a pool slot"
        command.send_signal(signal.SIGKILL)  # as the OOM killer would
        command.wait(30)
    finally:
        if command.poll() is None:
            command.kill()
    killed = started[0]
    assert DagsterInstance.get().get_run_by_id(killed.run_id).status == DagsterRunStatus.STARTED
    assert _held_slots(killed.run_id)  # nothing else frees them: the next runs of the pool would wait for them

    # The next command fails the dead run and frees its slots before its own run starts.
    assert main(["materialize", "--all"]) == 0
    assert "marked 1 run(s) failed whose process is gone" in capsys.readouterr().err
    assert DagsterInstance.get().get_run_by_id(killed.run_id).status == DagsterRunStatus.FAILURE
    assert _held_slots(killed.run_id) == []
    with psycopg.connect(db_url) as conn:
        stored = conn.execute("SELECT count(*) FROM pages WHERE space_key = 'ENG'").fetchone()[0]
    assert stored == len(server.corpus.pages(space_key="ENG", statuses=["current"]))


def test_a_run_process_is_judged_by_its_pid_and_start_time() -> None:
    me = psutil.Process()
    assert _process_alive(_process_tag(me))
    assert not _process_alive(f"{me.pid}:1.00")  # the same pid, given to another process later
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    tag = _process_tag(psutil.Process(child.pid))
    child.wait()
    assert not _process_alive(tag)
    assert not _process_alive("") and not _process_alive("not-a-pid")
