"""The QTD aggregation on a known Action Log: exact counts and statuses, the Seoul quarter boundary, bad rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from confluence_pipeline.plays.actionlog import parse_action_log
from confluence_pipeline.plays.aggregate import AggregationError, aggregate_quarter, count_quarter, rag_status
from confluence_pipeline.plays.outbox import PlayEvent, enqueue_event
from confluence_pipeline.plays.quarters import Quarter
from confluence_pipeline.plays.settings import PlaySettings, RagThresholds
from confluence_pipeline.store import plays as store

from .conftest import play_settings
from .test_actionlog import table

SEOUL = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 11, 15, 12, 0, tzinfo=SEOUL)  # 45.5 of Q4's 92 days: activity pace 2.97, signal pace 0.99
Q4 = Quarter(2026, 4)
PLAYS = ["P1", "P2", "P3", "P4", "P5"]


def _rows() -> list[list[str]]:
    rows = [
        # Both sides of the quarter boundary: Seoul is 9 hours ahead of UTC.
        ["B1", "P1", "Activity", "2026-09-30 23:30"],  # Q3 in Seoul (14:30 UTC): not counted
        ["B2", "P1", "Activity", "2026-10-01 00:30"],  # Q4 in Seoul, Q3 in UTC
        ["B3", "P1", "Activity", "2026-09-30T16:30:00Z"],  # Q4 in Seoul, Q3 in UTC
        ["B4", "P1", "Activity", "2026-12-20 10:00"],  # Q4, but after NOW: not to date
        ["B5", "P1", "Activity", "2027-01-01T00:30+09:00"],  # next quarter
    ]
    rows += [["A10", "P1", "Activity", "2026-10-10 09:00"]]
    rows += [["S11", "P1", "Signal", "2026-10-20"], ["S12", "p1", "SIGNAL", "2026-11-02"]]
    rows += [[f"A2{i}", "P2", "activity", f"2026-11-0{1 + i}"] for i in range(4)]
    rows += [["M21", "P2", "Meeting note", "2026-11-03"], ["BR21", "P2", "Brief", "2026-11-04"]]
    rows += [["A31", "P3", "Activity", "2026-10-05"]] + [[f"S3{i}", "P3", "Signal", "2026-10-06"] for i in range(3)]
    rows += [["V41", "P4", "S2", "2026-11-10 18:00"], ["X91", "P9", "Activity", "2026-11-01"]]
    rows += [["X92", "P9", "Signal", "2026-11-01"], ["", "", "", ""], ["BAD", "P2", "Activity", "31/10/2026"]]
    return rows


LOG = table(["created_at", "Action_Type", "log_id", "Play_ID"], [[r[3], r[2], r[0], r[1]] for r in _rows()])
PLAY_DB = table(["Play_ID", "Activity_QTD", "Status"], [[p, "0", "Amber"] for p in PLAYS])


def _counts(timezone: str = "Asia/Seoul", now: datetime = NOW) -> dict[str, dict[str, object]]:
    settings = PlaySettings(timezone=timezone)
    log = parse_action_log(LOG, settings.tz)
    result = count_quarter(log.frame, PLAYS, Q4, now, settings)
    return {str(k): v for k, v in result.stats.to_dict("index").items()}


def test_exact_counts_and_statuses_in_seoul() -> None:
    counts = _counts()
    assert counts == {
        "P1": {"activity": 3, "signal": 2, "brief": 0, "s2": 0, "s3": 0, "status": "Green"},
        "P2": {"activity": 4, "signal": 0, "brief": 1, "s2": 0, "s3": 0, "status": "Amber"},
        "P3": {"activity": 1, "signal": 3, "brief": 0, "s2": 0, "s3": 0, "status": "Red"},
        "P4": {"activity": 0, "signal": 0, "brief": 0, "s2": 1, "s3": 0, "status": "Green"},
        "P5": {"activity": 0, "signal": 0, "brief": 0, "s2": 0, "s3": 0, "status": "Red"},
    }


def test_the_quarter_boundary_follows_the_time_zone() -> None:
    # Read in UTC, B3 (16:30 UTC on 30 September) falls in Q3: P1 has 2 activities, below its pace, so Amber.
    # (B2 has no offset: it is read in the configured zone, and is Q4 in both.)
    assert _counts("UTC")["P1"] == {"activity": 2, "signal": 2, "brief": 0, "s2": 0, "s3": 0, "status": "Amber"}


def test_left_out_rows_are_counted_and_named() -> None:
    settings = PlaySettings()
    log = parse_action_log(LOG, settings.tz)
    result = count_quarter(log.frame, PLAYS, Q4, NOW, settings)
    assert result.rows_counted == 3 + 2 + 5 + 4 + 1
    assert result.future_rows == 1 and result.outside_quarter == 2
    assert result.unknown_plays == {"P9": 2}
    assert result.other_types == {"Meeting note": 1}
    assert [str(p) for p in log.problems] == [
        "row 23 (BAD): created_at '31/10/2026' is not a date (write YYYY-MM-DD or YYYY-MM-DD HH:MM)"
    ]
    assert log.blank_rows == [22]


def test_grace_days_and_a_finished_quarter() -> None:
    early = datetime(2026, 10, 5, 9, 0, tzinfo=SEOUL)
    assert _counts(now=early)["P5"]["status"] == "Amber"  # nothing logged yet, but the quarter just began
    settings = PlaySettings()
    done = datetime(2027, 2, 1, tzinfo=SEOUL)  # Q4 judged in full: 6 activities and 2 signals for Green
    assert rag_status({"activity": 6, "signal": 2}, Q4, done, settings) == "Green"
    assert rag_status({"activity": 12, "signal": 1}, Q4, done, settings) == "Amber"
    assert rag_status({"activity": 3, "signal": 9}, Q4, done, settings) == "Amber"
    assert rag_status({"activity": 2, "signal": 9}, Q4, done, settings) == "Red"
    assert rag_status({"activity": 0, "s3": 1}, Q4, done, settings) == "Green"
    strict = PlaySettings(rag=RagThresholds(activity_target=24, signal_target=6, red_below=0.75))
    assert rag_status({"activity": 12, "signal": 6}, Q4, done, strict) == "Red"


def store_page(conn: psycopg.Connection, page_id: str, title: str, body: str, version: int = 1) -> None:
    """Put a page where the sync would have stored it."""
    conn.execute(
        """INSERT INTO spaces (space_key, name, space_type, status) VALUES ('PLAY', 'Plays', 'global', 'current')
           ON CONFLICT DO NOTHING"""
    )
    conn.execute(
        """INSERT INTO pages (page_id, space_key, title, status, version_number, version_at, path, body_storage,
                              content_hash)
           VALUES (%s, 'PLAY', %s, 'current', %s, now(), '/', %s, 'x')
           ON CONFLICT (page_id) DO UPDATE SET body_storage = EXCLUDED.body_storage,
                                               version_number = EXCLUDED.version_number""",
        (page_id, title, version, body),
    )


def test_aggregate_quarter_reads_the_stored_pages_and_keeps_a_history(conn: psycopg.Connection) -> None:
    settings = play_settings()
    with pytest.raises(AggregationError, match=r"Action Log page 786433 is not stored.*sync the page's space"):
        aggregate_quarter(conn, settings, Q4, NOW)
    store_page(conn, settings.action_log_page_id, "Action Log", LOG)
    store_page(conn, settings.play_db_page_id, "Play DB", PLAY_DB)

    result = aggregate_quarter(conn, settings, None, NOW, run_id="run-1")
    assert result.quarter == Q4 and result.as_of.isoformat() == "2026-11-15"
    assert result.status_counts() == {"Green": 2, "Amber": 1, "Red": 2}
    meta = result.metadata()
    assert meta["malformed_rows"] == 1 and "row 23 (BAD)" in meta["malformed"]
    assert meta["blank_rows"] == 1 and meta["blank_row_numbers"] == "22"
    assert meta["unknown_plays"] == "P9 (2)" and meta["other_action_types"] == "Meeting note (1)"
    assert meta["action_log_rows"] == 23 and meta["stored_rows"] == 5
    assert "| P3     |          1 |        3 |" in meta["preview"]
    as_of, rows = store.latest_qtd_stats(conn, "2026Q4")
    assert as_of == result.as_of and [(r.play_id, r.activity, r.status) for r in rows][:2] == [
        ("P1", 3, "Green"),
        ("P2", 4, "Amber"),
    ]

    # An event not in the log yet counts (pilot.started is an S3); one whose row the log holds does not count twice.
    enqueue_event(conn, PlayEvent("pilot.started", "P2", "Pilot at ACME", occurred_at=NOW - timedelta(days=1)))
    enqueue_event(conn, PlayEvent("activity.created", "P3", "Call", event_id="A31", occurred_at=NOW))
    again = aggregate_quarter(conn, settings, Q4, NOW, run_id="run-2")
    assert again.outbox_events == 1
    assert again.stats.loc["P2", "s3"] == 1 and again.stats.loc["P2", "status"] == "Green"
    assert again.stats.loc["P3", "activity"] == 1
    assert len(store.latest_qtd_stats(conn, "2026Q4")[1]) == 5  # same day: the snapshot was replaced

    aggregate_quarter(conn, settings, Q4, NOW + timedelta(days=7), run_id="run-3")
    history = store.qtd_history(conn, "2026Q4", "P3")
    assert [(day.isoformat(), row.status) for day, row in history] == [("2026-11-15", "Red"), ("2026-11-22", "Red")]


def test_a_quarter_that_has_not_started_is_refused(conn: psycopg.Connection) -> None:
    with pytest.raises(AggregationError, match="2027Q1 has not started"):
        aggregate_quarter(conn, play_settings(), Quarter(2027, 1), NOW)


def test_quarters_parse_and_bound_in_a_zone() -> None:
    assert Quarter.parse("2026Q4") == Quarter.parse(" 2026-q4 ") == Q4
    with pytest.raises(ValueError, match="YYYYQn"):
        Quarter.parse("Q4 2026")
    assert Q4.start(SEOUL).isoformat() == "2026-10-01T00:00:00+09:00"
    assert Q4.end(SEOUL).isoformat() == "2027-01-01T00:00:00+09:00"
    assert Quarter.of(datetime.fromisoformat("2026-09-30T16:30:00+00:00"), SEOUL) == Q4
    assert Quarter.of(datetime.fromisoformat("2026-09-30T16:30:00+00:00"), ZoneInfo("UTC")) == Quarter(2026, 3)
