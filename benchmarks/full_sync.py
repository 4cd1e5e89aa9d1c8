"""``make bench``: the full sync of a real-size corpus, end to end through Dagster and in process, against a baseline.

For each corpus size the sandbox serves the ``real`` profile (bodies built from the real Cloud pages: about 16 KB
and 12 chunks a page) in a process of its own, behind a server rate limit (10 requests/s by default, like the
issue's set-up), with the local embedder. On fresh databases of the embedded server, in worker processes:

1. **end to end through the Dagster instance**: ``confluence-pipeline materialize --all`` (see
   :mod:`benchmarks.through_dagster`), then the same command again with nothing changed (the idle run's requests);
2. **in process**: the plain stage functions, as the assets call them, with a phase breakdown;
   then 1% of the pages edited and synced again;
3. **the baseline**: the best peer loader's method on the same sandbox (:mod:`benchmarks.baseline`).

A sampler thread records the peak resident memory of each worker and its children; the sandbox counts the
requests (``/_sandbox/stats``). Figures are printed, never asserted: timing targets do not belong in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import psycopg

from benchmarks.harness import (
    PeakMemory,
    Sandbox,
    fresh_database,
    machine_busy_seconds,
    run_worker,
    sandbox_env,
    server_cpu_seconds,
    start_sandbox,
)
from confluence_pipeline.cli.common import local_database

PHASES = ("sync", "markdown", "chunks", "embeddings")


def _timed_phase(phases: dict[str, float], name: str, fn: Callable[..., Any], *args: Any) -> Any:
    started = time.monotonic()
    try:
        return fn(*args)
    finally:
        phases[name] += time.monotonic() - started


def _run_pipeline(db_url: str) -> dict[str, Any]:
    """Sync every space end to end with the plain stage functions; returns counts, seconds and request counts."""
    from confluence_pipeline.confluence.sync import discover_spaces, sync_space
    from confluence_pipeline.defs.resources import configured_resources
    from confluence_pipeline.stages import ConvertWhileFetching, chunk_space, convert_space, embed_space
    from confluence_pipeline.store import pages as page_store
    from confluence_pipeline.store.db import connect
    from confluence_pipeline.store.documents import one_index_build

    # The settings a run would use: the code location's resources, bound to this worker's environment.
    resources = configured_resources()
    confluence = resources.confluence
    settings = resources.pipeline.settings(confluence.settings())
    provider = resources.embeddings.build()
    phases = dict.fromkeys(PHASES, 0.0)
    totals = {"pages_written": 0, "pages_converted": 0, "chunks": 0, "texts_embedded": 0, "requests": 0}
    started = time.monotonic()
    with connect(db_url, autocommit=True) as conn, connect(db_url, autocommit=True) as index_conn:
        client = confluence.client()

        def sync_converting(key: str) -> tuple[Any, Any]:
            # As the confluence_pages asset does: the pages stored are converted while the fetch goes on.
            with ConvertWhileFetching(lambda: connect(db_url, autocommit=True), key, settings) as early:
                synced = sync_space(conn, client, key, on_stored=early.stored)
            return synced, early.result

        spaces = discover_spaces(client)
        with conn.transaction():
            for space in spaces:
                page_store.upsert_space(conn, space)
        # As `materialize --all` does: the spaces' large loads leave the HNSW index to one build after the last.
        with one_index_build(index_conn, provider.model, provider.dimensions, settings.hnsw):
            for space in spaces:
                key = space.key
                synced, early = _timed_phase(phases, "sync", sync_converting, key)
                totals["pages_written"] += synced.written
                totals["pages_converted"] += early.processed
                converted = _timed_phase(phases, "markdown", convert_space, conn, key, settings)
                totals["pages_converted"] += converted.processed
                totals["chunks"] += _timed_phase(phases, "chunks", chunk_space, conn, key, settings).written
                embedded = _timed_phase(phases, "embeddings", embed_space, conn, key, [provider], settings)
                totals["texts_embedded"] += embedded.processed
            index_started = time.monotonic()
        phases["vector index"] = time.monotonic() - index_started
        totals["requests"] = client.stats.requests
    return {"seconds": time.monotonic() - started, "phases": phases, **totals, "embedding_model": provider.model}


def worker_main(db_url: str) -> int:
    """Child process: run the pipeline once under the memory sampler and print JSON."""
    with PeakMemory() as memory:
        result = _run_pipeline(db_url)
    result["peak_rss_mb"] = memory.peak_mb
    print(json.dumps(result))
    return 0


def _corpus_figures(db_url: str) -> dict[str, float]:
    """What the synced corpus is: current pages, spaces, average storage KB, chunks per page."""
    with psycopg.connect(db_url) as conn:
        pages, kb, spaces = conn.execute(
            "SELECT count(*), avg(octet_length(body_storage)) / 1024.0, count(DISTINCT space_key) FROM pages "
            "WHERE status = 'current'"
        ).fetchone()
        chunks = conn.execute("SELECT count(*) FROM chunks WHERE is_live").fetchone()[0]
    return {"pages": pages, "spaces": spaces, "avg_kb": float(kb or 0), "chunks": chunks,
            "chunks_per_page": chunks / pages if pages else 0.0}  # fmt: skip


def _space_keys(db_url: str) -> list[str]:
    with psycopg.connect(db_url) as conn:
        return [row[0] for row in conn.execute("SELECT space_key FROM spaces ORDER BY space_key")]


def _measured(sandbox: Sandbox, module: str, args: list[str], env: dict[str, str], server_url: str) -> dict[str, Any]:
    """Run a worker with fresh request counters; add wall time (process start included), requests, and CPU.

    CPU is counted three ways: the sandbox's, the database server's (``server_url``) and the whole machine's.
    """
    sandbox.reset_stats()
    cpu = sandbox.cpu_seconds()
    server = server_cpu_seconds(server_url)
    busy = machine_busy_seconds()
    started = time.monotonic()
    result = run_worker(module, args, env)
    result["wall_seconds"] = time.monotonic() - started
    result["machine_cpu_seconds"] = machine_busy_seconds() - busy
    after = server_cpu_seconds(server_url)
    result["server_cpu_seconds"] = after - server if server is not None and after is not None else None
    stats = sandbox.admin("/stats")
    result["confluence_requests"] = stats["total"]
    result["requests_by_endpoint"] = stats["by_endpoint"]
    # Responses the server throttled: each pauses every process for its Retry-After.
    result["throttled"] = stats["by_status"].get("429", 0)
    result["sandbox_cpu_seconds"] = sandbox.cpu_seconds() - cpu
    return result


def _requests(run: dict[str, Any]) -> str:
    """``N requests``, and how many of them were throttled when any were."""
    throttled = run.get("throttled", 0)
    return f"{run['confluence_requests']} requests" + (f" ({throttled} throttled)" if throttled else "")


def _edit_one_percent(sandbox: Sandbox, db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        ids = [r[0] for r in conn.execute("SELECT page_id FROM pages WHERE status = 'current' ORDER BY page_id")]
    count = max(1, len(ids) // 100)
    changed = ids[:: max(1, len(ids) // count)][:count]
    sandbox.admin("/clock", {"advance_s": 120})
    for page_id in changed:
        sandbox.admin(f"/pages/{page_id}/edit", {"body": f"<h1>Edited</h1><p>benchmark edit of {page_id}</p>"})
    return len(changed)


def bench_size(
    pages: int, seed: int, *, rate_limit_rps: float | None, profile: str, baseline: bool = True
) -> dict[str, Any]:
    """End to end through Dagster (full and idle), in process (full and 1% edited), and the baseline, for one size."""
    urls = local_database()
    sandbox = start_sandbox(pages, seed, profile=profile, rate_limit_rps=rate_limit_rps)
    env = sandbox_env(os.environ, sandbox)
    env.pop("DAGSTER_PG_URL", None)
    report: dict[str, Any] = {"rate_limit_rps": rate_limit_rps, "profile": profile}
    try:
        with fresh_database(urls.app, "bench_e2e") as db, tempfile.TemporaryDirectory(prefix="bench-dagster-") as home:
            dagster_env = {**env, "DATABASE_URL": db, "DAGSTER_HOME": home}
            report["e2e"] = _measured(sandbox, "benchmarks.through_dagster", [], dagster_env, urls.app)
            report["corpus"] = _corpus_figures(db)
            report["spaces"] = _space_keys(db)
            report["e2e_idle"] = _measured(sandbox, "benchmarks.through_dagster", [], dagster_env, urls.app)
        with fresh_database(urls.app, "bench_inproc") as db:
            report["in_process"] = _measured(sandbox, "benchmarks.full_sync", [db], env, urls.app)
            report["idle"] = _measured(sandbox, "benchmarks.full_sync", [db], env, urls.app)
            edited = _edit_one_percent(sandbox, db)
            report["one_percent"] = {
                **_measured(sandbox, "benchmarks.full_sync", [db], env, urls.app),
                "edited": edited,
            }
        if baseline:
            report["baseline"] = _measured(sandbox, "benchmarks.baseline", [",".join(report["spaces"])], env, urls.app)
    finally:
        sandbox.stop()
    return report


def _rate(pages: float, seconds: float) -> float:
    return pages / seconds if seconds else 0.0


def print_size(report: dict[str, Any]) -> None:
    """Print one size's figures, clearly labelled."""
    corpus, e2e, idle, full = report["corpus"], report["e2e"], report["e2e_idle"], report["in_process"]
    base, one, inproc_idle = report.get("baseline"), report["one_percent"], report["idle"]
    pages = corpus["pages"]
    limit = f"{report['rate_limit_rps']:g} req/s" if report["rate_limit_rps"] else "none"
    print(f"\n== {pages:,} pages in {corpus['spaces']} spaces ({report['profile']} profile: {corpus['avg_kb']:.1f} KB "
          f"of storage format and {corpus['chunks_per_page']:.1f} chunks a page, {corpus['chunks']:,} chunks); "
          f"{full['embedding_model']}; server rate limit {limit}; {os.cpu_count()} cores ==")  # fmt: skip
    e2e_rate = _rate(pages, e2e["wall_seconds"])
    print(f"end to end, Dagster:  {e2e['wall_seconds']:.1f} s = {e2e_rate:.1f} pages/s (`confluence-pipeline "
          f"materialize --all`, process start included; {e2e['seconds']:.1f} s inside the command)  "
          f"{_requests(e2e)}  peak RSS {e2e['peak_rss_mb']} MB")  # fmt: skip
    runs = e2e["runs"]
    overhead = [r["seconds"] - r["asset_seconds"] for r in runs]
    steps = sum(r["steps"] for r in runs)
    if runs:
        print(f"  {len(runs)} runs, {steps} steps; per run: wall {sum(r['seconds'] for r in runs) / len(runs):.2f} s, "
              f"Dagster overhead (run wall − assets' own seconds) {sum(overhead) / len(runs):.2f} s "
              f"({sum(overhead) / max(1, steps):.3f} s per step)")  # fmt: skip
    if runs and all("start_time" in r for r in runs):
        first = min(r["start_time"] for r in runs)
        starts = {r["partition"]: r["start_time"] - first for r in runs}
        spans = ", ".join(
            f"{r['partition']} {starts[r['partition']]:.1f}–{starts[r['partition']] + r['seconds']:.1f}"
            for r in sorted(runs, key=lambda r: r["start_time"])
        )
        end = max(starts[r["partition"]] + r["seconds"] for r in runs)
        print(f"  runs (s from the first run's start): {spans}; the runs span {end:.1f} s of the command's "
              f"{e2e['seconds']:.1f} s")  # fmt: skip
        if "started_at" in e2e:
            before = first - e2e["started_at"]
            print(f"  outside the runs:   {before:.1f} s from the command's start to the first run's (stack, spaces, "
                  f"run processes), {e2e['seconds'] - before - end:.1f} s after the last run ends (the vector "
                  f"index, built once for every space)")  # fmt: skip
    print("  phases (assets' own seconds, summed over runs): "
          + ", ".join(f"{k} {v:.1f} s" for k, v in e2e["phases"].items()))  # fmt: skip
    print(f"in process:           {full['wall_seconds']:.1f} s = {_rate(pages, full['wall_seconds']):.1f} pages/s "
          f"({full['seconds']:.1f} s of pipeline work = {_rate(pages, full['seconds']):.1f} pages/s)  "
          f"{_requests(full)}  peak RSS {full['peak_rss_mb']} MB")  # fmt: skip
    print("  phases:             " + ", ".join(f"{k} {v:.1f} s" for k, v in full["phases"].items()))
    # CPU a page, to hold against what a rate allows with every core busy: cores × 1000 / rate (10 ms at 200 pages/s
    # on 2 cores).
    for label, run, storage in (("end to end", e2e, ", Dagster's storage included"), ("in process", full, "")):
        cpu, server = run["machine_cpu_seconds"], run["server_cpu_seconds"]
        share = (
            f"PostgreSQL {server:.1f} ({1000 * server / max(1, pages):.1f} ms{storage})"
            if server is not None
            else "PostgreSQL not measured (its processes cannot be read from this machine)"
        )
        print(f"  CPU, {label + ':':<14}{cpu:.1f} core-s = {1000 * cpu / max(1, pages):.1f} ms a page, of which "
              f"{share}; "
              f"{cpu / max(run['wall_seconds'], 1e-9):.2f} of {os.cpu_count()} cores busy on average")  # fmt: skip
    print(f"  sandbox CPU:        {full['sandbox_cpu_seconds']:.1f} s serving the in-process sync "
          f"({e2e['sandbox_cpu_seconds']:.1f} s for the Dagster one), on the same cores")  # fmt: skip
    if base is None:
        print("baseline (peer):      not measured (--no-baseline)")
    else:
        base_rate = _rate(base["pages"], base["wall_seconds"])
        print(f"baseline (peer):      {base['wall_seconds']:.1f} s = {base_rate:.1f} pages/s (atlassian-python-api "
              f"get_all_pages_from_space, 50 a request, + markdownify, nothing stored)  {base['confluence_requests']} "
              f"requests  peak RSS {base['peak_rss_mb']} MB")  # fmt: skip
        base_cpu = base["machine_cpu_seconds"]
        print(f"  CPU, baseline:     {base_cpu:.1f} core-s = {1000 * base_cpu / max(1, base['pages']):.1f} ms a page "
              f"(fetch and convert only); {base_cpu / max(base['wall_seconds'], 1e-9):.2f} of {os.cpu_count()} "
              f"cores busy on average")  # fmt: skip
        print(f"ratio:                {_rate(e2e_rate, base_rate):.2f}× the baseline end to end through Dagster, "
              f"{_rate(_rate(pages, full['wall_seconds']), base_rate):.2f}× in process")  # fmt: skip
    spaces = max(1, corpus["spaces"])
    by_endpoint = ", ".join(f"{k} {v}" for k, v in sorted(idle["requests_by_endpoint"].items()))
    print(f"idle run, Dagster:    {idle['wall_seconds']:.1f} s  {idle['confluence_requests']} requests for "
          f"{spaces} spaces ({by_endpoint})")  # fmt: skip
    print(f"idle, in process:     {inproc_idle['seconds']:.2f} s  {inproc_idle['confluence_requests']} requests  "
          f"{inproc_idle['pages_written']} pages written  {inproc_idle['texts_embedded']} texts embedded")  # fmt: skip
    print(f"1% edited, in process: {one['seconds']:.2f} s  {one['confluence_requests']} requests  "
          f"{one['pages_written']} of {one['edited']} edited pages written  "
          f"{one['texts_embedded']} texts embedded")  # fmt: skip


