"""The browser check: start the Dagster UI on the local stack, check it through GraphQL, screenshot it in Chromium.

    python scripts/ui_screenshots.py [--port 0] [--pages 120] [--out docs] [--no-demo] [--keep-db]   (make screenshots)

1. ``confluence-pipeline demo`` fills the local stack (runs recorded under ``confluence_ingest``), unless ``--no-demo``.
2. ``confluence-pipeline dev`` starts ``dagster dev -w workspace.yaml`` (webserver and daemon) on a free port.
3. Dagster's GraphQL API (``/graphql``) must say: the code location loaded without error, and every schedule and
   sensor of it is RUNNING. The ``dagster dev`` log must not carry the warning about the working folder's
   ``dagster.yaml``.
4. Headless Chromium (Debian's ``chromium``; nothing is downloaded) saves the asset graph, the Automation page, the
   checks of ``chunk_embeddings`` (the freshness check among them) and the latest ``confluence_ingest`` run as PNGs
   under ``docs/``.

It prints what it found and exits 1 when any check failed (the screenshots are saved either way). The UI and the
sandbox it started are stopped at the end; the embedded PostgreSQL too, unless ``--keep-db``. ``SANDBOX_PORT`` and
``CONFLUENCE_PIPELINE_HOME`` are honoured, like every command of the local stack.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LOCATION = "confluence_pipeline"
DAGSTER_YAML_WARNING = "Found a dagster instance configuration value"
PAGES = {
    "ui-asset-graph.png": "/asset-groups",
    "ui-automation.png": "/automation",
    "ui-asset-checks.png": "/assets/chunk_embeddings?view=checks",
}
RUN_SHOT = "ui-run.png"

WORKSPACE_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
    ... on PythonError { message }
  }
}"""

REPOSITORIES_QUERY = """
{
  repositoriesOrError {
    __typename
    ... on RepositoryConnection {
      nodes {
        name
        location { name }
        sensors { name sensorState { status } }
        schedules { name scheduleState { status } }
      }
    }
    ... on PythonError { message }
  }
}"""

RUNS_QUERY = """
query LatestRun($filter: RunsFilter) {
  runsOrError(filter: $filter, limit: 1) {
    __typename
    ... on Runs { results { runId status jobName } }
    ... on PythonError { message }
  }
}"""

# What the "Skip" button of Dagster's first-visit dialog sends: without it, the dialog covers every screenshot.
NUX_SEEN_MUTATION = "mutation { setNuxSeen }"


