"""Edit-to-search latency: from the sensor tick that sees an edit to the edit being searchable, through the daemon.

Users judge freshness by how long an edit takes to show up in search. On a real-size sandbox corpus that was
synced first (``confluence-pipeline materialize --all``), one page is edited with a word no page holds; then the
Dagster daemon (``dagster-daemon run -w workspace.yaml``) runs with the change sensor started, as ``make dev`` runs
it: the sensor's tick requests a run for the space, the run queue launches it in a new process, its steps sync the
page, convert, chunk and embed it, and it goes live. The sensor's first tick (nothing changed yet) passes before the
edit, so the daemon is warm, as in a running ``make dev``; the next tick sees the edit. The daemon runs the change
sensor every ``PIPELINE_CHANGE_SENSOR_INTERVAL_S`` = 30 s (the shortest the product accepts; its default, 300 s,
would only lengthen the wait for that tick, which is not counted). The database is polled for the word every 50 ms.

It prints, from the instance's records: tick → run queued → run started → run finished → searchable, the run's
steps, and the total from the tick (the wait for the tick itself, up to the sensor's interval, is not counted).

``python -m benchmarks.freshness [--pages N] [--daemon-log PATH]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import psycopg

from benchmarks.harness import fresh_database, run_worker, sandbox_env, start_sandbox

SENSOR = "confluence_change_sensor"
# The change sensor's interval in the bench: the edit waits up to this long for a tick, which the figure leaves out.
SENSOR_INTERVAL_S = 30
# What the daemon's code location reads besides the sandbox and the databases (the product's default interval is 300 s).
DAEMON_SETTINGS = {"PIPELINE_CHANGE_SENSOR_INTERVAL_S": str(SENSOR_INTERVAL_S)}
_WORD = "quokkafreshness"


def _tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _searchable(db_url: str, page_id: str) -> bool:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT 1 FROM chunks WHERE document_id = %s AND is_live AND text LIKE %s LIMIT 1",
            (page_id, f"%{_WORD}%"),
        ).fetchone()
    return row is not None


def _run_figures(env: dict[str, str]) -> dict[str, Any]:
    """The sensor's run and its tick, from the instance (in this process, pointed at the bench's Dagster home)."""
    from dagster import DagsterInstance, RunsFilter

    os.environ.update({k: env[k] for k in ("DAGSTER_HOME", "DAGSTER_PG_URL")})
    instance = DagsterInstance.get()
    records = instance.get_run_records(RunsFilter(tags={"dagster/sensor_name": SENSOR}))
    if not records:
        return {}
    record = records[0]
    run = record.dagster_run
    tick = instance.schedule_storage.get_tick(int(run.tags["dagster/tick"])) if "dagster/tick" in run.tags else None
    steps = instance.get_run_step_stats(run.run_id)
    logs = instance.all_logs(run.run_id)
    events = {
        entry.dagster_event.event_type_value: entry.timestamp
        for entry in logs
        if entry.dagster_event is not None and entry.dagster_event.event_type_value.startswith("PIPELINE_")
    }
    # The job's own executor (in process) is not in the run config; its engine event names it.
    in_process = any((entry.message or "").startswith("Executing steps in process") for entry in logs)
    return {
        "events": events,
        "tick": tick.timestamp if tick else None,
        "created": record.create_timestamp.timestamp(),
        "started": record.start_time,
        "ended": record.end_time,
        "status": run.status.value,
        "executor": "in process" if in_process else "multiprocess",
        "steps": [(s.step_key, (s.end_time or 0) - (s.start_time or 0)) for s in steps],
    }


def _sensor_ticks(env: dict[str, str]) -> list[Any]:
    """The change sensor's completed ticks, newest first."""
    from dagster import DagsterInstance

    os.environ.update({k: env[k] for k in ("DAGSTER_HOME", "DAGSTER_PG_URL")})
    instance = DagsterInstance.get()
    for state in instance.all_instigator_state():
        if state.instigator_name == SENSOR and state.selector_id:
            ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=100)
            return [tick for tick in ticks if tick.end_timestamp]
    return []


def _tick_summary(ticks: list[Any]) -> str:
    """What the change sensor's ticks did, oldest first: why a figure is missing."""
    parts = []
    for tick in reversed(ticks):
        what = tick.skip_reason or (f"{len(tick.run_ids)} run(s)" if tick.run_ids else tick.status.value.lower())
        parts.append(f"{time.strftime('%H:%M:%S', time.localtime(tick.timestamp))} {what}")
    return "; ".join(parts) or "none"


