"""CQL for the sync: validated space keys, site-time-zone dates at minute precision, overlap windows."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Global keys are letters/digits (Cloud also allows '_'); personal keys are '~' + a username or an accountId,
# which may hold ':', '-', '.', '@'. Nothing else, so a key can never close the quotes and inject CQL.
_SPACE_KEY = re.compile(r"^~?[A-Za-z0-9_][A-Za-z0-9_.:@\-]{0,254}$")
_PAGE_ID = re.compile(r"^[0-9]{1,20}$")


class InvalidSpaceKey(ValueError):
    """A space key that cannot be a Confluence space key."""


def validate_space_key(key: str) -> str:
    """Return ``key`` if it is a well-formed space key.

    Raises:
        InvalidSpaceKey: the key holds characters no Confluence key has (quotes, spaces, operators …).
    """
    if not isinstance(key, str) or not _SPACE_KEY.fullmatch(key):
        raise InvalidSpaceKey(
            f"{key!r} is not a valid Confluence space key (letters, digits and '_', or '~user' for personal "
            "spaces). Fix the key in CONFLUENCE_SPACES or the partition name."
        )
    return key


def quote(value: str) -> str:
    """Quote a CQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def resolve_timezone(name: str | None) -> ZoneInfo:
    """Return the IANA zone ``name`` (UTC when None).

    Raises:
        ValueError: unknown zone, naming CONFLUENCE_TIMEZONE.
    """
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"CONFLUENCE_TIMEZONE={name!r} is not an IANA time zone (e.g. Europe/Berlin)") from None


def format_cql_datetime(instant: datetime, zone: ZoneInfo) -> str:
    """Write ``instant`` as a CQL date in ``zone``, floored to the minute (CQL's precision)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def changed_pages_cql(space_key: str, since: datetime | None, zone: ZoneInfo, overlap: timedelta) -> str:
    """CQL for pages of a space modified since ``since`` minus ``overlap``, oldest first.

    Flooring to the minute and subtracting the overlap means an edit made in the same minute as the last sync, or
    hidden by clock skew, is listed again; the caller dedupes by (page id, version). The sync lists oldest first,
    so pages edited while it pages through move behind it rather than out of reach.
    """
    clauses = [f"space = {quote(validate_space_key(space_key))}", "type = page"]
    if since is not None:
        clauses.append(f"lastmodified >= {quote(format_cql_datetime(since - overlap, zone))}")
    return " AND ".join(clauses) + " ORDER BY lastmodified ASC"


def space_pages_cql(space_key: str, *, newest_first: bool = False) -> str:
    """CQL for every page of a space: CQL matches current pages only, so Confluence's count of it is the space's.

    Oldest first by creation (a full listing: pages created while it pages through land behind it), or newest
    first by ``lastmodified`` (a change probe: the first results are the latest edits).
    """
    order = "lastmodified DESC" if newest_first else "created ASC"
    return f"space = {quote(validate_space_key(space_key))} AND type = page ORDER BY {order}"


def pages_by_id_cql(page_ids: Iterable[str]) -> str:
    """CQL selecting pages by id, for fetching bodies in batches.

    Raises:
        ValueError: an id is not numeric.
    """
    ids = list(page_ids)
    for page_id in ids:
        if not _PAGE_ID.fullmatch(page_id):
            raise ValueError(f"{page_id!r} is not a Confluence page id")
    return f"id IN ({', '.join(ids)})"
