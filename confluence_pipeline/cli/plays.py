"""The Play tracking commands: ``plays aggregate|create-todo`` and ``events add|status|list|retry|drain``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from confluence_pipeline.cli.common import prepare, resources

AGGREGATION_JOB = "play_qtd_aggregation"


# --- plays aggregate -------------------------------------------------------------------------------------------------


def run_aggregation(
    *, quarter: str | None, trigger: str
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Run the ``play_qtd_aggregation`` job through the Dagster instance (the run shows in the UI).

    Args:
        quarter: e.g. ``2026Q4``; None for the current quarter.
        trigger: the run's ``confluence_pipeline/trigger`` tag (``cli``, ``demo``).

    Returns:
        The figures' metadata, the Play DB write's metadata, and the cells the write changed (from the audit).

    Raises:
        RuntimeError: the run failed; the message is the failing step's.
    """
    from dagster import DagsterInstance, Definitions

    from confluence_pipeline.defs.plays.assets import play_assets
    from confluence_pipeline.defs.plays.jobs import play_aggregation_job
    from confluence_pipeline.defs.resources import build_resources
    from confluence_pipeline.defs.tags import TRIGGER_TAG
    from confluence_pipeline.store import plays as store

    # Built from this process's environment now (the CLI may have just started the sandbox), as a run would see it.
    defs = Definitions(assets=play_assets, jobs=[play_aggregation_job], resources=build_resources(os.environ))
    config = {
        "ops": {
            "play_qtd_stats": {"config": {"quarter": quarter or ""}},
            "play_db_page": {"config": {"dry_run": False}},
        },
        # The summary names the skipped rows; the run's own warnings stay in the UI.
        "loggers": {"console": {"config": {"log_level": "ERROR"}}},
    }
    result = defs.resolve_job_def(AGGREGATION_JOB).execute_in_process(
        run_config=config, instance=DagsterInstance.get(), tags={TRIGGER_TAG: trigger}, raise_on_error=False
    )
    if not result.success:
        raise RuntimeError(f"the Play QTD aggregation failed (run {result.run_id}): {_failure(result)}")
    stats = _materialized(result, "play_qtd_stats")
    page = _materialized(result, "play_db_page")
    page["run_id"] = result.run_id
    changes: list[dict[str, Any]] = []
    with resources().postgres.connect() as conn:
        for write in store.page_writes(conn, str(page["page_id"])):
            if write["source"] == result.run_id:
                changes = list(write["changes"])
    return stats, page, changes


def _materialized(result: Any, node: str) -> dict[str, Any]:
    [materialization] = result.asset_materializations_for_node(node)
    return {key: value.value for key, value in materialization.metadata.items()}


def _failure(result: Any) -> str:
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            if data.user_failure_data is not None and data.user_failure_data.description:
                return data.user_failure_data.description
            return data.error.message.strip() if data.error else "unknown error"
    return "the run did not succeed"


