"""Reads and writes of Play tracking: QTD figures, the page-write audit, and the event outbox (no HTTP, no Dagster)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import class_row, dict_row
from psycopg.types.json import Jsonb

COUNT_FIELDS = ("activity", "signal", "brief", "s2", "s3")


@dataclass(frozen=True, slots=True)
class StoredPage:
    """A page as the last sync stored it."""

    page_id: str
    title: str
    version_number: int
    body_storage: str
    status: str


@dataclass(frozen=True, slots=True)
class StatRow:
    """One Play's quarter-to-date figures and status."""

    play_id: str
    activity: int
    signal: int
    brief: int
    s2: int
    s3: int
    status: str

    def counts(self) -> dict[str, int]:
        """The five figures by name."""
        return {name: getattr(self, name) for name in COUNT_FIELDS}


@dataclass(frozen=True, slots=True)
class EventData:
    """What an outbox event says (columns of ``play_events``), shared by the records below."""

    event_id: str
    event_type: str
    play_id: str
    title: str
    url: str | None
    actor: str | None
    payload: dict[str, Any]
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class EventRecord(EventData):
    """An outbox event with its state."""

    seq: int
    created_at: datetime
    status: str
    synced_at: datetime | None
    attempts: int
    last_error: str | None
    last_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class OpenWrite(EventData):
    """A page write of an event that is not synced yet, with the event's data."""

    event_seq: int
    step: int
    target: str
    page_key: str
    status: str
    attempts: int
    next_attempt_at: datetime | None


def stored_page(conn: psycopg.Connection, page_id: str) -> StoredPage | None:
    """The stored copy of a page, or None when the sync has not stored it."""
    with conn.cursor(row_factory=class_row(StoredPage)) as cur:
        return cur.execute(
            "SELECT page_id, title, version_number, body_storage, status FROM pages WHERE page_id = %s", (page_id,)
        ).fetchone()


def save_qtd_stats(
    conn: psycopg.Connection,
    quarter: str,
    as_of: date,
    rows: Iterable[StatRow],
    *,
    computed_at: datetime,
    run_id: str | None,
) -> int:
    """Store a run's figures as the (quarter, Play, day) snapshot; a second run on the same day replaces it.

    Returns:
        The number of rows written.
    """
    params = [
        (quarter, r.play_id, as_of, r.activity, r.signal, r.brief, r.s2, r.s3, r.status, computed_at, run_id)
        for r in rows
    ]
    if not params:
        return 0
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO play_qtd_stats
                   (quarter, play_id, as_of, activity, signal, brief, s2, s3, status, computed_at, run_id)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (quarter, play_id, as_of) DO UPDATE SET
                   activity = EXCLUDED.activity, signal = EXCLUDED.signal, brief = EXCLUDED.brief,
                   s2 = EXCLUDED.s2, s3 = EXCLUDED.s3, status = EXCLUDED.status,
                   computed_at = EXCLUDED.computed_at, run_id = EXCLUDED.run_id""",
            params,
        )
    return len(params)


def latest_qtd_stats(conn: psycopg.Connection, quarter: str) -> tuple[date | None, list[StatRow]]:
    """The newest snapshot of a quarter: its day and its rows (ordered by Play id)."""
    row = conn.execute("SELECT max(as_of) FROM play_qtd_stats WHERE quarter = %s", (quarter,)).fetchone()
    as_of = row[0] if row else None
    if as_of is None:
        return None, []
    with conn.cursor(row_factory=class_row(StatRow)) as cur:
        rows = cur.execute(
            """SELECT play_id, activity, signal, brief, s2, s3, status FROM play_qtd_stats
               WHERE quarter = %s AND as_of = %s ORDER BY play_id""",
            (quarter, as_of),
        ).fetchall()
    return as_of, rows


def qtd_history(conn: psycopg.Connection, quarter: str, play_id: str) -> list[tuple[date, StatRow]]:
    """Every snapshot of one Play in a quarter, oldest first."""
    rows = conn.execute(
        """SELECT as_of, play_id, activity, signal, brief, s2, s3, status FROM play_qtd_stats
           WHERE quarter = %s AND play_id = %s ORDER BY as_of""",
        (quarter, play_id),
    ).fetchall()
    return [(r[0], StatRow(*r[1:])) for r in rows]


def record_page_write(
    conn: psycopg.Connection,
    *,
    page_id: str,
    page_title: str,
    kind: str,
    source: str | None,
    outcome: str,
    version_before: int | None,
    version_after: int | None,
    changes: Sequence[dict[str, Any]] = (),
    quarter: str | None = None,
) -> int:
    """Add a row to the audit of page writes; returns its id."""
    row = conn.execute(
        """INSERT INTO play_page_writes
               (page_id, page_title, kind, source, quarter, outcome, version_before, version_after, changes)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (page_id, page_title, kind, source, quarter, outcome, version_before, version_after, Jsonb(list(changes))),
    ).fetchone()
    assert row is not None
    return int(row[0])


