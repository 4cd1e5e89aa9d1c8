"""Writing Confluence pages safely: optimistic locking, re-apply on conflict, one version per run, and an audit.

:func:`edit_page` is the one way Play tracking changes an existing page: read the page (body and version), let a
transform compute the new body from what is there *now*, and PUT it with version + 1. When someone saved in between,
Confluence answers 409; the page is read again and the transform applied again on top of their edit, a bounded number
of times. A transform that finds nothing to do means no request that writes. Because transforms check the page
before they change it, a write whose response was lost is recognised on the next read and not applied twice.

:func:`write_play_db` is the aggregation's write: the whole Play DB table in one update.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.errors import ConfluenceConflict, ConfluenceError
from confluence_pipeline.plays.playdb import PlayDbPlan, RowUpdate, plan_play_db
from confluence_pipeline.plays.quarters import Quarter
from confluence_pipeline.plays.settings import PlaySettings
from confluence_pipeline.store import plays as store

log = logging.getLogger(__name__)

PAGE_EXPAND = "body.storage,version,space"


class PageConflictError(ConfluenceError):
    """A page kept changing under the writer: every re-applied edit met another 409."""


@dataclass(frozen=True, slots=True)
class PageSnapshot:
    """A page as Confluence holds it now."""

    page_id: str
    title: str
    content_type: str
    version: int
    storage: str
    space_key: str | None


def read_page(client: ConfluenceClient, page_id: str, *, max_retries: int | None = None) -> PageSnapshot:
    """Read a page's current body and version from Confluence (never the stored copy: writes need the live one)."""
    data = client.get_json(f"rest/api/content/{page_id}", {"expand": PAGE_EXPAND}, max_retries=max_retries)
    return PageSnapshot(
        page_id=str(data["id"]),
        title=data["title"],
        content_type=data.get("type", "page"),
        version=int(data["version"]["number"]),
        storage=((data.get("body") or {}).get("storage") or {}).get("value", ""),
        space_key=(data.get("space") or {}).get("key"),
    )


@dataclass(frozen=True, slots=True)
class Edit:
    """What a transform wants: the new body, or None when the page is as it should be. ``detail`` is handed back."""

    storage: str | None
    detail: Any = None


@dataclass(frozen=True)
class PageEditResult:
    """The outcome of :func:`edit_page`.

    Attributes:
        outcome: ``written``; ``unchanged`` (nothing to do, no write); ``already_applied`` (nothing left to do after
            a conflict or a lost response: the page holds the edit already).
        version_before: the version first read.
        version_after: the version after the write (or the current one when nothing was written).
        conflicts: 409s met and re-applied.
        detail: the last transform's ``detail``.
        sent_detail: the ``detail`` of the last edit sent (for ``already_applied``: what the page holds already).
    """

    page_id: str
    title: str
    outcome: str
    version_before: int
    version_after: int
    conflicts: int
    detail: Any = None
    sent_detail: Any = None

    @property
    def written(self) -> bool:
        """Whether this call made a new version."""
        return self.outcome == "written"


def edit_page(
    client: ConfluenceClient,
    page_id: str,
    transform: Callable[[PageSnapshot], Edit],
    *,
    message: str,
    conflict_retries: int,
    max_retries: int | None = None,
) -> PageEditResult:
    """Apply ``transform`` to a page's current body and save the result as the next version.

    Args:
        client: the Confluence client.
        page_id: the page.
        transform: computes the new body from the page as it is now; it must check whether its change is there
            already (so that a repeat after a lost response is a no-op).
        message: the version message (shown in the page history).
        conflict_retries: re-reads after a 409 before giving up.
        max_retries: HTTP retries per request (None: the client's setting).

    Returns:
        What happened.

    Raises:
        PageConflictError: the page changed under every attempt.
        ConfluenceError: reading or writing failed otherwise.
    """
    conflicts = 0
    first_version: int | None = None
    sent: Any = None
    while True:
        page = read_page(client, page_id, max_retries=max_retries)
        first_version = page.version if first_version is None else first_version
        edit = transform(page)
        if edit.storage is None or edit.storage == page.storage:
            outcome = "already_applied" if conflicts else "unchanged"
            return PageEditResult(
                page.page_id, page.title, outcome, first_version, page.version, conflicts, edit.detail, sent
            )
        payload = {
            "id": page.page_id,
            "type": page.content_type,
            "title": page.title,
            "status": "current",
            "version": {"number": page.version + 1, "message": message, "minorEdit": True},
            "body": {"storage": {"value": edit.storage, "representation": "storage"}},
        }
        sent = edit.detail
        try:
            response = client.put_json(f"rest/api/content/{page_id}", payload, max_retries=max_retries)
        except ConfluenceConflict as exc:
            conflicts += 1
            log.info("page %s changed since it was read (%s); re-reading (%d)", page_id, exc, conflicts)
            if conflicts > conflict_retries:
                raise PageConflictError(
                    f"page {page_id} ({page.title!r}) changed under every one of {conflicts} attempts to save it; "
                    "someone (or something) is editing it right now. Run again later, or raise PLAY_CONFLICT_RETRIES.",
                    status=409,
                    attempts=conflicts,
                ) from None
            continue
        after = int(((response or {}).get("version") or {}).get("number") or page.version + 1)
        return PageEditResult(page.page_id, page.title, "written", first_version, after, conflicts, edit.detail, sent)


