"""The outbox against the sandbox: routing, order per page, outages, lost responses, and a truthful status."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.plays import outbox
from confluence_pipeline.plays.outbox import EventError, PlayEvent, drain_outbox, enqueue_event, outbox_status
from confluence_pipeline.store import plays as store
from confluence_sandbox import SandboxServer
from confluence_sandbox import plays as sandbox_plays

from .conftest import NOW, page_body, play_settings, writes

LOG = sandbox_plays.ACTION_LOG_PAGE_ID
PLAY_DB = sandbox_plays.PLAY_DB_PAGE_ID
LIVE = sandbox_plays.live_doc_ids()


def _event(n: int, play: str = "EXT_Desk_D02", kind: str = "activity.created", **extra: object) -> PlayEvent:
    when = NOW - timedelta(minutes=60 - n)
    return PlayEvent(kind, play, f"Event {n} for {play}", event_id=f"ev-{n:02d}", occurred_at=when, **extra)  # type: ignore[arg-type]


def _log_ids(server: SandboxServer) -> list[str]:
    return re.findall(r"<tr><td><p>(ev-\d\d)</p></td>", page_body(server, LOG))


def _entries(server: SandboxServer, play: str) -> list[str]:
    return re.findall(r">event-(ev-\d\d)</ac:parameter>", page_body(server, LIVE[play]))


def _status(conn: psycopg.Connection) -> tuple[int, int, int]:
    status = outbox_status(conn)
    return status.pending, status.failed, status.synced


@pytest.fixture
def drain(conn: psycopg.Connection, play_client: ConfluenceClient):
    def run(client: ConfluenceClient | None = None, **overrides: object) -> outbox.DrainResult:
        settings = play_settings(**overrides)
        return drain_outbox(conn, client or play_client, settings, now=NOW, sleep=lambda _s: None)

    return run


def test_enqueue_validates_and_the_same_event_twice_is_a_no_op(conn: psycopg.Connection) -> None:
    event = PlayEvent("brief.created", "EXT_Desk_D03", "Brief: ACME", url="https://crm.example.com/b/1")
    assert enqueue_event(conn, event, now=NOW) is True
    assert enqueue_event(conn, event, now=NOW + timedelta(hours=1)) is False  # same content, same derived id
    [record] = outbox.list_events(conn)
    assert record.event_id.startswith("brief-") and record.status == "pending" and record.occurred_at == NOW
    targets = conn.execute("SELECT target, page_key FROM play_event_writes ORDER BY step").fetchall()
    assert targets == [
        ("action_log_row", "action_log"),
        ("live_doc_append", "live_doc:ext_desk_d03"),
        ("play_db_refresh", "play_db"),
    ]
    for bad, message in [
        (PlayEvent("deal.won", "EXT_Desk_D03", "x"), "unknown event type 'deal.won'"),
        (PlayEvent("activity.created", "EXT Desk", "x"), "is not a Play id"),
        (PlayEvent("activity.created", "EXT_Desk_D03", "  "), "needs a title"),
        (PlayEvent("activity.created", "EXT_Desk_D03", "x", url="crm/1"), "not an http"),
        (PlayEvent("signal.scored", "EXT_Desk_D03", "x", payload={"score": "high"}), "numeric score"),
    ]:
        with pytest.raises(EventError, match=message):
            enqueue_event(conn, bad)
    assert _status(conn) == (1, 0, 0)


def test_every_route_is_applied_once_in_order(
    play_server: SandboxServer, conn: psycopg.Connection, sync_plays, drain
) -> None:
    sync_plays()
    play = "EXT_Desk_D02"
    events = [
        _event(1, play, "signal.created"),
        _event(2, play, "activity.created", url="https://crm.example.com/a/2", actor="Alice Kim"),
        _event(3, play, "signal.scored", payload={"score": 0.8, "signal": "ev-01"}),
        _event(4, play, "brief.created"),
        _event(5, play, "validation.completed"),
        _event(6, play, "pilot.started"),
    ]
    for event in events:
        assert enqueue_event(conn, event)
    db_before = page_body(play_server, PLAY_DB)
    result = drain()
    assert (
        result.failed == 0 and result.stopped is None and sorted(result.events_synced) == [e.event_id for e in events]
    )
    assert _status(conn) == (0, 0, 6)
    assert _log_ids(play_server) == ["ev-01", "ev-02", "ev-04"]  # rows for activity, signal and brief only
    assert _entries(play_server, play) == ["ev-01", "ev-03", "ev-02", "ev-04", "ev-05", "ev-06"]
    live = page_body(play_server, LIVE[play])
    scored = r'>event-ev-01</ac:parameter>.*?· score 0.8<ac:structured-macro[^>]*><ac:parameter ac:name="">event-ev-03<'
    assert re.search(scored, live)
    assert live.index("event-ev-06") < live.index("<h2") + live[live.index("<h2") :].index("Open questions")
    row = next(r for r in re.findall(r"<tr>.*?</tr>", page_body(play_server, PLAY_DB)) if f"<p>{play}</p>" in r)
    old = next(r for r in re.findall(r"<tr>.*?</tr>", db_before) if f"<p>{play}</p>" in r)
    assert row != old and 'ac:name="title">Green<' in row  # S2 and S3 this quarter: Green
    audit = store.page_writes(conn)
    assert {(a["source"], a["kind"]) for a in audit} >= {("ev-04", "play_db_refresh"), ("ev-06", "play_db_s3")}

    writes_before = len(store.page_writes(conn))
    play_server.reset_stats()
    again = drain()
    assert (again.written, again.already_applied, again.failed) == (0, 0, 0) and play_server.stats()["total"] == 0
    assert len(store.page_writes(conn)) == writes_before


def test_confluence_stopped_for_a_while_then_back_applies_everything_once_in_order(
    play_server: SandboxServer, conn: psycopg.Connection, sync_plays, drain
) -> None:
    sync_plays()
    corpus, port = play_server.corpus, play_server.port
    play_server.stop()
    plays = ["EXT_Desk_D02", "EXT_Field_F01"]
    for n in range(1, 9):
        enqueue_event(conn, _event(n, plays[n % 2], "activity.created" if n % 3 else "signal.created"))
    assert _status(conn) == (8, 0, 0)
    assert outbox_status(conn).oldest_unsynced.event_id == "ev-01"

    for tick in range(2):
        down = drain()
        assert down.stopped and "Confluence unavailable" in down.stopped
        assert (down.written, down.failed) == (0, 1)  # the first write failed its tries; the rest stayed queued
        status = outbox_status(conn)
        assert (status.pending, status.failed, status.synced) == (7, 1, 0)
        assert status.oldest_unsynced.event_id == "ev-01" and status.last_error[0] == "ev-01"
        assert "ConfluenceUnavailable" in status.last_error[1]
        attempts = conn.execute("SELECT attempts FROM play_event_writes WHERE event_seq = 1 AND step = 0").fetchone()
        assert attempts == (3 * (tick + 1),)  # three tries per tick

    server = SandboxServer(corpus, port=port).start()
    try:
        back = drain()
        assert back.stopped is None and back.failed == 0 and back.written == 16
        assert _status(conn) == (0, 0, 8)
        status = outbox_status(conn)
        assert status.oldest_unsynced is None and status.last_error is None
        assert _log_ids(server) == [f"ev-{n:02d}" for n in range(1, 9)]
        assert _entries(server, "EXT_Field_F01") == ["ev-01", "ev-03", "ev-05", "ev-07"]
        assert _entries(server, "EXT_Desk_D02") == ["ev-02", "ev-04", "ev-06", "ev-08"]
        assert drain().written == 0
    finally:
        server.stop()


def test_a_hundred_percent_error_rate_then_recovery(
    play_server: SandboxServer, conn: psycopg.Connection, sync_plays, drain
) -> None:
    sync_plays()
    log_before = page_body(play_server, LOG)
    for n in range(1, 5):
        enqueue_event(conn, _event(n))
    play_server.set_faults(error_rate=1.0)
    down = drain()
    assert down.stopped and down.failed == 1 and _status(conn) == (3, 1, 0)
    assert page_body(play_server, LOG) == log_before
    play_server.reset_faults()
    back = drain()
    assert back.failed == 0 and _status(conn) == (0, 0, 4)
    assert _log_ids(play_server) == ["ev-01", "ev-02", "ev-03", "ev-04"]


@pytest.mark.parametrize(
    ("request_retries", "attempts", "where"),
    [(1, 3, "client retry"), (0, 3, "outbox try"), (0, 1, "next tick")],
)
def test_a_write_whose_response_is_lost_is_not_applied_twice(
    play_server: SandboxServer,
    conn: psycopg.Connection,
    sync_plays,
    drain,
    request_retries: int,
    attempts: int,
    where: str,
) -> None:
    sync_plays()
    enqueue_event(conn, _event(1))
    play_server.set_faults(drop_write_responses=1)  # the Action Log row is written, the client never hears of it
    play_server.reset_stats()
    first = drain(request_retries=request_retries, outbox_attempts=attempts)
    assert play_server.stats()["faults"] == {"response_dropped": 1}
    puts = play_server.stats()["by_endpoint_status"]["PUT /rest/api/content/{id}"]
    if where == "client retry":
        # Retried at once with the same version: 409, re-read, the row is there: nothing more to write.
        assert puts == {"200": 2, "409": 1}
    if where == "next tick":
        # The only try failed like a network outage: the tick stops, the status says so, the next tick finds the
        # row on the page and writes only the Live doc.
        assert (first.written, first.failed) == (0, 1) and first.stopped and _status(conn) == (0, 1, 0)
        assert "network error" in outbox_status(conn).last_error[1]
        play_server.reset_stats()
        first = drain(request_retries=request_retries, outbox_attempts=attempts)
        assert play_server.stats()["by_endpoint"] == {"GET /rest/api/content/{id}": 2, "PUT /rest/api/content/{id}": 1}
    else:
        assert puts["200"] == 2  # the Action Log (dropped) and the Live doc, nothing more
    assert (first.already_applied, first.failed) == (1, 0)
    assert _log_ids(play_server) == ["ev-01"]
    assert _status(conn) == (0, 0, 1)
    outcomes = [(a["kind"], a["outcome"]) for a in store.page_writes(conn)]
    assert sorted(outcomes) == [("action_log_row", "already_applied"), ("live_doc_append", "written")]


def test_one_broken_page_holds_up_only_its_own_writes(
    play_server: SandboxServer, conn: psycopg.Connection, sync_plays, drain
) -> None:
    sync_plays()
    enqueue_event(conn, _event(1, "EXT_Desk_D02"))
    enqueue_event(conn, _event(2, "EXT_Desk_D03"))
    enqueue_event(conn, _event(3, "EXT_Desk_D02"))
    docs = {k: v for k, v in play_settings().live_docs.items() if k != "EXT_Desk_D02"}
    result = drain(live_docs=docs)
    assert result.stopped is None and result.failed == 1 and result.waiting == 1
    assert _log_ids(play_server) == ["ev-01", "ev-02", "ev-03"]  # the Action Log is another page
    assert _entries(play_server, "EXT_Desk_D03") == ["ev-02"]
    failed = outbox.list_events(conn, status="failed")
    assert [e.event_id for e in failed] == ["ev-01"] and "CONFLUENCE_PLAY_LIVE_DOCS" in (failed[0].last_error or "")
    assert [e.event_id for e in outbox.list_events(conn, status="pending")] == ["ev-03"]
    assert outbox.retry_event(conn, "ev-01") == 1
    with pytest.raises(EventError, match="no event with id 'ev-99'"):
        outbox.retry_event(conn, "ev-99")
    fixed = drain()
    assert fixed.failed == 0 and _entries(play_server, "EXT_Desk_D02") == ["ev-01", "ev-03"]
    assert _status(conn) == (0, 0, 3)


@pytest.fixture
def no_requests(play_server: SandboxServer) -> Iterator[None]:
    play_server.reset_stats()
    yield
    assert writes(play_server) == 0


def test_status_lines_tell_the_truth(conn: psycopg.Connection, no_requests: None) -> None:
    assert outbox_status(conn).lines() == [
        "pending: 0",
        "failed:  0",
        "synced:  0",
        "oldest not synced: none",
        "last error: none",
    ]
    enqueue_event(conn, _event(7))
    lines = outbox_status(conn).lines()
    assert lines[0] == "pending: 1" and lines[3].startswith("oldest not synced: ev-07 (activity.created")
    assert outbox_status(conn).as_dict()["oldest_unsynced"]["event_id"] == "ev-07"


def test_a_drain_past_its_deadline_starts_no_write(
    play_server: SandboxServer, play_client: ConfluenceClient, conn: psycopg.Connection, sync_plays
) -> None:
    sync_plays()
    enqueue_event(conn, _event(1))
    enqueue_event(conn, _event(2))
    play_server.reset_stats()
    late = drain_outbox(conn, play_client, play_settings(), now=NOW, deadline=time.monotonic() - 1)
    assert (late.written, late.failed, late.waiting) == (0, 0, 4) and play_server.stats()["total"] == 0
    assert _status(conn) == (2, 0, 0)
