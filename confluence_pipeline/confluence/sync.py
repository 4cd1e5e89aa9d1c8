"""Incremental sync of one space: list what changed, fetch only new versions, commit, then move the watermark.

The listing is light (ids and versions, no bodies), so a refresh with nothing changed costs one request per space
and writes nothing. Bodies are fetched in batches by id; a batch that keeps failing is halved down to single pages,
and a page that still fails is recorded in ``sync_failures`` and retried by every later run, whatever the
watermark says. A space's first sync needs every body, so its first pass lists with the bodies instead (see
:func:`sync_space`); should that listing fail, the pass goes on light. Each batch commits on its own,
so a run killed at any point resumes without refetching what it stored. The watermark moves only at the end, to the
newest ``lastmodified`` that was listed.

Deletions are invisible to this listing (CQL matches current pages only); :func:`detect_changes` notices them by
count and :mod:`confluence_pipeline.confluence.reconcile` finds them by a full id listing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import psycopg

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.cql import (
    changed_pages_cql,
    pages_by_id_cql,
    resolve_timezone,
    space_pages_cql,
    validate_space_key,
)
from confluence_pipeline.confluence.errors import ConfluenceAuthError, ConfluenceError, ConfluenceNotFound
from confluence_pipeline.confluence.models import (
    PAGE_EXPAND,
    PageRecord,
    SpaceRecord,
    parse_page,
    parse_page_version,
    parse_space,
)
from confluence_pipeline.store import pages as store
from confluence_pipeline.store.db import analyze_after_load
from confluence_pipeline.store.space_checks import record_space_check

log = logging.getLogger(__name__)

StoredHook = Callable[[list[str]], None]
"""Told the ids of the current pages a batch of the sync stored (see :func:`sync_space`)."""

# A listed page modified this close to (or after) the listing's start may have shifted an offset-paginated
# result set under us; list once more so nothing slips between pages.
_CONCURRENT_EDIT_MARGIN = timedelta(minutes=1)
_MAX_LIST_PASSES = 3
# Account ids per user/bulk request (Cloud takes 200, but a long query string can be refused with 400 before it).
_USER_BULK = 50


@dataclass
class SyncResult:
    """What one space sync did, for the operator."""

    space_key: str
    listed: int = 0
    fetched: int = 0
    written: int = 0
    gone: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    retried_failures: int = 0
    passes: int = 0
    users_resolved: int = 0
    watermark_before: datetime | None = None
    watermark_after: datetime | None = None
    cql: str = ""
    seconds: float = 0.0

    def metadata(self) -> dict[str, Any]:
        """Plain-typed summary for Dagster metadata and logs."""
        return {
            "listed": self.listed,
            "fetched": self.fetched,
            "pages_written": self.written,
            "pages_gone": self.gone,
            "pages_failed": len(self.failed),
            "failed_page_ids": ", ".join(sorted(self.failed)[:20]),
            "retried_failures": self.retried_failures,
            "listing_passes": self.passes,
            "users_resolved": self.users_resolved,
            "watermark_before": self.watermark_before.isoformat() if self.watermark_before else "",
            "watermark_after": self.watermark_after.isoformat() if self.watermark_after else "",
            "cql": self.cql,
            "seconds": round(self.seconds, 3),
        }


def site_timezone(conn: psycopg.Connection, client: ConfluenceClient) -> ZoneInfo:
    """The zone CQL dates are read in: CONFLUENCE_TIMEZONE, else the server's word (cached), else UTC."""
    if client.settings.timezone:
        return resolve_timezone(client.settings.timezone)
    cached = store.get_site_info(conn, "timezone")
    if cached:
        return resolve_timezone(cached)
    current = client.check_access()
    zone_name = current.get("timeZone")
    if not zone_name:
        log.warning(
            "Confluence did not say which time zone CQL dates are in; assuming UTC. Set CONFLUENCE_TIMEZONE to the "
            "zone of the user behind the token, or edits near the watermark may be re-listed or delayed."
        )
        zone_name = "UTC"
    with conn.transaction():
        store.set_site_info(conn, "timezone", zone_name)
    return resolve_timezone(zone_name)


