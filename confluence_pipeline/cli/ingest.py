"""The ingest commands: demo, dev, status, search, materialize, backfill, validate, env, db."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from confluence_pipeline import localstack
from confluence_pipeline.cli.common import (
    WORKSPACE,
    SpaceProcesses,
    check_registered,
    ensure_pools,
    last_sync_runs,
    local_database,
    materialize_spaces,
    prepare,
    register_spaces,
    resources,
    search_provider,
    status_table,
    tool,
)


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the whole pipeline on the local stack and print a report."""
    from confluence_pipeline.store.status import space_status

    processes = SpaceProcesses()  # they start up while the stack does
    try:
        server = prepare(sandbox=True, pages=args.pages, seed=args.seed)
    except BaseException:
        processes.close()
        raise
    try:
        started = time.monotonic()
        keys = register_spaces()
        print(f"spaces registered as partitions: {', '.join(keys)}")
        outcome = materialize_spaces(
            keys, tags={"confluence_pipeline/trigger": "demo"}, log_level="WARNING", processes=processes
        )
        seconds = time.monotonic() - started
        changed = sum(int(o.get("confluence_pages", {}).get("pages_written", 0)) for o in outcome.values())
        requests = sum(
            int(o.get(name, {}).get("confluence_requests", 0))
            for o in outcome.values()
            for name in ("confluence_space", "confluence_pages")
        )
        configured = resources()
        with configured.postgres.connect() as conn:
            rows = space_status(conn, last_runs=last_sync_runs(keys))
            sample = _sample_search(conn, args.query, configured)
        expected = _sandbox_expectation(server, keys)
        _print_report(rows, keys, seconds, changed, requests, expected, sample, args.query)
        _play_report(configured)
    finally:
        processes.close()
        if server is not None:
            server.stop()
    return 0 if all(o["success"] for o in outcome.values()) else 1


def _play_report(configured: Any) -> None:
    """Run the Play QTD aggregation once (through the instance) and print the Play DB summary."""
    from confluence_pipeline.cli.plays import print_play_summary, run_aggregation

    print()
    settings = configured.plays.settings()
    if not (settings.play_db_page_id and settings.action_log_page_id):
        print("Play tracking: not configured (set CONFLUENCE_PLAY_DB_PAGE_ID and CONFLUENCE_ACTION_LOG_PAGE_ID)")
        return
    stats, page, changes = run_aggregation(quarter=None, trigger="demo")
    print_play_summary(stats, page, changes)


def _sandbox_expectation(server: Any, keys: Sequence[str]) -> int | None:
    if server is None:
        return None
    return sum(len(server.corpus.pages(space_key=key, statuses=["current"])) for key in keys)


def _sample_search(conn: Any, query: str, configured: Any) -> list[Any]:
    from confluence_pipeline.search import search

    provider = search_provider(conn, configured.embeddings.settings())
    return search(conn, query, provider, k=1, settings=configured.search.settings())


def _print_report(
    rows: Sequence[Any],
    keys: Sequence[str],
    seconds: float,
    changed: int,
    requests: int,
    expected: int | None,
    sample: Sequence[Any],
    query: str,
) -> None:
    rows = [r for r in rows if r.space_key in keys]
    pages = sum(r.pages for r in rows)
    print()
    print(status_table(rows))
    print()
    print(f"spaces:              {len(rows)}")
    if expected is not None:
        print(f"pages:               {pages} stored of {expected} current pages in the sandbox")
    else:
        print(f"pages:               {pages}")
    print(f"pages with Markdown: {sum(r.pages_with_markdown for r in rows)}")
    print(f"chunks:              {sum(r.chunks for r in rows)}")
    print(f"embedded chunks:     {sum(r.chunks_with_embeddings for r in rows)}")
    print(f"changed pages:       {changed}" + ("   (nothing changed: no writes)" if changed == 0 else ""))
    print(f"confluence requests: {requests}")
    print(f"seconds:             {seconds:.1f}")
    print(f"pages/s:             {changed / seconds if seconds else 0:.1f} (changed pages per second)")
    if sample:
        hit = sample[0]
        print(f'sample search "{query}": {hit.section}  [{hit.space_key}]  score {hit.score}')
        print(f"  {hit.url}")
        print(f"  {hit.snippet[:160]}")
    else:
        print(f'sample search "{query}": no results')


