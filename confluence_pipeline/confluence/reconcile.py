"""Deletion reconciliation: list every current page id of a space and retire the stored pages that are gone.

The incremental sync lists pages by ``lastmodified``, and CQL matches current pages only: a page that is archived,
trashed or purged simply stops appearing, so the sync never learns of it. Reconciliation lists the id of every
current page of the space (no bodies, no expansions, at the largest page size the endpoint allows). Stored current
pages that are absent are marked gone, and their chunks leave search in the same transaction; the rows stay, with
``deleted_at``.

A listing that is short for any reason looks exactly like a mass deletion, so safety comes first:

* The listing must be complete: no error on the way, every response reports the same ``totalSize`` and the distinct
  ids listed add up to it (so a cursor that ends early, or a ``next`` that leads nowhere, is caught), and it ends
  within a time limit. Otherwise nothing is deleted.
* A run that would retire more than ``max_delete_share`` of the stored pages of a space, or all of them, retires
  nothing unless forced: a space the token lost permission to lists no pages at all.
* Each missing page is looked up by id (one request) before it goes. Confluence answers archived, trashed, or 404
  for a purged page. A page it still reports current in the space stays: the search index lags behind.

Current pages the store lacks (restored from the trash without a new version, moved in from another space) are
handed to the sync's own fetch path, because the listing by ``lastmodified`` may never reach them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.cql import space_pages_cql, validate_space_key
from confluence_pipeline.confluence.errors import ConfluenceAuthError, ConfluenceError, ConfluenceNotFound
from confluence_pipeline.confluence.sync import refresh_pages
from confluence_pipeline.store import documents as docs
from confluence_pipeline.store import pages as store

log = logging.getLogger(__name__)

STRATEGIES = ("weekly", "every_sync", "on_demand")
WEEKLY = timedelta(days=7)
# Data Center serves CQL search at most 1000 results a page when nothing is expanded (200 with expansions, 50 with
# bodies); Cloud caps lower and says so in the response's ``limit``. Asking for the most costs nothing.
LISTING_PAGE_SIZE = 1000
_GONE_STATUSES = ("archived", "trashed")
_MAX_IDS_SHOWN = 20


class ReconcileAborted(RuntimeError):
    """Reconciliation stopped before deleting anything; the message says why and what to do.

    Attributes:
        space_key: the space.
        reason: ``incomplete`` (the listing cannot be trusted), ``limit`` (it would delete too much) or
            ``lookup`` (credentials failed while missing pages were looked up).
        details: counts for the operator (listed, total_size, stored, would_remove …).
    """

    def __init__(self, message: str, *, space_key: str, reason: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.space_key = space_key
        self.reason = reason
        self.details = dict(details or {})


class ListingIncomplete(ReconcileAborted):
    """The id listing of a space failed or came up short; nothing was deleted."""


class DeletionLimitExceeded(ReconcileAborted):
    """The run would delete more of a space than allowed without ``force``; nothing was deleted."""


def parse_strategies(text: str, *, setting: str = "CONFLUENCE_RECONCILE") -> tuple[str | None, dict[str, str]]:
    """Read ``weekly``, ``ENG=every_sync,HR=on_demand`` or both (``weekly,ENG=every_sync``).

    Args:
        text: the setting's value.
        setting: its name, for error messages.

    Returns:
        The default strategy (None when the text names none) and the per-space overrides.

    Raises:
        ValueError: an unknown strategy, a malformed space key, a space named twice or two defaults.
    """
    default: str | None = None
    per_space: dict[str, str] = {}
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        strategy = (value if sep else key).strip().lower()
        if strategy not in STRATEGIES:
            raise ValueError(
                f"{setting}: {item!r} names no strategy; use one of {', '.join(STRATEGIES)}, optionally per space "
                "as KEY=strategy (e.g. weekly,ENG=every_sync,HR=on_demand)"
            )
        if not sep:
            if default is not None:
                raise ValueError(f"{setting}: two default strategies ({default}, {strategy}); keep one")
            default = strategy
            continue
        space_key = validate_space_key(key.strip())
        if space_key in per_space:
            raise ValueError(f"{setting}: space {space_key} is given twice; keep one KEY=strategy entry")
        per_space[space_key] = strategy
    return default, per_space


@dataclass(frozen=True)
class ReconcileSettings:
    """How and when spaces are reconciled (bound from the environment or run config by the caller).

    Attributes:
        strategy: ``weekly`` (default), ``every_sync`` or ``on_demand``, for spaces without an override.
        space_strategies: per-space overrides, ``(space key, strategy)`` pairs.
        max_delete_share: the largest share of a space's stored pages one run may delete without ``force``.
        listing_timeout_s: a listing still running after this long is abandoned as incomplete.
        listing_page_size: results asked for per listing request (servers cap it silently).
    """

    strategy: str = "weekly"
    space_strategies: tuple[tuple[str, str], ...] = ()
    max_delete_share: float = 0.2
    listing_timeout_s: float = 1800.0
    listing_page_size: int = LISTING_PAGE_SIZE

    @classmethod
    def parse(cls, strategy: str = "weekly", overrides: str = "", **values: Any) -> ReconcileSettings:
        """Build settings from text: ``strategy`` may carry overrides itself (``weekly,ENG=every_sync``).

        Args:
            strategy: the ``CONFLUENCE_RECONCILE`` value.
            overrides: more ``KEY=strategy`` entries (e.g. from a separate setting or run config).
            **values: the other fields.

        Raises:
            ValueError: naming the setting and the fix.
        """
        default, per_space = parse_strategies(strategy)
        extra_default, extra = parse_strategies(overrides, setting="reconcile overrides")
        if extra_default is not None:
            raise ValueError(f"reconcile overrides: {extra_default!r} lacks a space key; write KEY={extra_default}")
        per_space.update(extra)
        settings = cls(strategy=default or "weekly", space_strategies=tuple(sorted(per_space.items())), **values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Check the values before any request is made.

        Raises:
            ValueError: naming the setting to fix.
        """
        for key, strategy in (("(default)", self.strategy), *self.space_strategies):
            if strategy not in STRATEGIES:
                raise ValueError(f"CONFLUENCE_RECONCILE for {key}: {strategy!r} is not one of {', '.join(STRATEGIES)}")
        if not 0 < self.max_delete_share <= 1:
            raise ValueError(
                f"CONFLUENCE_RECONCILE_MAX_DELETE_SHARE={self.max_delete_share!r} must be a share above 0 and at "
                "most 1 (0.2 allows one run to delete up to 20% of a space)"
            )
        if self.listing_timeout_s <= 0 or self.listing_page_size < 1:
            raise ValueError("the reconcile listing timeout and page size must be positive")

    def strategy_for(self, space_key: str) -> str:
        """The strategy of one space: its override, else the default."""
        return dict(self.space_strategies).get(space_key, self.strategy)

    def is_due(self, space_key: str, last_reconciled_at: datetime | None, now: datetime) -> bool:
        """Whether a scheduled pass should reconcile the space now (``on_demand`` never is; ``every_sync`` always)."""
        strategy = self.strategy_for(space_key)
        if strategy == "every_sync":
            return True
        if strategy == "on_demand":
            return False
        return last_reconciled_at is None or now - last_reconciled_at >= WEEKLY