def fetch_space(client: ConfluenceClient, space_key: str) -> SpaceRecord:
    """Fetch one space's metadata (``GET rest/api/space/{key}``).

    Raises:
        ConfluenceNotFound: the space no longer exists or is not visible to the token's user.
    """
    data = client.get_json(f"rest/api/space/{validate_space_key(space_key)}", {"expand": "homepage"})
    return parse_space(data, client.site)


def list_spaces(client: ConfluenceClient) -> Iterator[dict[str, Any]]:
    """Yield every current space visible to the token (paginated)."""
    for body in client.paginate("rest/api/space", {"limit": 100, "status": "current", "expand": "homepage"}):
        yield from body.get("results", [])


def _list_changes(client: ConfluenceClient, cql: str, *, bodies: bool = False) -> Iterator[list[dict[str, Any]]]:
    """Yield the page items of each listing page: light (``version`` only), or with bodies (:data:`PAGE_EXPAND`).

    A listing with bodies asks for ``fetch_batch_size`` items a request (Data Center caps ``limit`` at 50 when
    expanding bodies), a light one for ``list_page_size``.
    """
    if bodies:
        params = {"cql": cql, "limit": client.settings.fetch_batch_size, "expand": PAGE_EXPAND}
    else:
        params = {"cql": cql, "limit": client.settings.list_page_size, "expand": "version"}
    for body in client.paginate("rest/api/content/search", params):
        yield [item for item in body.get("results", []) if item.get("type", "page") == "page"]


def fetch_pages(client: ConfluenceClient, page_ids: Sequence[str]) -> tuple[list[PageRecord], dict[str, str]]:
    """Fetch pages with bodies by id, halving the batch on failure down to single pages.

    Args:
        client: the Confluence client.
        page_ids: ids to fetch (at most ``fetch_batch_size`` per request).

    Returns:
        The pages returned (current ones; a page deleted or archived meanwhile is missing) and, per page id that
        still failed alone after its retries, the error.

    Raises:
        ConfluenceAuthError: credentials stopped working; no point going on.
    """
    records: list[PageRecord] = []
    failures: dict[str, str] = {}
    size = max(1, client.settings.fetch_batch_size)
    for start in range(0, len(page_ids), size):
        _fetch_batch(client, list(page_ids[start : start + size]), records, failures)
    return records, failures


def _fetch_batch(client: ConfluenceClient, ids: list[str], records: list[PageRecord], failures: dict[str, str]) -> None:
    params = {"cql": pages_by_id_cql(ids), "limit": len(ids), "expand": PAGE_EXPAND}
    try:
        body = client.get_json("rest/api/content/search", params)
    except ConfluenceAuthError:
        raise
    except ConfluenceError as exc:
        if len(ids) == 1:
            failures[ids[0]] = str(exc)
            return
        # Large pages can 504; smaller requests usually get through and isolate a page that cannot.
        middle = len(ids) // 2
        _fetch_batch(client, ids[:middle], records, failures)
        _fetch_batch(client, ids[middle:], records, failures)
        return
    for item in body.get("results", []):
        try:
            records.append(parse_page(item, client.site))
        except (ValueError, KeyError, TypeError) as exc:
            failures[str(item.get("id"))] = f"malformed page: {exc}"


def fetch_page_status(client: ConfluenceClient, page_id: str) -> PageRecord | None:
    """Fetch one page in any status (current, archived, trashed); None when it is gone for good."""
    try:
        data = client.get_json(f"rest/api/content/{page_id}", {"status": "any", "expand": PAGE_EXPAND})
    except ConfluenceNotFound:
        return None
    return parse_page(data, client.site)


def _display_name(user: dict[str, Any]) -> str | None:
    return user.get("displayName") or user.get("publicName") or user.get("username")