@dataclass
class Report:
    """What the check found; ``failures`` empty means it passed."""

    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def ok(self, text: str) -> None:
        """Record a passing check."""
        self.lines.append(f"ok    {text}")

    def fail(self, text: str) -> None:
        """Record a failing check."""
        self.lines.append(f"FAIL  {text}")
        self.failures.append(text)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def graphql(base: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one GraphQL query against the webserver and return its ``data``."""
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors: {body['errors']}")
    return body["data"]


def wait_for_location(base: str, deadline_s: float, dev: subprocess.Popen[bytes]) -> dict[str, Any]:
    """Poll until the webserver answers and the code location has finished loading (or failed to)."""
    started = time.monotonic()
    last: Exception | None = None
    while time.monotonic() - started < deadline_s:
        if dev.poll() is not None:
            raise RuntimeError(f"`confluence-pipeline dev` exited with {dev.returncode} before the UI came up")
        try:
            data = graphql(base, WORKSPACE_QUERY)["workspaceOrError"]
            entries = {entry["name"]: entry for entry in data.get("locationEntries", [])}
            if LOCATION in entries and entries[LOCATION]["loadStatus"] == "LOADED":
                return entries[LOCATION]
        except (OSError, urllib.error.URLError, RuntimeError, KeyError) as exc:
            last = exc
        time.sleep(2)
    raise TimeoutError(f"the UI at {base} did not load the code location within {deadline_s:.0f} s ({last})")


def check_location(entry: dict[str, Any], report: Report) -> None:
    """The location loaded, and not as an error."""
    error = entry["locationOrLoadError"]
    if error and error["__typename"] == "PythonError":
        report.fail(f"code location {LOCATION} failed to load: {error['message'].splitlines()[0]}")
    else:
        report.ok(f"code location {LOCATION} loaded ({error['__typename'] if error else 'no entry'})")


def check_automation(base: str, report: Report) -> None:
    """Every schedule and sensor of the location is RUNNING, and there is at least one schedule."""
    data = graphql(base, REPOSITORIES_QUERY)["repositoriesOrError"]
    if data["__typename"] != "RepositoryConnection":
        report.fail(f"repositoriesOrError: {data.get('message')}")
        return
    nodes = [node for node in data["nodes"] if node["location"]["name"] == LOCATION]
    sensors = {s["name"]: s["sensorState"]["status"] for node in nodes for s in node["sensors"]}
    schedules = {s["name"]: s["scheduleState"]["status"] for node in nodes for s in node["schedules"]}
    if not schedules:
        report.fail("no schedule is defined in the code location")
    for kind, states in (("schedule", schedules), ("sensor", sensors)):
        for name, status in sorted(states.items()):
            (report.ok if status == "RUNNING" else report.fail)(f"{kind} {name}: {status}")


def latest_run(base: str, job: str | None) -> tuple[str, str] | None:
    """The id and job of the latest successful run (of ``job``, or of any job), if any."""
    runs_filter: dict[str, Any] = {"statuses": ["SUCCESS"]}
    if job:
        runs_filter["pipelineName"] = job
    data = graphql(base, RUNS_QUERY, {"filter": runs_filter})["runsOrError"]
    results = data.get("results") or []
    return (results[0]["runId"], results[0]["jobName"]) if results else None


def screenshot(chromium: str, url: str, path: Path, *, width: int, height: int, budget_ms: int) -> bool:
    """Save a PNG of a page after letting it render for ``budget_ms`` of virtual time; True when the file exists."""
    with tempfile.TemporaryDirectory(prefix="ui-shot-") as profile:
        cmd = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--virtual-time-budget={budget_ms}",
            f"--screenshot={path}",
            url,
        ]
        path.unlink(missing_ok=True)
        subprocess.run(cmd, capture_output=True, timeout=180, check=False)
    return path.exists() and path.stat().st_size > 0


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process group this script started (SIGINT first, as Ctrl-C would, then SIGTERM, then SIGKILL)."""
    if process.poll() is not None:
        return
    for sig, wait_s in ((signal.SIGINT, 30), (signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def main(argv: list[str] | None = None) -> int:
    """Run the browser check; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="UI port (default: a free one)")
    parser.add_argument("--pages", type=int, default=120, help="generated sandbox pages")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs", help="folder for the PNGs")
    parser.add_argument("--no-demo", action="store_true", help="do not run `confluence-pipeline demo` first")
    parser.add_argument("--keep-db", action="store_true", help="leave the embedded PostgreSQL running")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds for the daemon's first ticks")
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args(argv)

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("error: Chromium is not installed (Debian: apt-get install chromium)", file=sys.stderr)
        return 2
    cli = str(BIN / "confluence-pipeline")
    env = os.environ.copy()
    report = Report()
    args.out.mkdir(parents=True, exist_ok=True)

    if not args.no_demo:
        print("filling the local stack: confluence-pipeline demo")
        demo = subprocess.run([cli, "demo", "--pages", str(args.pages)], env=env, cwd=REPO_ROOT, check=False)
        (report.ok if demo.returncode == 0 else report.fail)(f"confluence-pipeline demo exited with {demo.returncode}")

    port = args.port or _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = Path(tempfile.gettempdir()) / f"ui-screenshots-dev-{port}.log"
    print(f"starting the UI: confluence-pipeline dev --port {port} (log: {log_path})")
    with log_path.open("wb") as log:
        dev = subprocess.Popen(
            [cli, "dev", "--port", str(port), "--pages", str(args.pages)],
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it stops the webserver and the daemon too
        )
        try:
            entry = wait_for_location(base, 240, dev)
            check_location(entry, report)
            # Let the daemon tick the sensors once, so the Automation page shows their first evaluations.
            time.sleep(args.settle)
            check_automation(base, report)
            shots = dict(PAGES)
            run = latest_run(base, "confluence_ingest")
            if run:
                report.ok(f"latest confluence_ingest run: {run[0]}")
            else:
                report.fail("no successful run of confluence_ingest: `demo` and `materialize` must run that job")
                run = latest_run(base, None)
            if run:
                shots[RUN_SHOT] = f"/runs/{run[0]}"
            graphql(base, NUX_SEEN_MUTATION)
            for name, path in shots.items():
                target = args.out / name
                saved = screenshot(chromium, base + path, target, width=args.width, height=args.height, budget_ms=15000)
                (report.ok if saved else report.fail)(f"screenshot {path} -> {target}")
        except (TimeoutError, RuntimeError, urllib.error.URLError) as exc:
            report.fail(str(exc))
        finally:
            stop(dev)
    dev_log = log_path.read_text(encoding="utf-8", errors="replace")
    if DAGSTER_YAML_WARNING in dev_log:
        report.fail("`dagster dev` warned about the working folder's dagster.yaml")
    else:
        report.ok("`dagster dev` printed no warning about the working folder's dagster.yaml")
    if not args.keep_db:
        subprocess.run([cli, "db", "stop"], env=env, cwd=REPO_ROOT, check=False, capture_output=True)

    print()
    print("\n".join(report.lines))
    print()
    print("browser check " + ("passed" if not report.failures else f"FAILED ({len(report.failures)} problem(s))"))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
