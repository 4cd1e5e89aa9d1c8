"""Where a full sync's CPU goes: the in-process pipeline under cProfile, plus the database server's and sandbox's CPU.

``python -m benchmarks.profile_sync [--pages N] [--top K] [--no-functions] [--statements]`` serves a real-size
corpus from a sandbox process (no rate limit: the profile is about CPU), syncs it into a fresh database with the stage
functions in this process only (``PIPELINE_WORKERS=1``, so that the profiler sees the conversion and chunking too),
and prints:

* the CPU seconds of each stage in this process, and of the PostgreSQL server and the sandbox meanwhile, then of
  the HNSW build, done once after the last space as ``materialize --all`` does;
* the functions with the most CPU time (cProfile with a CPU clock, so a busy machine does not inflate them);
* with ``--statements``, the SQL statements whose server backend used the most CPU (:mod:`benchmarks.statements`):
  the server's half of the work, which the function list does not see.

CPU time, not wall time, is the figure to compare on a shared machine. cProfile slows Python code several times over
but not native code (tiktoken's encoder, lxml, numpy), so under it the table overstates the pipeline's share and the
function list understates native calls: ``--no-functions`` runs without it, for the table alone. A sampling profiler
(py-spy with ``--subprocesses``) gives the truer split of a run with worker processes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from contextlib import nullcontext
from typing import Any

from benchmarks.harness import fresh_database, sandbox_env, server_cpu_seconds, start_sandbox
from benchmarks.statements import statement_cpu
from confluence_pipeline.cli.common import local_database


def _server_seconds(db_url: str) -> float:
    seconds = server_cpu_seconds(db_url)
    if seconds is None:
        raise SystemExit(
            "profile_sync reads the database server's processes, and this server's cannot be read from this machine: "
            "unset DATABASE_URL to profile against the embedded server"
        )
    return seconds


def profile(pages: int, seed: int, top: int, *, functions: bool = True, statements: bool = False) -> None:
    """Sync a real-size corpus of ``pages`` pages and print where the CPU went.

    Args:
        pages: corpus size.
        seed: corpus seed.
        top: lines of each list.
        functions: under cProfile, with the functions that took the most CPU.
        statements: with the SQL statements whose server backend took the most CPU (:mod:`benchmarks.statements`).
    """
    urls = local_database()
    sandbox = start_sandbox(pages, seed, profile="real")
    os.environ.update(sandbox_env({}, sandbox, PIPELINE_WORKERS="1", CONFLUENCE_RATE_LIMIT_RPS="100000"))
    try:
        with fresh_database(urls.app, "bench_profile") as db:
            from confluence_pipeline.confluence.sync import discover_spaces, sync_space
            from confluence_pipeline.defs.resources import configured_resources
            from confluence_pipeline.stages import chunk_space, convert_space, embed_space
            from confluence_pipeline.store import pages as page_store
            from confluence_pipeline.store.db import connect
            from confluence_pipeline.store.documents import one_index_build

            resources = configured_resources(os.environ)
            settings = resources.pipeline.settings(resources.confluence.settings())
            provider = resources.embeddings.build()
            client = resources.confluence.client()
            stages: dict[str, Any] = {
                "sync": lambda conn, key: sync_space(conn, client, key),
                "markdown": lambda conn, key: convert_space(conn, key, settings),
                "chunks": lambda conn, key: chunk_space(conn, key, settings),
                "embeddings": lambda conn, key: embed_space(conn, key, [provider], settings),
            }
            rows = [*stages, "vector index"]
            cpu = dict.fromkeys(rows, 0.0)
            server = dict.fromkeys(rows, 0.0)
            sandbox_cpu = dict.fromkeys(rows, 0.0)
            profiler = cProfile.Profile(time.process_time)
            wall = time.monotonic()
            with (
                statement_cpu() if statements else nullcontext() as by_statement,
                connect(db, autocommit=True) as conn,
                connect(db, autocommit=True) as index_conn,
            ):
                spaces = discover_spaces(client)
                with conn.transaction():
                    for space in spaces:
                        page_store.upsert_space(conn, space)
                # As `materialize --all` does: the spaces' large loads leave the HNSW index to one build after the last.
                with one_index_build(index_conn, provider.model, provider.dimensions, settings.hnsw):
                    for space in spaces:
                        for name, stage in stages.items():
                            before = (time.process_time(), _server_seconds(db), sandbox.cpu_seconds())
                            if functions:
                                profiler.enable()
                            stage(conn, space.key)
                            if functions:
                                profiler.disable()
                            cpu[name] += time.process_time() - before[0]
                            server[name] += _server_seconds(db) - before[1]
                            sandbox_cpu[name] += sandbox.cpu_seconds() - before[2]
                    index_started = _server_seconds(db)
                server["vector index"] = _server_seconds(db) - index_started
                stored = conn.execute("SELECT count(*) FROM pages WHERE status = 'current'").fetchone()[0]
            wall = time.monotonic() - wall
    finally:
        sandbox.stop()
    print(f"\n== CPU of a full sync of {stored:,} real-size pages, one process (wall {wall:.1f} s) ==")
    print(f"{'stage':<12}{'pipeline':>10}{'postgres':>10}{'sandbox':>10}{'ms/page':>10}")
    for name in rows:
        total = cpu[name] + server[name] + sandbox_cpu[name]
        print(f"{name:<12}{cpu[name]:>9.1f}s{server[name]:>9.1f}s{sandbox_cpu[name]:>9.1f}s"
              f"{1000 * total / max(1, stored):>10.1f}")  # fmt: skip
    total = sum(cpu.values()) + sum(server.values()) + sum(sandbox_cpu.values())
    print(f"{'all':<12}{sum(cpu.values()):>9.1f}s{sum(server.values()):>9.1f}s{sum(sandbox_cpu.values()):>9.1f}s"
          f"{1000 * total / max(1, stored):>10.1f}")  # fmt: skip
    if by_statement is not None:
        print("\n" + by_statement.report(top))
    if not functions:
        return
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    print("\nfunctions by own CPU time (cProfile, process_time):")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:20000])


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m benchmarks.profile_sync [--pages N] [--top K]``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_sync", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument(
        "--no-functions", action="store_true", help="no cProfile: the CPU table alone, without the profiler's overhead"
    )
    parser.add_argument(
        "--statements", action="store_true", help="also the SQL statements by their server backend's CPU"
    )
    args = parser.parse_args(argv)
    profile(args.pages, args.seed, args.top, functions=not args.no_functions, statements=args.statements)
    return 0


if __name__ == "__main__":
    sys.exit(main())