def _bulk_user_names(client: ConfluenceClient, refs: list[str], names: dict[str, str]) -> list[str]:
    """Resolve Cloud account ids through ``user/bulk``, _USER_BULK a request, into ``names``.

    Returns:
        The ids of the batches that could not be looked up this way, for one request each; an id the bulk lookup
        does not return has no user (a single lookup would answer 404 as well).
    """
    for start in range(0, len(refs), _USER_BULK):
        batch = refs[start : start + _USER_BULK]
        try:
            # One accountId parameter per id: atlassian-python-api would send a list parameter as its repr.
            query = urlencode([("accountId", ref) for ref in batch] + [("limit", len(batch))])
            body = client.get_json(f"rest/api/user/bulk?{query}")
        except (ConfluenceNotFound, ConfluenceError) as exc:
            if isinstance(exc, ConfluenceAuthError) and exc.status == 401:
                raise
            # A site or proxy without the resource: one request per user, as Data Center does.
            return refs[start:]
        for user in body.get("results", []):
            name = _display_name(user)
            if name and user.get("accountId") in batch:
                names[user["accountId"]] = name
    return []


def resolve_users(conn: psycopg.Connection, client: ConfluenceClient, refs: Sequence[str]) -> int:
    """Look up display names for user refs not cached yet; returns how many were resolved.

    Cloud answers up to _USER_BULK account ids a request (``user/bulk``); Data Center one user a request, by key or
    else by username.
    """
    names: dict[str, str] = {}
    unknown = store.unknown_users(conn, refs)
    if client.settings.is_cloud:
        unknown = _bulk_user_names(client, unknown, names)
    for ref in unknown:
        lookups = [{"accountId": ref}] if client.settings.is_cloud else [{"key": ref}, {"username": ref}]
        for params in lookups:
            try:
                user = client.get_json("rest/api/user", params)
            except (ConfluenceNotFound, ConfluenceError) as exc:
                if isinstance(exc, ConfluenceAuthError) and exc.status == 401:
                    raise
                continue
            name = _display_name(user)
            if name:
                names[ref] = name
                break
    if names:
        with conn.transaction():
            store.save_users(conn, names)
    return len(names)


def _write_batch(
    conn: psycopg.Connection,
    client: ConfluenceClient,
    ids: list[str],
    result: SyncResult,
    space_key: str,
    on_stored: StoredHook | None = None,
) -> None:
    records, failures = fetch_pages(client, ids)
    result.fetched += len(records)
    returned = {r.page_id for r in records}
    # Listed as current but not returned: deleted, archived or trashed since the listing.
    for page_id in [i for i in ids if i not in returned and i not in failures]:
        try:
            record = fetch_page_status(client, page_id)
        except ConfluenceAuthError:
            raise
        except ConfluenceError as exc:
            failures[page_id] = str(exc)
            continue
        if record is None:
            with conn.transaction():
                result.gone += store.mark_pages_gone(conn, [page_id], "deleted")
        else:
            records.append(record)
    _store_records(conn, client, records, failures, result, space_key, on_stored)


def _write_listed(
    conn: psycopg.Connection,
    client: ConfluenceClient,
    items: list[dict[str, Any]],
    result: SyncResult,
    space_key: str,
    on_stored: StoredHook | None = None,
) -> None:
    """Store pages listed with their bodies; an item that does not parse is recorded as a failed page."""
    records: list[PageRecord] = []
    failures: dict[str, str] = {}
    for item in items:
        try:
            records.append(parse_page(item, client.site))
        except (ValueError, KeyError, TypeError) as exc:
            failures[str(item.get("id"))] = f"malformed page: {exc}"
    result.fetched += len(records)
    _store_records(conn, client, records, failures, result, space_key, on_stored)


def _store_records(
    conn: psycopg.Connection,
    client: ConfluenceClient,
    records: list[PageRecord],
    failures: dict[str, str],
    result: SyncResult,
    space_key: str,
    on_stored: StoredHook | None = None,
) -> None:
    """Store fetched pages in one transaction with the failures, and resolve the users they mention.

    ``on_stored`` is then told the current pages stored.
    """
    # A page moved to a space the pipeline does not track leaves this one; it is stored again if that space is added.
    tracked = store.tracked_spaces(conn, {r.space_key for r in records})
    moved_away = [r.page_id for r in records if r.space_key not in tracked]
    records = [r for r in records if r.space_key in tracked]
    if moved_away:
        with conn.transaction():
            result.gone += store.mark_pages_gone(conn, moved_away, "moved")
    with conn.transaction():
        written = store.upsert_pages(conn, records)
        if failures:
            store.record_failures(conn, space_key, failures)
    result.written += written
    result.gone += sum(1 for r in records if r.status != "current")
    result.failed.update(failures)
    mentions = sorted({ref for r in records for ref in r.mentions})
    if mentions:
        result.users_resolved += resolve_users(conn, client, mentions)
    if on_stored is not None and (current := [r.page_id for r in records if r.status == "current"]):
        on_stored(current)