def page_writes(conn: psycopg.Connection, page_id: str | None = None) -> list[dict[str, Any]]:
    """The audit rows (of one page, or all), oldest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        if page_id is None:
            return cur.execute("SELECT * FROM play_page_writes ORDER BY id").fetchall()
        return cur.execute("SELECT * FROM play_page_writes WHERE page_id = %s ORDER BY id", (page_id,)).fetchall()


# --- outbox ---------------------------------------------------------------------------------------------------------


def insert_event(
    conn: psycopg.Connection,
    *,
    event_id: str,
    event_type: str,
    play_id: str,
    title: str,
    url: str | None,
    actor: str | None,
    payload: dict[str, Any],
    occurred_at: datetime,
    writes: Sequence[tuple[str, str]],
) -> bool:
    """Add an event and its page writes (``(target, page_key)`` in order) in one transaction.

    Returns:
        False when an event with this id is in the outbox already (nothing changes then).
    """
    with conn.transaction():
        row = conn.execute(
            """INSERT INTO play_events (event_id, event_type, play_id, title, url, actor, payload, occurred_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (event_id) DO NOTHING RETURNING seq""",
            (event_id, event_type, play_id, title, url, actor, Jsonb(payload), occurred_at),
        ).fetchone()
        if row is None:
            return False
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO play_event_writes (event_seq, step, target, page_key) VALUES (%s, %s, %s, %s)",
                [(row[0], step, target, key) for step, (target, key) in enumerate(writes)],
            )
    return True


def open_writes(conn: psycopg.Connection, limit: int = 10_000) -> list[OpenWrite]:
    """Writes not synced yet, in event order (then step order)."""
    with conn.cursor(row_factory=class_row(OpenWrite)) as cur:
        return cur.execute(
            """SELECT w.event_seq, w.step, w.target, w.page_key, w.status, w.attempts, w.next_attempt_at,
                      e.event_id, e.event_type, e.play_id, e.title, e.url, e.actor, e.payload, e.occurred_at
               FROM play_event_writes w JOIN play_events e ON e.seq = w.event_seq
               WHERE w.status <> 'synced'
               ORDER BY w.event_seq, w.step
               LIMIT %s""",
            (limit,),
        ).fetchall()


def mark_write_synced(
    conn: psycopg.Connection, seq: int, step: int, *, attempts: int, page_id: str, version_after: int | None
) -> None:
    """Record a write as applied (``attempts`` tries were made this time), and update its event's status."""
    with conn.transaction():
        conn.execute(
            """UPDATE play_event_writes SET status = 'synced', attempts = attempts + %s, last_attempt_at = now(),
                      synced_at = now(), next_attempt_at = NULL, page_id = %s, version_after = %s
               WHERE event_seq = %s AND step = %s""",
            (attempts, page_id, version_after, seq, step),
        )
        _refresh_event(conn, seq)


def mark_write_failed(
    conn: psycopg.Connection, seq: int, step: int, *, attempts: int, error: str, next_attempt_at: datetime
) -> None:
    """Record failed tries of a write and when a later tick may try again, and update its event's status."""
    with conn.transaction():
        conn.execute(
            """UPDATE play_event_writes SET status = 'failed', attempts = attempts + %s, last_error = %s,
                      last_attempt_at = now(), next_attempt_at = %s
               WHERE event_seq = %s AND step = %s""",
            (attempts, error[:2000], next_attempt_at, seq, step),
        )
        _refresh_event(conn, seq)


def _refresh_event(conn: psycopg.Connection, seq: int) -> None:
    conn.execute(
        """UPDATE play_events e SET
               status = s.status,
               synced_at = CASE WHEN s.status = 'synced' THEN coalesce(e.synced_at, now()) END
           FROM (SELECT CASE WHEN bool_and(status = 'synced') THEN 'synced'
                             WHEN bool_or(status = 'failed') THEN 'failed'
                             ELSE 'pending' END AS status
                 FROM play_event_writes WHERE event_seq = %s) s
           WHERE e.seq = %s""",
        (seq, seq),
    )


_EVENT_SELECT = """SELECT e.seq, e.event_id, e.event_type, e.play_id, e.title, e.url, e.actor, e.payload,
                          e.occurred_at, e.created_at, e.status, e.synced_at,
                          coalesce(sum(w.attempts), 0)::int AS attempts,
                          (array_agg(w.last_error ORDER BY w.last_attempt_at DESC NULLS LAST)
                              FILTER (WHERE w.last_error IS NOT NULL AND w.status <> 'synced'))[1] AS last_error,
                          max(w.last_attempt_at) AS last_attempt_at
                   FROM play_events e LEFT JOIN play_event_writes w ON w.event_seq = e.seq"""


def list_events(conn: psycopg.Connection, status: str | None = None, limit: int = 100) -> list[EventRecord]:
    """Events (all, or with one status), oldest first."""
    where = "WHERE e.status = %s" if status else ""
    params: tuple[Any, ...] = (status, limit) if status else (limit,)
    with conn.cursor(row_factory=class_row(EventRecord)) as cur:
        return cur.execute(f"{_EVENT_SELECT} {where} GROUP BY e.seq ORDER BY e.seq LIMIT %s", params).fetchall()


def get_event(conn: psycopg.Connection, event_id: str) -> EventRecord | None:
    """One event by its id."""
    with conn.cursor(row_factory=class_row(EventRecord)) as cur:
        return cur.execute(f"{_EVENT_SELECT} WHERE e.event_id = %s GROUP BY e.seq", (event_id,)).fetchone()


def event_counts(conn: psycopg.Connection) -> dict[str, int]:
    """Events per status (pending, failed, synced; zero when none)."""
    counts = dict.fromkeys(("pending", "failed", "synced"), 0)
    for status, count in conn.execute("SELECT status, count(*) FROM play_events GROUP BY status"):
        counts[status] = int(count)
    return counts


def oldest_unsynced(conn: psycopg.Connection) -> EventRecord | None:
    """The oldest event that is not synced (pending or failed)."""
    with conn.cursor(row_factory=class_row(EventRecord)) as cur:
        return cur.execute(
            f"{_EVENT_SELECT} WHERE e.status <> 'synced' GROUP BY e.seq ORDER BY e.seq LIMIT 1"
        ).fetchone()


def last_error(conn: psycopg.Connection) -> tuple[str, str, datetime] | None:
    """The newest error of a write that is still not synced: (event id, error, when)."""
    row = conn.execute(
        """SELECT e.event_id, w.last_error, w.last_attempt_at
           FROM play_event_writes w JOIN play_events e ON e.seq = w.event_seq
           WHERE w.status <> 'synced' AND w.last_error IS NOT NULL
           ORDER BY w.last_attempt_at DESC, w.event_seq DESC LIMIT 1"""
    ).fetchone()
    return (row[0], row[1], row[2]) if row else None


def retry_event(conn: psycopg.Connection, event_id: str) -> int | None:
    """Make an event's failed writes due now (their attempts are kept).

    Returns:
        How many writes were made due, or None when there is no such event.
    """
    with conn.transaction():
        row = conn.execute("SELECT seq FROM play_events WHERE event_id = %s", (event_id,)).fetchone()
        if row is None:
            return None
        updated = conn.execute(
            """UPDATE play_event_writes SET status = 'pending', next_attempt_at = NULL
               WHERE event_seq = %s AND status = 'failed'""",
            (row[0],),
        ).rowcount
        _refresh_event(conn, row[0])
    return updated


def counted_events(
    conn: psycopg.Connection, event_types: Sequence[str], *, up_to_seq: int | None = None
) -> list[tuple[str, str, str, datetime]]:
    """(event id, type, Play id, when) of the outbox events of the given types, whatever their state.

    Args:
        conn: the database.
        event_types: the types to return.
        up_to_seq: only events that arrived no later than this one (the state of the Plays "as of" an event).
    """
    rows = conn.execute(
        """SELECT event_id, event_type, play_id, occurred_at FROM play_events
           WHERE event_type = ANY(%s) AND (%s::bigint IS NULL OR seq <= %s) ORDER BY seq""",
        (list(event_types), up_to_seq, up_to_seq),
    ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]
