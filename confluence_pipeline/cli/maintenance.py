"""The maintenance commands: reconcile, and spaces (discover, add, remove, list)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from confluence_pipeline.cli.common import (
    check_registered,
    confluence_client,
    prepare,
    register_spaces,
    registered_spaces,
    resources,
    run_job,
)


def cmd_reconcile(args: argparse.Namespace) -> int:
    """Reconcile spaces through the Dagster instance: one ``confluence_reconcile`` run per space."""
    from confluence_pipeline.defs.maintenance.jobs import RECONCILE_JOB_NAME

    if bool(args.all) == bool(args.space):
        print("name spaces with --space KEY (repeatable) or use --all", file=sys.stderr)
        return 2
    prepare()
    keys = registered_spaces() if args.all else list(dict.fromkeys(args.space))
    check_registered(keys)
    confluence_client()  # no Confluence configured: say what to set before any run is recorded
    run_config = {"ops": {"confluence_reconciliation": {"config": {"force": args.force}}}}
    tags = {"confluence_pipeline/trigger": "cli"}
    failed = 0
    for key in keys:
        run = run_job(RECONCILE_JOB_NAME, key, tags=tags, run_config=run_config)
        if not run.success:
            failed += 1
            print(f"{key}: run {run.run_id} failed", file=sys.stderr)
            for message in run.failures:
                print(f"  {message}", file=sys.stderr)
            continue
        meta = run.materializations.get("confluence_reconciliation", {})
        removed = int(meta.get("pages_removed", 0))
        ids = f" ({meta['removed_page_ids']})" if removed else ""
        print(
            f"{key}: run {run.run_id}: {meta.get('pages_listed', 0)} current page(s) listed, {removed} removed{ids}, "
            f"{meta.get('requests', 0)} request(s)"
        )
    return 1 if failed else 0


def cmd_spaces(args: argparse.Namespace) -> int:
    """Discover spaces and register them as partitions (``spaces`` alone, or ``spaces discover``)."""
    prepare()
    print("\n".join(register_spaces()))
    return 0


def cmd_spaces_add(args: argparse.Namespace) -> int:
    """Register spaces by key, after checking that Confluence has each of them."""
    from dagster import DagsterInstance

    from confluence_pipeline.confluence.cql import validate_space_key
    from confluence_pipeline.confluence.errors import ConfluenceNotFound
    from confluence_pipeline.confluence.sync import fetch_space
    from confluence_pipeline.defs.ingest.partitions import space_partitions
    from confluence_pipeline.store import pages as page_store

    prepare()
    keys = [validate_space_key(key) for key in dict.fromkeys(args.keys)]
    client = confluence_client()
    found, unknown = [], []
    for key in keys:
        try:
            found.append(fetch_space(client, key))
        except ConfluenceNotFound:
            unknown.append(key)
    if unknown:
        raise ValueError(
            f"unknown space {', '.join(unknown)}: Confluence at {client.site} has no such space, or the token's user "
            "cannot see it. Space keys are case-sensitive; nothing was added."
        )
    instance = DagsterInstance.get()
    with resources().postgres.connect() as conn, conn.transaction():
        # Its row as Confluence describes it: a space removed before is back in the pipeline.
        for space in found:
            page_store.upsert_space(conn, space)
    known = set(instance.get_dynamic_partitions(space_partitions.name))
    new = [space.key for space in found if space.key not in known]
    if new:
        instance.add_dynamic_partitions(space_partitions.name, new)
    for space in found:
        print(f"{space.key}: {space.name} ({'added' if space.key in new else 'already registered'})")
    print("the change sensor syncs new spaces on its next tick; or run `confluence-pipeline materialize --space KEY`")
    return 0


def cmd_spaces_remove(args: argparse.Namespace) -> int:
    """Take spaces out of the pipeline; their stored data stays unless ``--purge``."""
    from dagster import DagsterInstance

    from confluence_pipeline.defs.ingest.partitions import space_partitions
    from confluence_pipeline.store import pages as page_store
    from confluence_pipeline.store.status import space_status

    prepare()
    keys = list(dict.fromkeys(args.keys))
    check_registered(keys)
    instance = DagsterInstance.get()
    with resources().postgres.connect() as conn:
        stored = {row.space_key: row.pages for row in space_status(conn)}
        for key in keys:
            with conn.transaction():
                purged = page_store.purge_space(conn, key) if args.purge else 0
                if not args.purge:
                    page_store.mark_space_removed(conn, key)
            instance.delete_dynamic_partition(space_partitions.name, key)
            if args.purge:
                print(f"{key}: removed; {purged} stored page(s) and their chunks deleted")
            else:
                print(
                    f"{key}: removed; its {stored.get(key, 0)} stored page(s) stay stored and searchable "
                    "(`spaces remove --purge` deletes them)"
                )
    print("removed spaces are not added back by discovery; `confluence-pipeline spaces add KEY` brings one back")
    return 0


def _cell(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


def cmd_spaces_list(args: argparse.Namespace) -> int:
    """List the registered spaces (and removed ones) with their strategy and what is stored."""
    from confluence_pipeline.store import pages as page_store
    from confluence_pipeline.store.status import space_status

    prepare()
    configured = resources()
    strategies = configured.reconcile.settings()
    registered = registered_spaces()
    with configured.postgres.connect() as conn:
        rows = {row.space_key: row for row in space_status(conn)}
        reconciled = {key: page_store.last_reconcile_time(conn, key) for key in rows}
    keys = sorted(set(registered) | {key for key, row in rows.items() if row.status == page_store.REMOVED})
    if not keys:
        print("no spaces registered: run `confluence-pipeline spaces` (discover) or `spaces add KEY`")
        return 0
    headers = ["space", "status", "reconcile", "pages", "last sync", "last reconcile"]
    table = []
    for key in keys:
        row = rows.get(key)
        status = row.status if row is not None else "registered"
        when = reconciled.get(key)
        table.append(
            [
                key,
                status,
                strategies.strategy_for(key),
                _cell(row.pages if row is not None else None),
                _cell(row.last_sync_at if row is not None else None),
                _cell(when.isoformat() if when else None),
            ]
        )
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    return 0


def register(sub: Any) -> None:
    """Add the maintenance commands to the CLI's subparsers."""
    reconcile = sub.add_parser(
        "reconcile", help="retire stored pages that are gone from Confluence (runs through the Dagster instance)"
    )
    reconcile.add_argument("--space", action="append", default=[], help="a registered space key (repeatable)")
    reconcile.add_argument("--all", action="store_true", help="every registered space")
    reconcile.add_argument(
        "--force", action="store_true", help="delete even beyond CONFLUENCE_RECONCILE_MAX_DELETE_SHARE, or all pages"
    )
    reconcile.set_defaults(func=cmd_reconcile)

    spaces = sub.add_parser("spaces", help="discover, add, remove or list the spaces (partitions)")
    spaces.set_defaults(func=cmd_spaces)
    actions = spaces.add_subparsers(dest="action")
    discover = actions.add_parser("discover", help="register every space Confluence lists (the default)")
    discover.set_defaults(func=cmd_spaces)
    add = actions.add_parser("add", help="register spaces by key")
    add.add_argument("keys", nargs="+", metavar="KEY")
    add.set_defaults(func=cmd_spaces_add)
    remove = actions.add_parser("remove", help="unregister spaces; their data stays unless --purge")
    remove.add_argument("keys", nargs="+", metavar="KEY")
    remove.add_argument("--purge", action="store_true", help="also delete the spaces' stored pages and chunks")
    remove.set_defaults(func=cmd_spaces_remove)
    listing = actions.add_parser("list", help="the registered spaces, their strategy and what is stored")
    listing.set_defaults(func=cmd_spaces_list)