def refresh_pages(
    conn: psycopg.Connection, client: ConfluenceClient, space_key: str, page_ids: Sequence[str]
) -> SyncResult:
    """Fetch and store pages by id the way the sync stores the pages it lists, whatever the watermark says.

    For current pages the listing by ``lastmodified`` cannot reach, e.g. a page restored from the trash without a
    new version, or one moved into another space. Pages moved to a space the pipeline does not track are marked
    ``moved``; pages that keep failing are recorded like any sync failure. The watermark does not move.

    Args:
        conn: a connection to the pipeline database (not in a transaction).
        client: the Confluence client.
        space_key: the space the pages were listed in (failures are recorded under it).
        page_ids: the pages.

    Returns:
        What was fetched, written, marked gone and failed.
    """
    started = time.monotonic()
    result = SyncResult(space_key=space_key)
    ids = list(dict.fromkeys(page_ids))
    size = max(1, client.settings.list_page_size)
    for start in range(0, len(ids), size):
        _write_batch(conn, client, ids[start : start + size], result, space_key)
    result.listed = len(ids)
    result.seconds = time.monotonic() - started
    return result


def sync_space(
    conn: psycopg.Connection,
    client: ConfluenceClient,
    space_key: str,
    *,
    full: bool = False,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_stored: StoredHook | None = None,
) -> SyncResult:
    """Bring the stored pages of ``space_key`` up to date with Confluence.

    Args:
        conn: a connection to the pipeline database (not in a transaction).
        client: the Confluence client.
        space_key: the space.
        full: a full re-sync: list every page of the space whatever the watermark says, and fetch every page's body
            again (rows whose content did not move are left alone, so nothing downstream is redone for them).
        now: the clock (for tests).
        on_stored: called with the ids of the current pages each batch stored, once it committed and the users they
            mention are known (see :class:`~confluence_pipeline.stages.ConvertWhileFetching`).

    Returns:
        What was listed, fetched, written, marked gone and failed.
    """
    started = time.monotonic()
    validate_space_key(space_key)
    result = SyncResult(space_key=space_key)
    zone = site_timezone(conn, client)
    watermark = store.get_watermark(conn, space_key)
    result.watermark_before = watermark
    overlap = timedelta(minutes=client.settings.overlap_minutes)
    result.cql = changed_pages_cql(space_key, None if full else watermark, zone, overlap)
    previously_failed = store.failed_page_ids(conn, space_key)
    newest: datetime | None = None
    handled: set[str] = set()
    # A first sync (nothing stored) fetches every listed body: its first pass lists with the bodies, 50 a request,
    # instead of listing 200 ids a request and then fetching the same 50 a request (a fifth fewer requests). A
    # resumed first sync and repeated passes list light, to fetch only what is missing or moved.
    bodies = store.known_current_count(conn, space_key) == 0
    while result.passes < _MAX_LIST_PASSES:
        result.passes += 1
        pass_started = now()
        concurrent_edit = False
        try:
            for items in _list_changes(client, result.cql, bodies=bodies):
                versions = [parse_page_version(item) for item in items]
                result.listed += len(versions)
                stored = store.known_versions(conn, [v.page_id for v in versions])
                needed = []
                for v in versions:
                    newest = v.when if newest is None or v.when > newest else newest
                    if v.when >= pass_started - _CONCURRENT_EDIT_MARGIN:
                        concurrent_edit = True
                    if v.page_id in handled:
                        continue
                    known = stored.get(v.page_id)
                    # A full re-sync refetches everything once; a pass repeated for concurrent edits only what moved.
                    refetch = full and result.passes == 1
                    if refetch or known is None or known[0] != v.version or known[1] != "current":
                        needed.append(v.page_id)
                    handled.add(v.page_id)
                if needed and bodies:
                    wanted = set(needed)
                    listed = [i for i in items if str(i.get("id")) in wanted]
                    _write_listed(conn, client, listed, result, space_key, on_stored)
                elif needed:
                    _write_batch(conn, client, needed, result, space_key, on_stored)
        except ConfluenceAuthError:
            raise
        except ConfluenceError as exc:
            if not bodies:
                raise
            # A page too large to serve in a batch (a 504) fails the listing with it, and a cursor's limit must not
            # change: list light instead, and fetch what is missing by id, halving batches down to that page.
            log.warning("space %s: listing pages with their bodies failed (%s); listing ids instead", space_key, exc)
            bodies = False
            result.passes -= 1
            continue
        bodies = False
        if not concurrent_edit:
            break
        handled.clear()
    # Pages that failed before are retried whatever the watermark says; the listing may have re-fetched some.
    retry = [page_id for page_id in previously_failed if page_id not in handled]
    if retry:
        _write_batch(conn, client, retry, result, space_key, on_stored)
    result.retried_failures = len(previously_failed)
    # Conversion queries the pages just written; let the planner know of them.
    analyze_after_load(conn, "pages", result.written)
    result.seconds = time.monotonic() - started
    # An idle refresh writes nothing: metrics and watermark move only when data or the watermark did.
    if result.written or result.gone or (newest is not None and newest != watermark):
        with conn.transaction():
            store.record_sync(
                conn,
                space_key,
                watermark=newest,
                seconds=result.seconds,
                pages=result.written,
                requests=client.stats.requests,
            )
    result.watermark_after = store.get_watermark(conn, space_key)
    return result