@dataclass(frozen=True)
class PageListing:
    """The ids of every current page of a space, from a listing that was checked complete."""

    space_key: str
    page_ids: frozenset[str]
    total_size: int
    responses: int
    seconds: float


def list_current_page_ids(
    client: ConfluenceClient,
    space_key: str,
    *,
    page_size: int = LISTING_PAGE_SIZE,
    timeout_s: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> PageListing:
    """List the id of every current page of a space, cheaply, and prove the listing complete.

    One CQL query through the wrapped ``rest/api/search`` (the endpoint that reports ``totalSize``), oldest first by
    creation, nothing expanded, ``_links.next`` followed exactly.

    Args:
        client: the Confluence client.
        space_key: the space.
        page_size: results asked for per request.
        timeout_s: give up (as incomplete) when the listing takes longer.
        clock: monotonic seconds (for tests).

    Raises:
        ListingIncomplete: an error on the way, a ``totalSize`` that moved or that the ids do not add up to, a
            cursor that ended early, or the timeout.
    """
    validate_space_key(space_key)
    started = clock()
    params = {
        "cql": space_pages_cql(space_key),
        "limit": page_size,
        # The sync stores pages of archived spaces too, so they count here as well.
        "includeArchivedSpaces": "true",
        "excerpt": "none",
    }
    ids: set[str] = set()
    totals: list[int] = []
    responses = rows = 0
    last: dict[str, Any] = {}

    def incomplete(why: str) -> ListingIncomplete:
        details = {"listed": len(ids), "total_size": totals[-1] if totals else None, "responses": responses}
        return ListingIncomplete(
            f"The listing of space {space_key} is incomplete: {why}. Nothing was deleted; run the reconciliation "
            "again (it deletes only after a complete listing).",
            space_key=space_key,
            reason="incomplete",
            details=details,
        )

    try:
        for body in client.paginate("rest/api/search", params):
            responses += 1
            last = body
            total = body.get("totalSize")
            if not isinstance(total, int):
                raise incomplete(f"response {responses} carries no totalSize, so the count cannot be checked")
            totals.append(total)
            for result in body.get("results", []):
                content = result.get("content") or {}
                page_id = str(content.get("id", ""))
                if not page_id.isdigit():
                    raise incomplete(f"response {responses} holds a result without a page id")
                ids.add(page_id)
                rows += 1
            if timeout_s is not None and clock() - started > timeout_s:
                raise incomplete(f"it was still running after {timeout_s:g} s")
    except ConfluenceError as exc:
        raise incomplete(f"request {responses + 1} failed ({exc})") from exc
    if len(set(totals)) > 1:
        raise incomplete(
            f"the space changed while it was listed (totalSize went from {totals[0]} to {totals[-1]}); pages were "
            "created or removed meanwhile"
        )
    total_size = totals[-1]
    if len(ids) != total_size:
        links = last.get("_links") or {}
        if len(ids) > total_size:
            ending = "more distinct ids than that"
        elif rows > len(ids):
            ending = f"only {len(ids)} distinct ids (results shifted between pages, {rows - len(ids)} repeated)"
        elif links.get("next"):
            ending = f"a next link led to an empty page after {len(ids)}"
        else:
            ending = f"the cursor ended after {len(ids)}"
        raise incomplete(f"Confluence counts {total_size} current pages (totalSize) but {ending} were listed")
    return PageListing(space_key, frozenset(ids), total_size, responses, clock() - started)


def page_status(client: ConfluenceClient, page_id: str) -> tuple[str, str | None]:
    """Ask Confluence for one page in any status (one request, no body).

    Returns:
        ``(status, space key)``: ``current``, ``archived`` or ``trashed`` with the page's space, or
        ``("deleted", None)`` when Confluence answers 404 (purged, or no longer visible to the token's user).
    """
    try:
        data = client.get_json(f"rest/api/content/{page_id}", {"status": "any", "expand": "space"})
    except ConfluenceNotFound:
        return "deleted", None
    status = str(data.get("status") or "current")
    if status not in ("current", *_GONE_STATUSES):
        status = "deleted"  # a draft or any other state is not a page search should serve
    return status, (data.get("space") or {}).get("key")


@dataclass
class ReconcileResult:
    """What one reconciliation of a space found and did."""

    space_key: str
    listed: int = 0
    total_size: int = 0
    stored: int = 0
    removed: dict[str, str] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    unresolved: dict[str, str] = field(default_factory=dict)
    refreshed: int = 0
    refresh_failed: int = 0
    requests: int = 0
    seconds: float = 0.0
    forced: bool = False

    def metadata(self) -> dict[str, Any]:
        """Plain-typed summary for Dagster metadata and logs."""
        by_status = {status: 0 for status in (*_GONE_STATUSES, "deleted", "moved")}
        for status in self.removed.values():
            by_status[status] = by_status.get(status, 0) + 1
        return {
            "pages_listed": self.listed,
            "total_size": self.total_size,
            "pages_stored": self.stored,
            "pages_removed": len(self.removed),
            "removed_page_ids": ", ".join(sorted(self.removed, key=int)[:_MAX_IDS_SHOWN]),
            **{f"removed_{status}": count for status, count in by_status.items()},
            "pages_kept_current": len(self.kept),
            "pages_unresolved": len(self.unresolved),
            "unresolved_page_ids": ", ".join(sorted(self.unresolved, key=int)[:_MAX_IDS_SHOWN]),
            "pages_refreshed": self.refreshed,
            "pages_refresh_failed": self.refresh_failed,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "forced": self.forced,
        }


def _check_deletion_limit(
    space_key: str, would_remove: int, stored: int, listing: PageListing, settings: ReconcileSettings
) -> None:
    if not would_remove:
        return
    share = would_remove / stored
    if would_remove == stored:
        what = f"every one of its {stored} stored pages (Confluence lists {listing.total_size} current pages)"
    elif share > settings.max_delete_share:
        what = (
            f"{would_remove} of its {stored} stored pages ({share:.0%}, above the limit of "
            f"{settings.max_delete_share:.0%})"
        )
    else:
        return
    raise DeletionLimitExceeded(
        f"Reconciliation of space {space_key} would remove {what}. Nothing was deleted: a space the token lost "
        "permission to lists no pages, and that must never empty the store by accident. If those pages really "
        "are gone, run it again with --force (CLI) or the run config `force: true`.",
        space_key=space_key,
        reason="limit",
        details={
            "listed": len(listing.page_ids),
            "total_size": listing.total_size,
            "stored": stored,
            "would_remove": would_remove,
        },
    )


def reconcile_space(
    conn: psycopg.Connection,
    client: ConfluenceClient,
    space_key: str,
    settings: ReconcileSettings,
    force: bool = False,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> ReconcileResult:
    """Mark the stored pages of a space that are no longer current in Confluence as gone, and drop their chunks.

    Args:
        conn: a connection to the pipeline database (autocommit, not in a transaction).
        client: the Confluence client.
        space_key: the space.
        settings: the strategy and safety settings.
        force: delete even beyond ``max_delete_share``, or every page (never past an incomplete listing).
        clock: monotonic seconds (for tests).

    Returns:
        What was listed, removed (with statuses), kept, left unresolved and refreshed, with requests and seconds.

    Raises:
        ListingIncomplete: the listing failed or came up short; nothing was deleted.
        DeletionLimitExceeded: too much would go without ``force``; nothing was deleted.
        ReconcileAborted: credentials failed while pages were looked up; nothing was deleted.
    """
    validate_space_key(space_key)
    settings.validate()
    started = clock()
    requests_before = client.stats.requests
    result = ReconcileResult(space_key=space_key, forced=force)
    stored = store.current_page_ids(conn, space_key)
    result.stored = len(stored)
    listing = list_current_page_ids(
        client, space_key, page_size=settings.listing_page_size, timeout_s=settings.listing_timeout_s, clock=clock
    )
    result.listed, result.total_size = len(listing.page_ids), listing.total_size
    missing = sorted(stored - listing.page_ids, key=int)
    if not force:
        _check_deletion_limit(space_key, len(missing), len(stored), listing, settings)
    gone: dict[str, str] = {}
    moved: list[str] = []
    for page_id in missing:
        try:
            status, page_space = page_status(client, page_id)
        except ConfluenceAuthError as exc:
            raise ReconcileAborted(
                f"Looking up the missing pages of space {space_key} failed ({exc}). Nothing was deleted.",
                space_key=space_key,
                reason="lookup",
                details={"listed": result.listed, "would_remove": len(missing)},
            ) from exc
        except ConfluenceError as exc:
            # Without Confluence's word the page stays; the next reconciliation asks again.
            result.unresolved[page_id] = str(exc)
            continue
        if status != "current":
            gone[page_id] = status
        elif page_space == space_key:
            result.kept.append(page_id)
        else:
            moved.append(page_id)
    with conn.transaction():
        docs.space_lock(conn, space_key)
        for status in sorted(set(gone.values())):
            store.mark_pages_gone(conn, [page_id for page_id, s in gone.items() if s == status], status)
        store.record_reconcile(conn, space_key, listed=result.listed, removed=len(gone))
    result.removed.update(gone)
    # Current pages the store lacks; pages that keep failing are the sync's to retry, and a space never synced
    # is the sync's to fill.
    returned = listing.page_ids - stored - set(store.failed_page_ids(conn, space_key))
    if store.get_watermark(conn, space_key) is not None and (returned or moved):
        refreshed = refresh_pages(conn, client, space_key, sorted(returned, key=int) + moved)
        result.refreshed = refreshed.written
        result.refresh_failed = len(refreshed.failed)
        for page_id in moved:
            if store.known_versions(conn, [page_id]).get(page_id, (0, ""))[1] == "moved":
                result.removed[page_id] = "moved"
    result.requests = client.stats.requests - requests_before
    result.seconds = clock() - started
    log.info(
        "reconciled %s: %d listed, %d stored, %d removed, %d kept, %d unresolved, %d refreshed in %d requests",
        space_key, result.listed, result.stored, len(result.removed), len(result.kept), len(result.unresolved),
        result.refreshed, result.requests,
    )  # fmt: skip
    return result