def _stop_group(daemon: subprocess.Popen[bytes], grace_s: float = 15.0) -> None:
    """Stop the daemon and what it started: its code server outlived SIGTERM at times, holding its run's process."""
    os.killpg(daemon.pid, signal.SIGTERM)
    daemon.wait(timeout=60)
    deadline = time.monotonic() + grace_s
    try:
        while time.monotonic() < deadline:
            os.killpg(daemon.pid, 0)  # raises once no process of the group is left
            time.sleep(0.5)
        os.killpg(daemon.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def measure(pages: int, seed: int, timeout: float = 180.0, daemon_log: Path | None = None) -> dict[str, Any]:
    """Sync a corpus, edit a page, run the daemon with the change sensor, and time the edit into search.

    Args:
        pages: pages of the sandbox corpus.
        seed: corpus seed.
        timeout: seconds to wait for the first tick, and then for the edit to be searchable (beyond the interval).
        daemon_log: file for the daemon's output (its ticks, the run's events); None discards it.
    """
    from confluence_pipeline import localstack
    from confluence_pipeline.cli.common import local_database

    urls = local_database()
    sandbox = start_sandbox(pages, seed, profile="real", rate_limit_rps=10)
    daemon: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    try:
        with fresh_database(urls.app, "bench_fresh") as db, tempfile.TemporaryDirectory(prefix="bench-fresh-") as home:
            stack = localstack.LocalStackSettings(dagster_home=Path(home))
            localstack.ensure_dagster_home(stack)
            dagster_url = localstack.ensure_database(db, stack).dagster
            env = sandbox_env(os.environ, sandbox, DATABASE_URL=db, DAGSTER_HOME=home, DAGSTER_PG_URL=dagster_url,
                              **DAEMON_SETTINGS)  # fmt: skip
            run_worker("benchmarks.through_dagster", [], env)
            with psycopg.connect(db) as conn:
                page_id, body = conn.execute(
                    "SELECT page_id, body_storage FROM pages WHERE status = 'current' ORDER BY page_id LIMIT 1"
                ).fetchone()
            workspace = str(localstack.PROJECT_ROOT / "workspace.yaml")
            log = daemon_log.open("wb") if daemon_log else None
            daemon = subprocess.Popen(
                [_tool("dagster-daemon"), "run", "-w", workspace],
                env=env, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            subprocess.run([_tool("dagster"), "sensor", "start", SENSOR, "-w", workspace], env=env, check=True,
                           capture_output=True)  # fmt: skip
            # A warm daemon, as in `make dev`: its first tick (nothing changed) passes before the edit.
            deadline = time.monotonic() + timeout
            while not _sensor_ticks(env) and time.monotonic() < deadline:
                time.sleep(0.5)
            # One new section: the page's other chunks keep their text (and their vectors), as in a real edit.
            sandbox.admin("/clock", {"advance_s": 120})
            sandbox.admin(f"/pages/{page_id}/edit", {"body": f"{body}<h2>Fresh</h2><p>{_WORD} edit</p>"})
            deadline = time.monotonic() + SENSOR_INTERVAL_S + timeout
            found = None
            while time.monotonic() < deadline:
                if _searchable(db, page_id):
                    found = time.time()
                    break
                time.sleep(0.05)
            # The asset checks may still run after the page went live: wait for the run's end to read its figures.
            figures = _run_figures(env)
            while time.monotonic() < deadline and figures and not figures["ended"]:
                time.sleep(0.5)
                figures = _run_figures(env)
            figures["searchable"] = found
            figures["page_id"] = page_id
            figures["ticks"] = _tick_summary(_sensor_ticks(env))
    finally:
        if daemon is not None:
            _stop_group(daemon)
        if log is not None:
            log.close()
        sandbox.stop()
    return figures


def print_figures(figures: dict[str, Any]) -> None:
    """Print the latency and its parts."""
    tick, found = figures.get("tick"), figures.get("searchable")
    if not tick or not found:
        print(f"\nedit to search: not measured (run {figures.get('status', 'missing')}, searchable={bool(found)}; "
              f"{SENSOR} ticks: {figures.get('ticks', 'none')})")  # fmt: skip
        return
    started = figures["started"] or found
    launched = figures.get("events", {}).get("PIPELINE_STARTING", figures["created"])
    parts = [("tick → run queued", figures["created"] - tick),
             ("queued → launched (dequeue)", launched - figures["created"]),
             ("launched → run started (a new process imports Dagster and loads the code location)",
              started - launched),
             ("run started → searchable (resources, steps up to the embeddings)", found - started),
             ("the whole run (with the asset checks)", (figures["ended"] or found) - started)]  # fmt: skip
    executor = figures.get("executor", "?")
    print(f"\nedit to search:       {found - tick:.1f} s from the sensor tick that saw the edit to the page being "
          f"searchable (daemon + change sensor, one {executor} run of {len(figures['steps'])} steps)")  # fmt: skip
    print("  " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in parts))
    events = figures.get("events", {})
    if events:
        first = figures["created"]
        print("  run events after queueing: " + ", ".join(
            f"{name.removeprefix('PIPELINE_').lower()} +{stamp - first:.1f} s"
            for name, stamp in sorted(events.items(), key=lambda item: item[1])))  # fmt: skip
    print("  steps: " + ", ".join(f"{key} {seconds:.1f} s" for key, seconds in figures["steps"]))


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m benchmarks.freshness [--pages N]``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.freshness", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--daemon-log", type=Path, help="write the daemon's output (ticks, run events) to this file")
    args = parser.parse_args(argv)
    print_figures(measure(args.pages, args.seed, daemon_log=args.daemon_log))
    return 0


if __name__ == "__main__":
    sys.exit(main())