def main(args: argparse.Namespace) -> int:
    """Run the benchmark for each size in ``args.pages``, then the converter and search benchmarks."""
    started = time.monotonic()
    local_database()
    reports = []
    for pages in args.pages:
        report = bench_size(
            pages,
            args.seed,
            rate_limit_rps=args.rate_limit or None,
            profile=args.profile,
            baseline=not args.no_baseline,
        )
        print_size(report)
        reports.append(report)
        sys.stdout.flush()
    if len(reports) > 1:
        peaks = ", ".join(f"{r['corpus']['pages']:,} pages: {r['e2e']['peak_rss_mb']} MB end to end, "
                          f"{r['in_process']['peak_rss_mb']} MB in process" for r in reports)  # fmt: skip
        print(f"\npeak RSS by size:     {peaks}")
    if not args.no_freshness:
        from benchmarks import freshness

        freshness.print_figures(freshness.measure(400, args.seed))
        sys.stdout.flush()
    if not args.no_convert:
        from benchmarks import convert_speed, reader_tokens

        print()
        convert_speed.main([])
        print()
        print(reader_tokens.format_figures(reader_tokens.measure()))
    if not args.no_search:
        from benchmarks.search_speed import main as search_bench

        search_bench([])
    print(f"\n(make bench: {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "worker":
        sys.exit(worker_main(sys.argv[2]))
    print("usage: python -m benchmarks.full_sync worker DB_URL (or run `make bench`)", file=sys.stderr)
    sys.exit(2)