def _changes_by_play(changes: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for change in changes:
        old = change["old"] or "(empty)"
        rows.setdefault(str(change["play_id"]), []).append(f"{change['column']} {old} → {change['new']}")
    return rows


def print_play_summary(stats: Mapping[str, Any], page: Mapping[str, Any], changes: Sequence[Mapping[str, Any]]) -> None:
    """Print the Play DB summary: Plays per status, the Action Log's rows, the write, and the rows that changed."""
    statuses = ", ".join(f"{stats[f'plays_{s}']} {s.title()}" for s in ("green", "amber", "red"))
    print(f"Play QTD {stats['quarter']} (as of {stats['as_of']}): {stats['plays']} Plays: {statuses}")
    print(
        f"Action Log: {stats['action_log_rows']} rows, {stats['rows_counted']} counted this quarter, "
        f"{stats['malformed_rows']} malformed, {stats['blank_rows']} blank"
    )
    if stats["malformed_rows"]:
        for line in str(stats["malformed"]).splitlines():
            print(f"  skipped {line}")
    outcome = page["outcome"]
    versions = f"version {page['version_before']} → {page['version_after']}"
    if outcome == "dry_run":
        what = f"dry run on version {page['version_before']}: nothing written"
    elif outcome == "unchanged":
        what = f"unchanged (version {page['version_after']}): the table shows these figures already, no write"
    else:
        what = f"{outcome} ({versions})"
    rows = _changes_by_play(changes)
    print(f"Play DB page {page['page_id']}: {what}")
    verb = "would change" if outcome == "dry_run" else "changed"
    print(f"rows {verb}: {len(rows)}" + (f" ({len(changes)} cells)" if rows else ""))
    for play, cells in rows.items():
        print(f"  {play}: {', '.join(cells)}")
    if page.get("plays_without_row", "none") != "none":
        print(f"Plays with figures but no Play DB row: {page['plays_without_row']}")


def _dry_run(quarter: str | None) -> int:
    """Compute and plan with the plain modules: nothing is stored, written or recorded."""
    from confluence_pipeline.plays.aggregate import aggregate_quarter
    from confluence_pipeline.plays.quarters import Quarter
    from confluence_pipeline.plays.writeback import write_play_db

    configured = resources()
    settings = configured.plays.settings()
    now = datetime.now(UTC)
    with configured.postgres.connect() as conn:
        result = aggregate_quarter(conn, settings, Quarter.parse(quarter) if quarter else None, now, store_result=False)
        client = configured.confluence.client(configured.postgres.database_url())
        planned = write_play_db(conn, client, settings, result.quarter, now=now, dry_run=True, stats=result.rows())
    print("The table it would write:\n")
    print(planned.table_markdown())
    print("\nThe cells that would change:\n")
    print(planned.changes_markdown())
    print()
    print_play_summary(result.metadata(), planned.metadata(), [c.as_dict() for c in planned.plan.changes])
    return 0


def cmd_plays_aggregate(args: argparse.Namespace) -> int:
    """Aggregate the stored Action Log and write the Play DB (or, with --dry-run, show what would change)."""
    prepare()
    if args.dry_run:
        return _dry_run(args.quarter)
    stats, page, changes = run_aggregation(quarter=args.quarter, trigger="cli")
    print_play_summary(stats, page, changes)
    print(f"run {page['run_id']} ({AGGREGATION_JOB}), recorded in the Dagster instance")
    return 0


def cmd_plays_create_todo(args: argparse.Namespace) -> int:
    """Create "<PLAY_ID> ToDo List" under Project TODO and link it from Project TODO and the Play DB row."""
    from confluence_pipeline.plays.todo import create_todo_page

    prepare()
    configured = resources()
    with configured.postgres.connect() as conn:
        client = configured.confluence.client(configured.postgres.database_url())
        result = create_todo_page(conn, client, configured.plays.settings(), args.play_id)
    state = "created" if result.created else "exists already"
    print(f"{result.title}: page {result.page_id}, {state}")
    print(f"link on Project TODO: {result.todo_link}")
    print(f"link in the Play DB row: {result.play_db_link}")
    if not result.changed:
        print("nothing to do: the page exists and both links are in place")
    return 0


# --- events ----------------------------------------------------------------------------------------------------------


def cmd_events_add(args: argparse.Namespace) -> int:
    """Queue an event in the outbox (the same event twice is a no-op)."""
    from confluence_pipeline.plays.outbox import ROUTES, PlayEvent, check_play, enqueue_event

    payload: dict[str, Any] = {}
    if args.score is not None:
        payload["score"] = args.score
    if args.signal:
        payload["signal"] = args.signal
    prepare()
    configured = resources()
    event = PlayEvent(
        args.type, args.play, args.title, url=args.url, actor=args.actor, payload=payload, event_id=args.id
    ).validated(datetime.now(UTC))
    with configured.postgres.connect() as conn:
        check_play(conn, configured.plays.settings(), event.play_id)
        added = enqueue_event(conn, event)
    writes = ", ".join(target.replace("_", " ") for target in ROUTES[event.event_type])
    if added:
        print(f"queued {event.event_id} ({event.event_type}, {event.play_id}): {writes}")
    else:
        print(f"{event.event_id} is in the outbox already: nothing changed")
    return 0


def cmd_events_status(args: argparse.Namespace) -> int:
    """Pending, failed and synced counts, the oldest event not synced, the last error."""
    from confluence_pipeline.plays.outbox import outbox_status

    prepare()
    with resources().postgres.connect() as conn:
        status = outbox_status(conn)
    if args.json:
        print(json.dumps(status.as_dict(), indent=2, ensure_ascii=False))
    else:
        print("\n".join(status.lines()))
    return 0


def cmd_events_list(args: argparse.Namespace) -> int:
    """Events, oldest first (all, or with one status)."""
    from confluence_pipeline.plays.outbox import list_events

    prepare()
    status = "failed" if args.failed else args.status
    with resources().postgres.connect() as conn:
        events = list_events(conn, status=status, limit=args.limit)
    if args.json:
        print(json.dumps([_event_dict(e) for e in events], indent=2, ensure_ascii=False))
        return 0
    if not events:
        print(f"no {status} events" if status else "the outbox is empty")
        return 0
    for event in events:
        print(
            f"{event.event_id}  {event.event_type}  {event.play_id}  {event.status}  attempts {event.attempts}  "
            f"{event.occurred_at:%Y-%m-%d %H:%M} UTC  {event.title}"
        )
        if event.last_error and event.status != "synced":
            print(f"    last error: {event.last_error}")
    return 0


def _event_dict(event: Any) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "type": event.event_type,
        "play_id": event.play_id,
        "title": event.title,
        "url": event.url,
        "actor": event.actor,
        "status": event.status,
        "attempts": event.attempts,
        "last_error": event.last_error,
        "occurred_at": event.occurred_at.isoformat(),
        "synced_at": event.synced_at.isoformat() if event.synced_at else None,
    }