def cmd_status(args: argparse.Namespace) -> int:
    """Print per-space counts."""
    from confluence_pipeline.store.status import space_status

    prepare()
    with resources().postgres.connect() as conn:
        rows = space_status(conn, args.space, last_runs=last_sync_runs([args.space] if args.space else None))
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2, ensure_ascii=False))
    else:
        print(status_table(rows) if rows else "no spaces synced yet: run `make demo` or materialize the ingest assets")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Hybrid search over the stored chunks."""
    from confluence_pipeline.search import SearchFilters, search

    prepare()
    configured = resources()
    filters = SearchFilters(space_key=args.space, label=args.label, under_page_id=args.under)
    with configured.postgres.connect() as conn:
        provider = search_provider(conn, configured.embeddings.settings())
        results = search(conn, args.query, provider, k=args.k, filters=filters, settings=configured.search.settings())
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2, ensure_ascii=False))
        return 0
    if not results:
        print("no results")
    for i, hit in enumerate(results, 1):
        print(f"{i:>2}. {hit.section}  [{hit.space_key}]  score {hit.score}")
        print(f"    {hit.url}")
        print(f"    {hit.snippet}")
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    """Open the Dagster UI, with the daemon, on the same local stack (``dagster dev -w workspace.yaml``)."""
    server = prepare(sandbox=True, pages=args.pages, seed=args.seed)
    home = resources().local_stack.settings().home
    try:
        if server is not None:
            # Commands run beside this one (backfill, materialize, env …) find the sandbox here.
            localstack.write_sandbox_state(home, localstack.SandboxState.of(server))
        keys = register_spaces()
        ensure_pools()
        print(f"partitions: {', '.join(keys)}")
        cmd = [tool("dagster"), "dev", "-w", WORKSPACE, "-h", args.host, "-p", str(args.port)]
        print("running:", " ".join(cmd))
        print("sensors and the weekly schedule run in its daemon: see their ticks under Automation in the UI")
        # From the Dagster home, whose dagster.yaml is the instance's: in the repo, dagster dev would warn that the
        # repo's copy is not used (it is copied to the home, which is what counts).
        return subprocess.call(cmd, env=os.environ.copy(), cwd=os.environ["DAGSTER_HOME"])
    except KeyboardInterrupt:
        return 0
    finally:
        if server is not None:
            localstack.clear_sandbox_state(home, os.getpid())
            server.stop()


def cmd_materialize(args: argparse.Namespace) -> int:
    """Run the confluence_ingest job for some spaces in this process, recorded in the Dagster instance."""
    if not args.all and not args.space:
        print("name spaces with --space KEY (repeatable) or use --all", file=sys.stderr)
        return 2
    with SpaceProcesses(None if args.all else len(args.space)) as processes:  # they start up while the stack does
        prepare()
        if args.all:
            keys = register_spaces()
        else:
            check_registered(args.space)
            keys = args.space
        outcome = materialize_spaces(
            keys, tags={"confluence_pipeline/trigger": "cli"}, full=args.full, processes=processes
        )
    for key, per_asset in outcome.items():
        pages = per_asset.get("confluence_pages", {})
        state = "" if per_asset["success"] else " (failed)"
        print(f"{key}: run {per_asset['run_id']}{state}: {pages.get('pages_written', 0)} page(s) written")
    return 0 if all(o["success"] for o in outcome.values()) else 1


def cmd_backfill(args: argparse.Namespace) -> int:
    """Record a Dagster backfill of the ingest job (one queued run per space; the daemon launches them)."""
    prepare()
    if not args.all and not args.spaces:
        print("name spaces with --spaces A,B or use --all", file=sys.stderr)
        return 2
    register_spaces()
    if not args.all:
        check_registered([key.strip() for key in args.spaces.split(",") if key.strip()])
    ensure_pools()
    cmd = [tool("dagster"), "job", "backfill", "-w", WORKSPACE, "-j", "confluence_ingest", "--noprompt"]
    cmd += ["--all", "all"] if args.all else ["--partitions", args.spaces]
    print("running:", " ".join(cmd))
    code = subprocess.call(cmd, env=os.environ.copy())
    if code == 0:
        print("backfill recorded; runs start when the Dagster daemon runs (`make dev`, or `dagster-daemon run`)")
    return code


def cmd_validate(args: argparse.Namespace) -> int:
    """Run ``dagster definitions validate`` on the code location, against the configured instance."""
    prepare()
    return subprocess.call([tool("dagster"), "definitions", "validate", "-w", WORKSPACE], env=os.environ.copy())


def _export(name: str, value: str) -> str:
    return f"export {name}={shlex.quote(value)}"


def _holds_password(url: str) -> bool:
    from confluence_pipeline.lib.redact import redact_url

    return redact_url(url) != url or "password=" in url


def cmd_env(args: argparse.Namespace) -> int:
    """Print the environment a plain Dagster command needs for this stack, as ``export`` lines (no secret)."""
    configured = resources()
    stack = configured.local_stack.settings()
    sandbox = localstack.read_sandbox_state(stack.home)
    base_url = configured.confluence.settings().base_url
    if sandbox is not None and base_url and base_url != sandbox.base_url:
        sandbox = None  # a Confluence of your own is configured
    urls = local_database()
    lines = [
        '# the local stack\'s Dagster instance and databases; use: eval "$(confluence-pipeline env)"',
        _export("DAGSTER_HOME", str(localstack.ensure_dagster_home(stack))),
    ]
    for name, url in (("DAGSTER_PG_URL", urls.dagster), ("DATABASE_URL", urls.app)):
        # A URL with a password stays in the environment it came from.
        lines.append(f"# {name} holds a password: not printed" if _holds_password(url) else _export(name, url))
    if sandbox is not None:
        lines.append(f"# the local Confluence sandbox of `make dev` (pid {sandbox.pid})")
        env = sandbox.environment()
        for name in ("CONFLUENCE_BASE_URL", "CONFLUENCE_DEPLOYMENT", "CONFLUENCE_EMAIL"):
            lines.append(_export(name, env[name]))
        lines.append(_export("CONFLUENCE_INCLUDE_PERSONAL_SPACES", "true"))
        lines.append(
            f"# its token is not printed: confluence-pipeline commands read it from "
            f"{localstack.sandbox_state_path(stack.home)}, and the runs of `make dev` have it"
        )
    print("\n".join(lines))
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    """Manage the embedded PostgreSQL."""
    from confluence_pipeline.store.db import redact_url
    from confluence_pipeline.store.migrate import apply_migrations

    if args.action == "stop":
        stopped = localstack.stop_embedded_server(resources().local_stack.settings().pgdata)
        print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
        return 0
    urls = local_database()
    if args.action == "migrate":
        applied = apply_migrations(urls.app)
        print("applied: " + ", ".join(applied) if applied else "schema is up to date")
    else:
        print(redact_url(urls.app))
    return 0


def register(sub: Any) -> None:
    """Add the ingest commands to the CLI's subparsers."""
    demo = sub.add_parser("demo", help="run the whole pipeline on the local stack and print a report")
    demo.add_argument("--pages", type=int, help="generated sandbox pages (default: SANDBOX_PAGES, 500)")
    demo.add_argument("--seed", type=int, help="sandbox corpus seed (default: SANDBOX_SEED, 7)")
    demo.add_argument("--query", default="deployment rollback procedure")
    demo.set_defaults(func=cmd_demo)

    dev = sub.add_parser("dev", help="open the Dagster UI on the local stack")
    dev.add_argument("--pages", type=int, help="generated sandbox pages (default: SANDBOX_PAGES, 500)")
    dev.add_argument("--seed", type=int, help="sandbox corpus seed (default: SANDBOX_SEED, 7)")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(func=cmd_dev)

    status = sub.add_parser("status", help="per-space counts")
    status.add_argument("--json", action="store_true")
    status.add_argument("--space")
    status.set_defaults(func=cmd_status)

    search = sub.add_parser("search", help="hybrid search over stored chunks")
    search.add_argument("query")
    search.add_argument("--space")
    search.add_argument("--label")
    search.add_argument("--under", metavar="PAGE_ID", help="only pages below this page")
    search.add_argument("-k", type=int, default=10)
    search.add_argument("--json", action="store_true")
    search.set_defaults(func=cmd_search)

    mat = sub.add_parser("materialize", help="run the confluence_ingest job for spaces in this process")
    mat.add_argument("--space", action="append", default=[], help="a registered space key (repeatable)")
    mat.add_argument("--all", action="store_true", help="every space (new ones are registered first)")
    mat.add_argument("--full", action="store_true", help="full re-sync: ignore the watermark, refetch every page")
    mat.set_defaults(func=cmd_materialize)

    backfill = sub.add_parser("backfill", help="record a Dagster backfill of the ingest job")
    backfill.add_argument("--spaces", help="comma-separated space keys")
    backfill.add_argument("--all", action="store_true")
    backfill.set_defaults(func=cmd_backfill)

    validate = sub.add_parser("validate", help="dagster definitions validate for the code location")
    validate.set_defaults(func=cmd_validate)

    env = sub.add_parser("env", help="print export lines for DAGSTER_HOME, DAGSTER_PG_URL, DATABASE_URL (no secret)")
    env.set_defaults(func=cmd_env)

    db = sub.add_parser("db", help="the embedded PostgreSQL")
    db.add_argument("action", choices=["url", "migrate", "stop"])
    db.set_defaults(func=cmd_db)
