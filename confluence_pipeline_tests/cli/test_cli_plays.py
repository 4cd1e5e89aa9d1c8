"""The ``plays`` and ``events`` commands against the Play sandbox, the test database and a real Dagster instance."""

from __future__ import annotations

import json
import re

import psycopg
import pytest

from confluence_pipeline.cli import main
from confluence_pipeline_tests.defs.plays.conftest import play_environ
from confluence_pipeline_tests.plays.conftest import page_body, play_client, play_server, sync_plays, writes
from confluence_sandbox import SandboxServer
from confluence_sandbox import plays as sandbox_plays

from .test_cli import _row_versions

# The Play fixtures live with the plain module's tests; these are the same fixtures, not copies.
__all__ = ["play_client", "play_server", "sync_plays"]
PLAY_DB = sandbox_plays.PLAY_DB_PAGE_ID


@pytest.fixture
def play_cli(cli_env: None, play_server: SandboxServer, db_url: str, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The CLI's environment pointed at the Play sandbox."""
    for name, value in play_environ(play_server, db_url).items():
        monkeypatch.setenv(name, value)
    return play_server


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _status(capsys: pytest.CaptureFixture[str]) -> dict:
    code, out, _ = _run(capsys, "events", "status", "--json")
    assert code == 0
    return json.loads(out)


def test_events_add_twice_is_a_no_op_and_the_status_tells_the_truth(
    play_cli: SandboxServer, sync_plays, capsys: pytest.CaptureFixture[str]
) -> None:
    server = play_cli
    sync_plays()
    add = ["events", "add", "activity.created", "--play", "EXT_Desk_D02", "--title", "Call with ACME", "--actor", "Kim"]
    code, out, _ = _run(capsys, *add)
    assert code == 0
    match = re.fullmatch(r"queued (activity-[0-9a-f]{16}) \(activity.created, EXT_Desk_D02\): (.*)\n", out)
    assert match and match[2] == "action log row, live doc append"
    event_id = match[1]
    assert _run(capsys, *add) == (0, f"{event_id} is in the outbox already: nothing changed\n", "")
    code, out, _ = _run(capsys, "events", "list", "--json")
    assert [e["event_id"] for e in json.loads(out)] == [event_id]
    status = _status(capsys)
    assert (status["pending"], status["failed"], status["synced"]) == (1, 0, 0)
    assert status["oldest_unsynced"]["event_id"] == event_id and status["last_error"] is None

    server.set_faults(error_rate=1.0)
    code, out, err = _run(capsys, "events", "drain")
    assert code == 1 and "applied 0, already applied 0, failed 1" in out and "stopped: Confluence unavailable" in err
    status = _status(capsys)
    assert (status["pending"], status["failed"], status["synced"]) == (0, 1, 0)
    assert status["last_error"]["event_id"] == event_id and "ConfluenceUnavailable" in status["last_error"]["error"]
    code, out, _ = _run(capsys, "events", "list", "--failed")
    assert out.startswith(f"{event_id}  activity.created  EXT_Desk_D02  failed  attempts 3") and "last error:" in out
    assert event_id not in page_body(server, sandbox_plays.ACTION_LOG_PAGE_ID)

    server.reset_faults()
    code, out, _ = _run(capsys, "events", "retry", event_id)
    assert code == 0 and out.startswith(f"1 write(s) of {event_id} are due now")
    assert _status(capsys)["pending"] == 1
    code, out, _ = _run(capsys, "events", "drain")
    assert code == 0 and out.startswith("applied 2, already applied 0, failed 0")
    assert "pending: 0\nfailed:  0\nsynced:  1\noldest not synced: none\nlast error: none" in out
    assert event_id in page_body(server, sandbox_plays.ACTION_LOG_PAGE_ID)
    code, out, _ = _run(capsys, "events", "retry", event_id)
    assert out == f"{event_id} has no failed write: nothing to retry\n"
    assert _run(capsys, "events", "list", "--failed") == (0, "no failed events\n", "")


def test_unknown_types_plays_and_events_get_clear_errors(
    play_cli: SandboxServer, sync_plays, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sync_plays()
    code, _, err = _run(capsys, "events", "add", "deal.won", "--play", "EXT_Desk_D02", "--title", "x")
    assert code == 1 and "unknown event type 'deal.won': use one of activity.created, signal.created" in err
    code, _, err = _run(capsys, "events", "add", "activity.created", "--play", "EXT_Nope_X01", "--title", "x")
    assert code == 1 and "unknown Play 'EXT_Nope_X01'" in err and "CONFLUENCE_PLAY_LIVE_DOCS" in err
    docs = json.loads(play_environ(play_cli, "")["CONFLUENCE_PLAY_LIVE_DOCS"])
    monkeypatch.setenv("CONFLUENCE_PLAY_LIVE_DOCS", json.dumps({**docs, "EXT_New_N01": "999"}))
    code, _, err = _run(capsys, "events", "add", "activity.created", "--play", "EXT_New_N01", "--title", "x")
    assert code == 1 and f"the Play DB page {PLAY_DB} has no row for it" in err
    code, _, err = _run(capsys, "events", "retry", "ev-404")
    assert code == 1 and "no event with id 'ev-404'" in err
    code, _, err = _run(capsys, "plays", "aggregate", "--quarter", "Q4", "--dry-run")
    assert code == 1 and "'Q4' is not a quarter: write it as YYYYQn" in err
    assert _status(capsys)["pending"] == 0


def test_plays_aggregate_dry_run_changes_nothing_then_the_run_writes_once(
    play_cli: SandboxServer, sync_plays, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from dagster import DagsterInstance

    server = play_cli
    sync_plays()
    versions = _row_versions(db_url)
    body = page_body(server, PLAY_DB)
    version = server.corpus.page(PLAY_DB).version
    server.reset_stats()

    code, dry, _ = _run(capsys, "plays", "aggregate", "--quarter", "2025Q4", "--dry-run")
    assert code == 0
    assert dry.startswith("The table it would write:\n\n| Play ") and "\nThe cells that would change:\n\n| Play " in dry
    assert f"Play DB page {PLAY_DB}: dry run on version {version}: nothing written" in dry
    would = re.findall(r"^  (\w+): ", dry, re.M)
    assert would and f"rows would change: {len(would)} (" in dry
    assert writes(server) == 0 and page_body(server, PLAY_DB) == body
    assert _row_versions(db_url) == versions  # nothing stored
    assert DagsterInstance.get().get_runs() == []  # and no run recorded

    code, out, _ = _run(capsys, "plays", "aggregate", "--quarter", "2025Q4")
    assert code == 0
    assert f"Play DB page {PLAY_DB}: written (version {version} → {version + 1})" in out
    assert re.findall(r"^  (\w+): ", out, re.M) == would  # the dry run showed what the run did
    assert writes(server) == 1
    [run] = DagsterInstance.get().get_runs()
    assert run.job_name == "play_qtd_aggregation" and run.tags["confluence_pipeline/trigger"] == "cli"
    assert f"run {run.run_id} (play_qtd_aggregation)" in out

    server.reset_stats()
    code, out, _ = _run(capsys, "plays", "aggregate", "--quarter", "2025Q4")
    assert code == 0 and "unchanged (version" in out and "rows changed: 0\n" in out
    assert writes(server) == 0


def test_plays_aggregate_before_a_sync_says_what_to_do(play_cli: SandboxServer, capsys) -> None:
    code, _, err = _run(capsys, "plays", "aggregate")
    assert code == 1 and "is not stored in the database" in err and "sync the page's space first" in err


def test_create_todo_twice_makes_one_page_and_changes_nothing_the_second_time(
    play_cli: SandboxServer, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    server = play_cli
    code, out, _ = _run(capsys, "plays", "create-todo", "EXT_Desk_D02")
    assert code == 0
    assert re.match(r"EXT_Desk_D02 ToDo List: page \d+, created\n", out)
    assert "link on Project TODO: written\nlink in the Play DB row: written\n" in out
    server.reset_stats()
    code, again, _ = _run(capsys, "plays", "create-todo", "EXT_Desk_D02")
    assert code == 0 and "exists already" in again and "nothing to do" in again and writes(server) == 0
    code, _, err = _run(capsys, "plays", "create-todo", "EXT_Nope_X01")
    assert code == 1 and "no row for Play 'EXT_Nope_X01'" in err
    with psycopg.connect(db_url) as conn:
        kinds = [r[0] for r in conn.execute("SELECT kind FROM play_page_writes ORDER BY id")]
    assert kinds == ["todo_create", "todo_link", "play_db_todo_link"]
