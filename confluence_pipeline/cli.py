"""``confluence-pipeline``: the command line (demo, dev, status, search, backfill, sandbox, convert, db, bench)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from confluence_pipeline import localstack

log = logging.getLogger("confluence_pipeline")

WORKSPACE = str(localstack.PROJECT_ROOT / "workspace.yaml")


def _tool(name: str) -> str:
    """The path of a console script installed beside this Python (the venv's ``dagster``), else the bare name."""
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.path.exists(candidate) else name


def _prepare(*, sandbox_pages: int | None = None, seed: int = 7, flavor: str = "cloud") -> Any:
    """Start what the local stack needs (embedded Postgres, optionally the sandbox), migrate, set DAGSTER_HOME."""
    from confluence_pipeline.store.migrate import apply_migrations

    urls = localstack.ensure_database()
    localstack.ensure_dagster_home()
    apply_migrations(urls.app)
    server = None
    if sandbox_pages is not None and not os.environ.get("CONFLUENCE_BASE_URL"):
        server = localstack.start_sandbox(pages=sandbox_pages, seed=seed, flavor=flavor)
        print(f"local Confluence sandbox: {server.base_url} ({flavor}, {sandbox_pages} generated pages, seed {seed})")
    return server


def _register_spaces() -> list[str]:
    from dagster import DagsterInstance

    from confluence_pipeline.confluence.client import ConfluenceClient
    from confluence_pipeline.confluence.settings import ConfluenceSettings
    from confluence_pipeline.confluence.sync import discover_spaces
    from confluence_pipeline.defs.ingest.partitions import space_partitions

    client = ConfluenceClient(ConfluenceSettings.from_env())
    client.check_access()
    keys = [space.key for space in discover_spaces(client)]
    instance = DagsterInstance.get()
    known = set(instance.get_dynamic_partitions(space_partitions.name))
    new = [key for key in keys if key not in known]
    if new:
        instance.add_dynamic_partitions(space_partitions.name, new)
    return keys


def _materialize(keys: Sequence[str], *, tags: dict[str, str], log_level: str = "INFO") -> dict[str, dict[str, Any]]:
    """Materialize every ingest asset for each space through the Dagster instance (runs show in the UI)."""
    from dagster import DagsterInstance, materialize

    from confluence_pipeline.defs.ingest.assets import ingest_assets
    from confluence_pipeline.defs.resources import build_resources

    instance = DagsterInstance.get()
    outcome: dict[str, dict[str, Any]] = {}
    for key in keys:
        result = materialize(
            ingest_assets,
            partition_key=key,
            instance=instance,
            resources=build_resources(),
            tags=tags,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )
        print(f"  {key}: run {result.run_id} {'succeeded' if result.success else 'failed'}")
        per_asset: dict[str, Any] = {"run_id": result.run_id}
        for asset_def in ingest_assets:
            for mat in result.asset_materializations_for_node(asset_def.op.name):
                per_asset[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
        outcome[key] = per_asset
    return outcome


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the whole pipeline on the local stack and print a report."""
    from confluence_pipeline.store.db import connect
    from confluence_pipeline.store.status import space_status

    server = _prepare(sandbox_pages=args.pages, seed=args.seed)
    try:
        started = time.monotonic()
        keys = _register_spaces()
        print(f"spaces registered as partitions: {', '.join(keys)}")
        outcome = _materialize(keys, tags={"confluence_pipeline/trigger": "demo"}, log_level="WARNING")
        seconds = time.monotonic() - started
        changed = sum(int(o["confluence_pages"].get("pages_written", 0)) for o in outcome.values())
        requests = sum(
            int(o[name].get("confluence_requests", 0))
            for o in outcome.values()
            for name in ("confluence_space", "confluence_pages")
        )
        with connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            rows = space_status(conn)
            sample = _sample_search(conn, args.query)
        expected = _sandbox_expectation(server, keys)
        _print_report(rows, keys, seconds, changed, requests, expected, sample, args.query)
    finally:
        if server is not None:
            server.stop()
    return 0


def _sandbox_expectation(server: Any, keys: Sequence[str]) -> int | None:
    if server is None:
        return None
    return sum(len(server.corpus.pages(space_key=key, statuses=["current"])) for key in keys)


def _query_provider(conn: Any) -> Any:
    """A provider for the model search serves (not necessarily the configured one, during a switch)."""
    from confluence_pipeline.embed.base import EmbeddingError
    from confluence_pipeline.embed.factory import EmbeddingSettings, provider_for_model
    from confluence_pipeline.store.documents import active_model

    active = active_model(conn)
    if active is None:
        return None
    try:
        return provider_for_model(EmbeddingSettings.from_env(), active[0], active[1])
    except EmbeddingError as exc:
        print(f"note: vector search is off ({exc}); showing full-text results only", file=sys.stderr)
        return None


def _sample_search(conn: Any, query: str) -> list[Any]:
    from confluence_pipeline.store.search import search

    return search(conn, query, _query_provider(conn), k=1)


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
    print(_table(rows))
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


_STATUS_COLUMNS = (
    ("space_key", "space"),
    ("pages", "pages"),
    ("pages_with_markdown", "markdown"),
    ("chunks", "chunks"),
    ("chunks_with_embeddings", "embedded"),
    ("failed_pages", "failed"),
    ("watermark", "watermark"),
    ("last_sync_at", "last sync"),
)


def _table(rows: Sequence[Any]) -> str:
    data = [
        [str(getattr(r, attr) if getattr(r, attr) is not None else "-") for attr, _ in _STATUS_COLUMNS] for r in rows
    ]
    headers = [title for _, title in _STATUS_COLUMNS]
    widths = [max(len(h), *(len(row[i]) for row in data)) if data else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in data)
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    """Print per-space counts."""
    from confluence_pipeline.store.db import connect
    from confluence_pipeline.store.status import space_status

    _prepare()
    with connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        rows = space_status(conn, args.space)
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2, ensure_ascii=False))
    else:
        print(_table(rows) if rows else "no spaces synced yet: run `make demo` or materialize the ingest assets")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Hybrid search over the stored chunks."""
    from confluence_pipeline.store.db import connect
    from confluence_pipeline.store.search import SearchFilters, search

    _prepare()
    filters = SearchFilters(space_key=args.space, label=args.label, under_page_id=args.under)
    with connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        results = search(conn, args.query, _query_provider(conn), k=args.k, filters=filters)
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
    """Open the Dagster UI on the same local stack (``dagster dev -w workspace.yaml``)."""
    server = _prepare(sandbox_pages=args.pages, seed=args.seed)
    try:
        keys = _register_spaces()
        print(f"partitions: {', '.join(keys)}")
        cmd = [_tool("dagster"), "dev", "-w", WORKSPACE, "-h", args.host, "-p", str(args.port)]
        print("running:", " ".join(cmd))
        return subprocess.call(cmd, env=os.environ.copy())
    except KeyboardInterrupt:
        return 0
    finally:
        if server is not None:
            server.stop()


def cmd_spaces(args: argparse.Namespace) -> int:
    """Discover spaces and register them as partitions."""
    _prepare()
    keys = _register_spaces()
    print("\n".join(keys))
    return 0


def cmd_materialize(args: argparse.Namespace) -> int:
    """Run the ingest assets for some spaces in this process, recorded in the Dagster instance."""
    _prepare()
    keys = _register_spaces() if args.all else args.space
    if not keys:
        print("name spaces with --space KEY (repeatable) or use --all", file=sys.stderr)
        return 2
    outcome = _materialize(keys, tags={"confluence_pipeline/trigger": "cli"})
    for key, per_asset in outcome.items():
        pages = per_asset.get("confluence_pages", {})
        print(f"{key}: run {per_asset['run_id']}: {pages.get('pages_written', 0)} page(s) written")
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    """Record a Dagster backfill of the ingest job (one queued run per space; the daemon launches them)."""
    _prepare()
    if not args.all and not args.spaces:
        print("name spaces with --spaces A,B or use --all", file=sys.stderr)
        return 2
    _register_spaces()
    cmd = [_tool("dagster"), "job", "backfill", "-w", WORKSPACE, "-j", "confluence_ingest", "--noprompt"]
    cmd += ["--all", "all"] if args.all else ["--partitions", args.spaces]
    print("running:", " ".join(cmd))
    code = subprocess.call(cmd, env=os.environ.copy())
    if code == 0:
        print("backfill recorded; runs start when the Dagster daemon runs (`make dev`, or `dagster-daemon run`)")
    return code


def cmd_validate(args: argparse.Namespace) -> int:
    """Run ``dagster definitions validate`` on the code location, against the configured instance."""
    _prepare()
    return subprocess.call([_tool("dagster"), "definitions", "validate", "-w", WORKSPACE], env=os.environ.copy())


def cmd_db(args: argparse.Namespace) -> int:
    """Manage the embedded PostgreSQL."""
    from confluence_pipeline.store.db import redact_url
    from confluence_pipeline.store.migrate import apply_migrations

    if args.action == "stop":
        stopped = localstack.stop_embedded_server()
        print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
        return 0
    urls = localstack.ensure_database()
    if args.action == "migrate":
        applied = apply_migrations(urls.app)
        print("applied: " + ", ".join(applied) if applied else "schema is up to date")
    else:
        print(redact_url(urls.app))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark and print its figures."""
    from confluence_pipeline import bench

    return bench.main(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests)."""
    parser = argparse.ArgumentParser(prog="confluence-pipeline", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the whole pipeline on the local stack and print a report")
    demo.add_argument("--pages", type=int, default=int(os.environ.get("SANDBOX_PAGES", "500")))
    demo.add_argument("--seed", type=int, default=int(os.environ.get("SANDBOX_SEED", "7")))
    demo.add_argument("--query", default="deployment rollback procedure")
    demo.set_defaults(func=cmd_demo)

    dev = sub.add_parser("dev", help="open the Dagster UI on the local stack")
    dev.add_argument("--pages", type=int, default=int(os.environ.get("SANDBOX_PAGES", "500")))
    dev.add_argument("--seed", type=int, default=int(os.environ.get("SANDBOX_SEED", "7")))
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

    spaces = sub.add_parser("spaces", help="discover spaces and register them as partitions")
    spaces.set_defaults(func=cmd_spaces)

    mat = sub.add_parser("materialize", help="run the ingest assets for spaces in this process")
    mat.add_argument("--space", action="append", default=[])
    mat.add_argument("--all", action="store_true")
    mat.set_defaults(func=cmd_materialize)

    backfill = sub.add_parser("backfill", help="record a Dagster backfill of the ingest job")
    backfill.add_argument("--spaces", help="comma-separated space keys")
    backfill.add_argument("--all", action="store_true")
    backfill.set_defaults(func=cmd_backfill)

    validate = sub.add_parser("validate", help="dagster definitions validate for the code location")
    validate.set_defaults(func=cmd_validate)

    db = sub.add_parser("db", help="the embedded PostgreSQL")
    db.add_argument("action", choices=["url", "migrate", "stop"])
    db.set_defaults(func=cmd_db)

    bench_parser = sub.add_parser("bench", help="benchmark: full sync pages/s, peak memory, refresh cost")
    bench_parser.add_argument("--pages", type=int, nargs="+", default=[4000, 40000])
    bench_parser.add_argument("--seed", type=int, default=11)
    bench_parser.set_defaults(func=cmd_bench)

    from confluence_pipeline.convert import cli as convert_cli
    from confluence_pipeline.sandbox import cli as sandbox_cli

    sandbox_cli.register(sub)
    convert_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``confluence-pipeline``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from confluence_pipeline.confluence.errors import ConfluenceError
        from confluence_pipeline.store.db import DatabaseError

        if isinstance(exc, ConfluenceError | DatabaseError | ValueError | RuntimeError) and not args.verbose:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
