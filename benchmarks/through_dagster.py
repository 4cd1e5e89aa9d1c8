"""End to end through the Dagster instance, as users run it: ``confluence-pipeline materialize --all``.

The worker process runs the command's own code (the CLI's ``main``) against a fresh database and a fresh Dagster
home whose ``dagster.yaml`` is the project's (PostgreSQL run and event storage), so every run, step and
materialization is recorded as in production. Afterwards it reads the instance back: each run's wall time, each
step's, and the ``seconds`` each asset reports for its own work. What a run spends outside its assets' work is
Dagster's per-run overhead (run and step bookkeeping, event writes, resource set-up).

``python -m benchmarks.through_dagster worker`` prints one JSON line; the environment names the database
(``DATABASE_URL``), the Dagster home (``DAGSTER_HOME``) and the Confluence sandbox (``CONFLUENCE_*``).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from collections import defaultdict
from typing import Any

from benchmarks.harness import PeakMemory


def _instance_figures() -> dict[str, Any]:
    """Per-run wall time, step time and asset work time, read back from the Dagster instance."""
    from dagster import DagsterEventType, DagsterInstance

    instance = DagsterInstance.get()
    runs: list[dict[str, Any]] = []
    phases: dict[str, float] = defaultdict(float)
    for run in instance.get_runs():
        stats = instance.get_run_stats(run.run_id)
        steps = instance.get_run_step_stats(run.run_id)
        asset_seconds = 0.0
        for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
            materialization = entry.get_dagster_event().step_materialization_data.materialization
            seconds = materialization.metadata.get("seconds")
            value = float(seconds.value) if seconds is not None else 0.0
            phases[materialization.asset_key.to_user_string()] += value
            asset_seconds += value
        wall = (stats.end_time or 0.0) - (stats.start_time or 0.0)
        runs.append(
            {
                "partition": run.tags.get("dagster/partition", ""),
                "status": run.status.value,
                "start_time": stats.start_time or 0.0,
                "seconds": wall,
                "steps": len(steps),
                "step_seconds": sum((s.end_time or 0.0) - (s.start_time or 0.0) for s in steps),
                "asset_seconds": asset_seconds,
            }
        )
    return {"runs": runs, "phases": dict(phases)}


def worker_main() -> int:
    """Child process: ``confluence-pipeline materialize --all`` under the memory sampler, then the instance's view."""
    from confluence_pipeline.cli import main as cli_main

    output = io.StringIO()
    with PeakMemory() as memory:
        started = time.monotonic()
        started_at = time.time()  # the runs' start times in the instance are wall-clock times
        with contextlib.redirect_stdout(output):
            code = cli_main(["materialize", "--all"])
        seconds = time.monotonic() - started
    if code != 0:
        print(output.getvalue()[-4000:], file=sys.stderr)
        return code
    result = {"seconds": seconds, "started_at": started_at, "peak_rss_mb": memory.peak_mb, **_instance_figures()}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "worker":
        sys.exit(worker_main())
    print("usage: python -m benchmarks.through_dagster worker (or run `make bench`)", file=sys.stderr)
    sys.exit(2)