def discover_spaces(client: ConfluenceClient) -> list[SpaceRecord]:
    """The spaces to sync: current spaces filtered by CONFLUENCE_SPACES / _EXCLUDE_SPACES / _INCLUDE_PERSONAL_SPACES.

    Archived spaces are skipped. An explicitly included key that does not exist is reported by its asset run.
    """
    settings = client.settings
    include = set(settings.spaces)
    exclude = set(settings.exclude_spaces)
    found: list[SpaceRecord] = []
    for item in list_spaces(client):
        space = parse_space(item, client.site)
        if space.status != "current" or space.key in exclude:
            continue
        if include and space.key not in include:
            continue
        if space.space_type == "personal" and not settings.include_personal_spaces and space.key not in include:
            continue
        found.append(space)
    return sorted(found, key=lambda s: s.key)


@dataclass(frozen=True)
class SpaceDiscovery:
    """The spaces to sync, and which of them the caller did not know yet.

    Attributes:
        keys: every space key to sync, sorted.
        new: the keys not among the known ones, in the same order.
    """

    keys: list[str]
    new: list[str]


def find_new_spaces(client: ConfluenceClient, known: Iterable[str]) -> SpaceDiscovery:
    """Discover the spaces to sync (see :func:`discover_spaces`) and tell which keys are not in ``known``.

    Args:
        client: the Confluence client.
        known: keys already registered (for Dagster, the space partitions).

    Returns:
        Every key to sync and the new ones. Known keys that Confluence no longer lists are not reported: their
        assets mark the space missing when they run.
    """
    keys = [space.key for space in discover_spaces(client)]
    seen = set(known)
    return SpaceDiscovery(keys=keys, new=[key for key in keys if key not in seen])


@dataclass(frozen=True)
class ChangeCheck:
    """What one change probe of a space found.

    Attributes:
        space_key: the space.
        marker: names the newest unseen edit (or pending retry), for a run key; None when nothing changed.
        reconcile_needed: Confluence's count of current pages disagrees with the store's in a way new pages do not
            explain: pages may have been deleted, archived or trashed. Only a full listing can tell which.
        total_size: Confluence's count of the space's current pages (``totalSize``), None when it sent none.
        known_current: the store's count (stored current pages plus failed ones not stored).
    """

    space_key: str
    marker: str | None
    reconcile_needed: bool
    total_size: int | None
    known_current: int

    @property
    def reconcile_marker(self) -> str | None:
        """Names the count mismatch, for a run key: the same mismatch asks once, a different one again."""
        return f"count-{self.total_size}-{self.known_current}" if self.reconcile_needed else None


