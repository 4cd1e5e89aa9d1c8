"""``make bench``: throughput, refresh cost and peak memory of the pipeline against the local sandbox.

For each corpus size the sandbox runs in a process of its own (so its memory is not counted) and the pipeline in
another, on a fresh database of the embedded server, with the local embedder: list → fetch → Markdown → chunks →
embeddings → Postgres, space after space. A sampler thread records the peak resident memory of the pipeline process
and its worker processes. Then it measures a refresh with nothing changed and one with 1% of pages edited, counting
Confluence requests through the sandbox's ``/_sandbox/stats``. Figures are printed, never asserted: timing targets
do not belong in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from typing import Any

import psutil

from confluence_pipeline.cli.common import local_database


class PeakMemory:
    """Samples the resident memory of this process tree every 50 ms and keeps the peak."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)
            self._stop.wait(0.05)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _admin(base: str, path: str, payload: dict[str, Any] | None = None) -> Any:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(base + path, data=data, method="POST" if data is not None else "GET")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def _run_pipeline(db_url: str) -> dict[str, Any]:
    """Sync every space end to end with plain stage functions; returns counts, seconds and request counts."""
    from confluence_pipeline.confluence.sync import discover_spaces, sync_space
    from confluence_pipeline.defs.resources import configured_resources
    from confluence_pipeline.stages import chunk_space, convert_space, embed_space
    from confluence_pipeline.store import pages as page_store
    from confluence_pipeline.store.db import connect

    # The settings a run would use: the code location's resources, bound to this worker's environment.
    resources = configured_resources()
    confluence = resources.confluence
    stage_settings = resources.pipeline.settings(confluence.settings())
    provider = resources.embeddings.build()
    phases = {"sync": 0.0, "markdown": 0.0, "chunks": 0.0, "embeddings": 0.0}
    totals = {"pages_written": 0, "pages_converted": 0, "chunks": 0, "texts_embedded": 0, "requests": 0}
    started = time.monotonic()
    with connect(db_url, autocommit=True) as conn:
        client = confluence.client()
        spaces = discover_spaces(client)
        with conn.transaction():
            for space in spaces:
                page_store.upsert_space(conn, space)
        for space in spaces:
            t = time.monotonic()
            result = sync_space(conn, client, space.key)
            phases["sync"] += time.monotonic() - t
            totals["pages_written"] += result.written
            t = time.monotonic()
            totals["pages_converted"] += convert_space(conn, space.key, stage_settings).processed
            phases["markdown"] += time.monotonic() - t
            t = time.monotonic()
            totals["chunks"] += chunk_space(conn, space.key, stage_settings).written
            phases["chunks"] += time.monotonic() - t
            t = time.monotonic()
            totals["texts_embedded"] += embed_space(conn, space.key, [provider], stage_settings).processed
            phases["embeddings"] += time.monotonic() - t
        totals["requests"] = client.stats.requests
    return {"seconds": time.monotonic() - started, "phases": phases, **totals, "embedding_model": provider.model}


def worker_main(db_url: str) -> int:
    """Child process: run the pipeline once under the memory sampler and print JSON."""
    with PeakMemory() as memory:
        result = _run_pipeline(db_url)
    result["peak_rss_mb"] = round(memory.peak / 2**20, 1)
    print(json.dumps(result))
    return 0


