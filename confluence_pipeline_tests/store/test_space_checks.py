"""The change sensor's probes per space: recorded apart from the space's row, shown by status, counted as fresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from confluence_pipeline.confluence.models import SpaceRecord
from confluence_pipeline.store import pages as store
from confluence_pipeline.store.space_checks import last_confirmed, record_space_check, space_checks
from confluence_pipeline.store.status import space_status


def _space(conn: psycopg.Connection, key: str) -> None:
    with conn.transaction():
        store.upsert_space(conn, SpaceRecord(key, None, key.title(), "global", "current", None, None))


def test_a_probe_is_recorded_and_current_at_moves_only_when_nothing_changed(conn: psycopg.Connection) -> None:
    _space(conn, "ENG")
    record_space_check(conn, "ENG", changes_found=True, total_size=12)
    first = space_checks(conn)["ENG"]
    assert first.current_at is None and first.changes_found and first.total_size == 12

    record_space_check(conn, "ENG", changes_found=False, total_size=12)
    quiet = space_checks(conn, ["ENG"])["ENG"]
    assert quiet.current_at == quiet.checked_at and quiet.checked_at >= first.checked_at

    record_space_check(conn, "ENG", changes_found=True, total_size=13)
    busy = space_checks(conn, ["ENG", "OPS"])["ENG"]
    assert busy.current_at == quiet.current_at and busy.checked_at >= quiet.checked_at and busy.total_size == 13


def test_a_probe_does_not_touch_the_space_row(conn: psycopg.Connection) -> None:
    _space(conn, "ENG")
    before = conn.execute("SELECT xmin::text, updated_at FROM spaces WHERE space_key = 'ENG'").fetchone()
    record_space_check(conn, "ENG", changes_found=False)
    assert conn.execute("SELECT xmin::text, updated_at FROM spaces WHERE space_key = 'ENG'").fetchone() == before


def test_status_shows_the_last_check_beside_the_last_change(conn: psycopg.Connection) -> None:
    _space(conn, "ENG")
    _space(conn, "OPS")
    with conn.transaction():
        store.record_sync(conn, "ENG", watermark=None, seconds=1.0, pages=3, requests=2)
    [eng, ops] = space_status(conn)
    assert eng.last_sync_at and eng.last_check_at is None and ops.last_check_at is None

    record_space_check(conn, "ENG", changes_found=False)
    checked = space_checks(conn)["ENG"].checked_at
    [eng] = space_status(conn, "ENG")
    assert eng.last_check_at == checked.isoformat() and eng.last_check_at >= eng.last_sync_at

    # A later sync run that wrote nothing is only in the Dagster instance; the caller passes it in.
    later = checked + timedelta(minutes=5)
    [eng, ops] = space_status(conn, last_runs={"ENG": later, "OPS": later - timedelta(days=1)})
    assert eng.last_check_at == later.isoformat() and ops.last_check_at == (later - timedelta(days=1)).isoformat()
    assert eng.as_dict()["last_check_at"] == later.isoformat()


def test_last_confirmed_is_the_later_of_a_writing_sync_and_a_quiet_probe(conn: psycopg.Connection) -> None:
    for key in ("ENG", "OPS", "HR"):
        _space(conn, key)
    with conn.transaction():
        store.record_sync(conn, "ENG", watermark=None, seconds=1.0, pages=3, requests=2)
    conn.execute("UPDATE spaces SET last_sync_at = now() - interval '3 days' WHERE space_key = 'ENG'")
    record_space_check(conn, "OPS", changes_found=True)  # found changes: not a confirmation
    confirmed = last_confirmed(conn, ["ENG", "OPS", "HR", "NOPE"])
    assert set(confirmed) == {"ENG", "OPS", "HR"} and confirmed["OPS"] is None and confirmed["HR"] is None
    assert confirmed["ENG"] < datetime.now(UTC) - timedelta(days=2)

    record_space_check(conn, "ENG", changes_found=False)
    assert last_confirmed(conn, ["ENG"])["ENG"] == space_checks(conn)["ENG"].current_at