def audit(
    conn: psycopg.Connection,
    result: PageEditResult,
    *,
    kind: str,
    source: str | None,
    changes: Sequence[dict[str, Any]] = (),
    quarter: str | None = None,
) -> None:
    """Record a page write in the audit table (nothing for ``unchanged``: no write happened)."""
    if result.outcome == "unchanged":
        return
    store.record_page_write(
        conn,
        page_id=result.page_id,
        page_title=result.title,
        kind=kind,
        source=source,
        outcome=result.outcome,
        version_before=result.version_before,
        version_after=result.version_after,
        changes=changes,
        quarter=quarter,
    )


# --- the Play DB write of the aggregation ----------------------------------------------------------------------------


@dataclass
class WritebackResult:
    """The aggregation's write of the Play DB table."""

    quarter: Quarter
    page_id: str
    title: str
    outcome: str
    version_before: int
    version_after: int
    conflicts: int
    plan: PlayDbPlan
    stats: list[store.StatRow] = field(default_factory=list)

    @property
    def written(self) -> bool:
        """Whether a new version was saved."""
        return self.outcome == "written"

    def table_markdown(self) -> str:
        """The figures the table is to show, as Markdown."""
        import pandas as pd  # imported when used: runs that never aggregate skip its seconds of import

        frame = pd.DataFrame(
            [[r.play_id, *r.counts().values(), r.status] for r in self.stats],
            columns=["Play", "Activity", "Signal", "Brief", "S2", "S3", "Status"],
        )
        return frame.to_markdown(index=False)

    def changes_markdown(self) -> str:
        """The cells that change (or changed), as Markdown."""
        import pandas as pd  # imported when used: runs that never aggregate skip its seconds of import

        if not self.plan.changes:
            return "No cell changes: the table shows these figures already."
        frame = pd.DataFrame([c.as_dict() for c in self.plan.changes])
        frame.columns = ["Play", "Column", "Old", "New"]
        return frame.to_markdown(index=False)

    def metadata(self) -> dict[str, Any]:
        """Counts for ``MaterializeResult`` metadata (``changes`` is Markdown)."""
        return {
            "quarter": str(self.quarter),
            "page_id": self.page_id,
            "outcome": self.outcome,
            "version_before": self.version_before,
            "version_after": self.version_after,
            "conflicts_retried": self.conflicts,
            "rows_changed": len(self.plan.rows_changed),
            "cells_changed": len(self.plan.changes),
            "rows_changed_plays": ", ".join(self.plan.rows_changed) or "none",
            "plays_without_row": ", ".join(self.plan.missing_plays) or "none",
            "changes": self.changes_markdown(),
        }


def row_updates(stats: Sequence[store.StatRow]) -> dict[str, RowUpdate]:
    """Every figure and the status of each Play, as Play DB row updates."""
    return {r.play_id: RowUpdate(figures=r.counts(), status=r.status) for r in stats}


def write_play_db(
    conn: psycopg.Connection,
    client: ConfluenceClient,
    settings: PlaySettings,
    quarter: Quarter,
    *,
    now: datetime,
    run_id: str | None = None,
    dry_run: bool = False,
    stats: Sequence[store.StatRow] | None = None,
) -> WritebackResult:
    """Write a quarter's figures into the Play DB table: one page update for the whole table, none when unchanged.

    Args:
        conn: the pipeline database (figures, audit).
        client: the Confluence client.
        settings: page ids, time zone, conflict retries.
        quarter: the quarter whose figures to write.
        now: for ``last_updated`` (its date in the team's time zone).
        run_id: the triggering run, for the version message and the audit.
        dry_run: plan only: read the page, write nothing.
        stats: the figures; by default the quarter's newest stored snapshot.

    Returns:
        What changed (or would change).

    Raises:
        ValueError: there are no figures for the quarter yet.
        PageStructureError: the page's table lacks a needed column.
        ConfluenceError: reading or writing failed.
    """
    settings.validate(need=("play_db",))
    if stats is None:
        _as_of, stats = store.latest_qtd_stats(conn, str(quarter))
    stats = list(stats)
    if not stats:
        raise ValueError(f"there are no Play figures for {quarter} yet: run the aggregation for it first")
    updates = row_updates(stats)
    today = now.astimezone(settings.tz).date()
    what = f"the Play DB page {settings.play_db_page_id}"

    def transform(page: PageSnapshot) -> Edit:
        plan = plan_play_db(page.storage, updates, today, what=f"{what} ({page.title!r})")
        return Edit(plan.storage if plan.changed else None, plan)

    if dry_run:
        page = read_page(client, settings.play_db_page_id)
        plan = transform(page).detail
        return WritebackResult(quarter, page.page_id, page.title, "dry_run", page.version, page.version, 0, plan, stats)
    message = f"Play QTD aggregation {quarter}" + (f" (run {run_id})" if run_id else "")
    result = edit_page(
        client, settings.play_db_page_id, transform, message=message, conflict_retries=settings.conflict_retries
    )
    # After a lost response the last plan finds nothing to do; the audit records what the page took.
    plan = result.sent_detail if result.outcome == "already_applied" and result.sent_detail else result.detail
    audit(
        conn,
        result,
        kind="play_db_aggregation",
        source=run_id,
        changes=[c.as_dict() for c in plan.changes],
        quarter=str(quarter),
    )
    return WritebackResult(
        quarter,
        result.page_id,
        result.title,
        result.outcome,
        result.version_before,
        result.version_after,
        result.conflicts,
        plan,
        stats,
    )