def cmd_events_retry(args: argparse.Namespace) -> int:
    """Make a failed event's writes due now."""
    from confluence_pipeline.plays.outbox import retry_event

    prepare()
    with resources().postgres.connect() as conn:
        count = retry_event(conn, args.event_id)
    if count:
        print(f"{count} write(s) of {args.event_id} are due now: the next drain (the sensor, or `events drain`) tries")
    else:
        print(f"{args.event_id} has no failed write: nothing to retry")
    return 0


def cmd_events_drain(args: argparse.Namespace) -> int:
    """Apply the outbox's due writes to Confluence once, now."""
    from confluence_pipeline.plays.outbox import drain_outbox, outbox_status

    prepare()
    configured = resources()
    with configured.postgres.connect() as conn:
        client = configured.confluence.client(configured.postgres.database_url())
        result = drain_outbox(conn, client, configured.plays.settings(), configured.plays.outbox_batch_size)
        status = outbox_status(conn)
    print(
        f"applied {result.written}, already applied {result.already_applied}, failed {result.failed}, "
        f"waiting {result.waiting}"
    )
    for error in result.errors:
        print(f"  failed: {error}", file=sys.stderr)
    if result.stopped:
        print(f"stopped: {result.stopped}", file=sys.stderr)
    print("\n".join(status.lines()))
    return 1 if result.failed else 0


# --- registration ----------------------------------------------------------------------------------------------------


def register(sub: Any) -> None:
    """Add ``plays`` and ``events`` to the CLI's subparsers."""
    from confluence_pipeline.plays.outbox import EVENT_TYPES

    plays = sub.add_parser("plays", help="Play tracking: the QTD aggregation into the Play DB, ToDo List pages")
    plays_sub = plays.add_subparsers(dest="plays_command", required=True)
    aggregate = plays_sub.add_parser(
        "aggregate", help="aggregate the stored Action Log and write the Play DB (through the Dagster instance)"
    )
    aggregate.add_argument("--quarter", help="e.g. 2026Q4 (default: the current quarter in PLAY_TIMEZONE)")
    aggregate.add_argument(
        "--dry-run", action="store_true", help="print the table it would write and the cells that would change"
    )
    aggregate.set_defaults(func=cmd_plays_aggregate)
    todo = plays_sub.add_parser("create-todo", help='create "PLAY_ID ToDo List" and link it (twice: no change)')
    todo.add_argument("play_id", metavar="PLAY_ID")
    todo.set_defaults(func=cmd_plays_create_todo)

    events = sub.add_parser("events", help="the Play event outbox: add, status, list, retry, drain")
    events_sub = events.add_subparsers(dest="events_command", required=True)
    add = events_sub.add_parser("add", help="queue an event (the same event twice is a no-op)")
    # The type is checked by the event itself, so that an unknown one gets the list of known ones.
    add.add_argument("type", metavar="TYPE", help=f"one of {', '.join(EVENT_TYPES)}")
    add.add_argument("--play", required=True, help="the Play id, e.g. EXT_Desk_D01")
    add.add_argument("--title", required=True)
    add.add_argument("--url")
    add.add_argument("--actor")
    add.add_argument("--id", help="the event's id (default: derived from its content)")
    add.add_argument("--score", type=float, help="signal.scored: the score")
    add.add_argument("--signal", help="signal.scored: the event id of the scored signal")
    add.set_defaults(func=cmd_events_add)
    status = events_sub.add_parser("status", help="pending, failed and synced counts, oldest pending, last error")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_events_status)
    listing = events_sub.add_parser("list", help="events, oldest first")
    which = listing.add_mutually_exclusive_group()
    which.add_argument("--failed", action="store_true", help="only failed events")
    which.add_argument("--status", choices=["pending", "failed", "synced"])
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_events_list)
    retry = events_sub.add_parser("retry", help="make a failed event's writes due now")
    retry.add_argument("event_id", metavar="ID")
    retry.set_defaults(func=cmd_events_retry)
    drain = events_sub.add_parser("drain", help="apply the outbox's due writes to Confluence once, now")
    drain.set_defaults(func=cmd_events_drain)
