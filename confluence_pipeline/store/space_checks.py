"""The change sensor's probes per space: when Confluence was last asked, and when the store was last found current.

A space's ``last_sync_at`` moves only when a sync wrote something, so on a quiet space it stays old while the sensor
keeps confirming that nothing changed. These rows record those confirmations: ``status`` shows them beside the last
change, and the freshness check counts a confirmation as fresh data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import psycopg


@dataclass(frozen=True)
class SpaceCheck:
    """The last probe of one space.

    Attributes:
        space_key: the space.
        checked_at: when Confluence last answered a probe of the space.
        current_at: when a probe last found the store current (nothing to fetch); None: never.
        total_size: Confluence's count of the space's current pages at ``checked_at``, if it sent one.
        changes_found: whether the last probe found page versions the store lacks (or failed pages to retry).
    """

    space_key: str
    checked_at: datetime
    current_at: datetime | None
    total_size: int | None
    changes_found: bool


def record_space_check(
    conn: psycopg.Connection, space_key: str, *, changes_found: bool, total_size: int | None = None
) -> None:
    """Record a successful probe of a space (one small upsert; ``current_at`` moves only when nothing changed).

    Args:
        conn: a connection to the pipeline database.
        space_key: the space probed.
        changes_found: the probe found page versions the store lacks, or failed pages to retry.
        total_size: Confluence's count of the space's current pages, if the probe got one.
    """
    conn.execute(
        """INSERT INTO space_checks (space_key, checked_at, current_at, total_size, changes_found)
           VALUES (%(space)s, now(), CASE WHEN %(changed)s THEN NULL ELSE now() END, %(total)s, %(changed)s)
           ON CONFLICT (space_key) DO UPDATE SET
               checked_at = excluded.checked_at,
               current_at = COALESCE(excluded.current_at, space_checks.current_at),
               total_size = excluded.total_size,
               changes_found = excluded.changes_found""",
        {"space": space_key, "changed": changes_found, "total": total_size},
    )


def space_checks(conn: psycopg.Connection, space_keys: Iterable[str] | None = None) -> dict[str, SpaceCheck]:
    """The last probe of each space (of ``space_keys``, or of every space probed so far)."""
    keys = None if space_keys is None else sorted(set(space_keys))
    rows = conn.execute(
        """SELECT space_key, checked_at, current_at, total_size, changes_found FROM space_checks
           WHERE %(keys)s::text[] IS NULL OR space_key = ANY(%(keys)s::text[])""",
        {"keys": keys},
    ).fetchall()
    return {row[0]: SpaceCheck(*row) for row in rows}


def last_confirmed(conn: psycopg.Connection, space_keys: Iterable[str]) -> dict[str, datetime | None]:
    """When each space's store was last known to match Confluence, as far as this database knows.

    The later of the last sync that wrote something (``spaces.last_sync_at``) and the last probe that found nothing to
    fetch (``space_checks.current_at``). An idle sync run writes nothing here; the Dagster instance knows when it ran.

    Args:
        conn: a connection to the pipeline database.
        space_keys: the spaces.

    Returns:
        Each tracked space of ``space_keys`` and its time (None: never synced nor found current).
    """
    rows = conn.execute(
        """SELECT s.space_key, GREATEST(s.last_sync_at, k.current_at)
           FROM spaces s LEFT JOIN space_checks k USING (space_key)
           WHERE s.space_key = ANY(%s::text[])""",
        (sorted(set(space_keys)),),
    ).fetchall()
    return {row[0]: row[1] for row in rows}