def detect_changes(conn: psycopg.Connection, client: ConfluenceClient, space_key: str) -> ChangeCheck:
    """One small request: is there a page version the store lacks, and did pages disappear?

    It asks the wrapped ``rest/api/search`` (``content/search`` reports no ``totalSize``) for the space's pages,
    newest first, with versions. The first results are the latest edits, compared with the stored versions. The
    ``totalSize`` is the space's count of current pages; when it differs from the store's count by more than the
    unseen pages among the results explain, pages may have gone and a reconciliation is needed. The count alone
    never deletes anything: it only triggers the full listing. The probe's answer is recorded in ``space_checks``
    (one small row per space), the only write it makes.

    Returns:
        The change marker (the newest unseen ``lastmodified``, ISO-8601, or a retry marker for failed pages; it goes
        in the run key, so a second change to the same space gets a run of its own) and whether to reconcile.
    """
    params = {
        "cql": space_pages_cql(space_key, newest_first=True),
        "limit": client.settings.list_page_size,
        "expand": "content.version",
        # Pages of an archived space are current and synced, so they count too.
        "includeArchivedSpaces": "true",
        "excerpt": "none",
    }
    body = client.get_json("rest/api/search", params)
    items = [result.get("content") or {} for result in body.get("results", [])]
    versions = [parse_page_version(item) for item in items if item.get("type", "page") == "page"]
    # Only what the sync's own listing reaches (edited since the watermark, minus the overlap, to the minute) is a
    # change for it; an older page the store lacks (restored without a new version) takes a reconciliation.
    watermark = store.get_watermark(conn, space_key)
    cutoff = None
    if watermark is not None:
        cutoff = (watermark - timedelta(minutes=client.settings.overlap_minutes)).replace(second=0, microsecond=0)
    reachable = [v for v in versions if cutoff is None or v.when >= cutoff]
    stored = store.known_versions(conn, [v.page_id for v in versions])
    changed = [v for v in reachable if stored.get(v.page_id, (None, None)) != (v.version, "current")]
    failed = set(store.failed_page_ids(conn, space_key))
    known = store.known_current_count(conn, space_key)
    # New pages the sync is about to store explain a higher count; failed ones are already in ``known``.
    unseen = sum(1 for v in changed if stored.get(v.page_id, (None, None))[1] != "current" and v.page_id not in failed)
    total_size = _total_size(body)
    # A space never synced has nothing to reconcile: its first sync lists every page anyway.
    reconcile_needed = watermark is not None and total_size is not None and total_size != known + unseen
    if changed:
        # The newest edit names the change: a later edit to the same space gets a run key of its own.
        marker: str | None = max(v.when for v in changed).isoformat()
    else:
        # Pages that failed before are retried even when nothing new was edited; their last failure time makes the
        # marker, so each retry gets a run key of its own.
        last_failure = store.last_failure_time(conn, space_key)
        marker = f"retry-{last_failure.isoformat()}" if last_failure else None
    # The answer is recorded apart from the space's row: `status` shows it beside the last change, and the freshness
    # check counts a probe that found nothing to fetch as the store being current.
    record_space_check(conn, space_key, changes_found=marker is not None, total_size=total_size)
    return ChangeCheck(space_key, marker, reconcile_needed, total_size, known)


def count_space_pages(client: ConfluenceClient, space_key: str) -> int | None:
    """Confluence's count of the space's current pages, from one search request for a single result.

    Returns:
        The ``totalSize`` of the wrapped ``rest/api/search`` (``content/search`` reports none), or None when the
        response carries none.
    """
    params = {"cql": space_pages_cql(space_key), "limit": 1, "includeArchivedSpaces": "true", "excerpt": "none"}
    return _total_size(client.get_json("rest/api/search", params))


def _total_size(body: Any) -> int | None:
    total = body.get("totalSize") if isinstance(body, dict) else None
    return int(total) if isinstance(total, int | str) and str(total).isdigit() else None