def _pipeline_once(db_url: str, env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.full_sync", "worker", db_url],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _start_sandbox(pages: int, seed: int, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "confluence_sandbox", "serve", "--port", str(port), "--pages", str(pages),
         "--seed", str(seed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            _admin(f"http://127.0.0.1:{port}/_sandbox", "/stats")
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"sandbox exited: {proc.stderr.read().decode()[-2000:]}") from None
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("sandbox did not start within 120 s")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_size(pages: int, seed: int) -> dict[str, Any]:
    """Full sync, idle refresh and 1% refresh for one corpus size."""
    import psycopg

    urls = local_database()
    name = f"bench_{pages}_{uuid.uuid4().hex[:6]}"
    admin_url = urls.app.replace("/confluence?", "/postgres?")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db_url = urls.app.replace("/confluence?", f"/{name}?")
    from confluence_pipeline.store.migrate import apply_migrations

    apply_migrations(db_url)
    port = _free_port()
    sandbox = _start_sandbox(pages, seed, port)
    admin = f"http://127.0.0.1:{port}/_sandbox"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONFLUENCE_", "OPENAI_", "EMBEDDING_"))}
    env.update(
        {
            "CONFLUENCE_BASE_URL": f"http://127.0.0.1:{port}/wiki",
            "CONFLUENCE_DEPLOYMENT": "cloud",
            "CONFLUENCE_EMAIL": "sandbox@example.com",
            "CONFLUENCE_API_TOKEN": "sandbox-token",
            "CONFLUENCE_INCLUDE_PERSONAL_SPACES": "true",
            # The client-side limit protects real sites; the benchmark measures the pipeline.
            "CONFLUENCE_RATE_LIMIT_RPS": "100000",
        }
    )
    try:
        full = _pipeline_once(db_url, env)
        _admin(admin, "/stats/reset", {})
        idle = _pipeline_once(db_url, env)
        idle_requests = _admin(admin, "/stats")["total"]
        ids = _current_page_ids(db_url)
        changed = ids[:: max(1, len(ids) // max(1, len(ids) // 100))][: max(1, len(ids) // 100)]
        _admin(admin, "/clock", {"advance_s": 120})
        for page_id in changed:
            _admin(admin, f"/pages/{page_id}/edit", {"body": f"<h1>Edited</h1><p>benchmark edit of {page_id}</p>"})
        _admin(admin, "/stats/reset", {})
        one_percent = _pipeline_once(db_url, env)
        one_percent_requests = _admin(admin, "/stats")["total"]
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "pages": full["pages_written"],
        "full": full,
        "idle": {**idle, "confluence_requests": idle_requests},
        "one_percent": {**one_percent, "confluence_requests": one_percent_requests, "edited": len(changed)},
    }


def _current_page_ids(db_url: str) -> list[str]:
    import psycopg

    with psycopg.connect(db_url) as conn:
        return [r[0] for r in conn.execute("SELECT page_id FROM pages WHERE status = 'current' ORDER BY page_id")]


def _print_size(report: dict[str, Any]) -> None:
    full, idle, one = report["full"], report["idle"], report["one_percent"]
    rate = full["pages_written"] / full["seconds"] if full["seconds"] else 0.0
    print(f"\n== {full['pages_written']} pages ({full['embedding_model']}, {os.cpu_count()} cores) ==")
    print(f"full sync:        {full['seconds']:.1f} s  {rate:.1f} pages/s  {full['chunks']} chunks  "
          f"{full['requests']} Confluence requests  peak RSS {full['peak_rss_mb']} MB")  # fmt: skip
    print("  phases:         " + ", ".join(f"{k} {v:.1f} s" for k, v in full["phases"].items()))
    print(f"idle refresh:     {idle['seconds']:.2f} s  {idle['confluence_requests']} Confluence requests  "
          f"{idle['pages_written']} pages written  {idle['texts_embedded']} texts embedded")  # fmt: skip
    print(f"1% changed:       {one['seconds']:.2f} s  {one['confluence_requests']} Confluence requests  "
          f"{one['pages_written']} of {one['edited']} edited pages written  "
          f"{one['texts_embedded']} texts embedded")  # fmt: skip


def main(args: argparse.Namespace) -> int:
    """Run the benchmark for each size in ``args.pages`` and print the figures."""
    local_database()
    reports = []
    for pages in args.pages:
        report = bench_size(pages, args.seed)
        _print_size(report)
        reports.append(report)
    from benchmarks import convert_speed as convert_bench
    from benchmarks.search_speed import main as search_bench

    print()
    convert_bench.main([])

    search_bench([])
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "worker":
        sys.exit(worker_main(sys.argv[2]))
    print("usage: python -m benchmarks.full_sync worker DB_URL (or run `make bench`)", file=sys.stderr)
    sys.exit(2)
