"""The Play DB write against the sandbox: optimistic locking with re-apply, no write when unchanged, bytes kept."""

from __future__ import annotations

import re
from typing import Any

import psycopg
import pytest

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.plays.aggregate import aggregate_quarter
from confluence_pipeline.plays.writeback import PageConflictError, write_play_db
from confluence_pipeline.store import plays as store
from confluence_pipeline_tests.confluence.helpers import sandbox_settings
from confluence_sandbox import SandboxServer
from confluence_sandbox import plays as sandbox_plays

from .conftest import NOW, page_body, play_settings, writes

PLAY_DB = sandbox_plays.PLAY_DB_PAGE_ID


class EditingBetweenReadAndWrite(ConfluenceClient):
    """A client after whose reads of a page someone saves that page in the editor (``times`` times)."""

    def __init__(self, settings: Any, server: SandboxServer, page_id: int, edit: Any, times: int = 1) -> None:
        super().__init__(settings)
        self.server, self.page_id, self.edit, self.times = server, page_id, edit, times

    def get_json(self, path: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        data = super().get_json(path, params, **kwargs)
        if self.times and path == f"rest/api/content/{self.page_id}":
            self.times -= 1
            self.server.edit_page(self.page_id, body=self.edit(page_body(self.server, self.page_id)))
        return data


def _rows(storage: str) -> dict[str, str]:
    rows = re.findall(r"<tr>.*?</tr>", storage, flags=re.S)
    return {m.group(1): row for row in rows if (m := re.search(r"<td><p>([A-Za-z]+_[A-Za-z]+_[A-Z]\d\d)</p>", row))}


def test_first_run_writes_one_version_keeps_other_bytes_and_second_run_writes_nothing(
    play_server: SandboxServer, play_client: ConfluenceClient, conn: psycopg.Connection, sync_plays
) -> None:
    sync_plays()
    settings = play_settings()
    result = aggregate_quarter(conn, settings, None, NOW, run_id="run-1")
    before = page_body(play_server, PLAY_DB)
    version = play_server.corpus.page(PLAY_DB).version
    play_server.reset_stats()

    written = write_play_db(conn, play_client, settings, result.quarter, now=NOW, run_id="run-1")
    assert written.outcome == "written" and written.version_before == version
    assert written.version_after == version + 1 == play_server.corpus.page(PLAY_DB).version
    assert play_server.stats()["by_endpoint"].get("PUT /rest/api/content/{id}") == 1  # one update for the table
    assert 10 <= len(written.plan.rows_changed) < 43
    after = page_body(play_server, PLAY_DB)
    # Text, macros and table markup outside the rows, and every unchanged row, are byte for byte the same.
    assert re.sub(r"<tr>.*</tr>", "", after, flags=re.S) == re.sub(r"<tr>.*</tr>", "", before, flags=re.S)
    old_rows, new_rows = _rows(before), _rows(after)
    assert len(old_rows) == len(new_rows) == 43
    unchanged = [p for p in old_rows if p not in written.plan.rows_changed]
    assert unchanged and all(old_rows[p] == new_rows[p] for p in unchanged)
    for play in written.plan.rows_changed:
        old_cells = re.findall(r"<td>.*?</td>", old_rows[play])
        new_cells = re.findall(r"<td>.*?</td>", new_rows[play])
        assert old_cells[:3] == new_cells[:3] and old_cells[10:] == new_cells[10:]  # id, name, owner, ToDo, Notes
    stored = {r.play_id: r for r in result.rows()}
    for play, row in new_rows.items():
        figures = [int(x) for x in re.findall(r"<td><p>(\d+)</p></td>", row)]
        assert figures == list(stored[play].counts().values())
        assert f'ac:name="title">{stored[play].status}</ac:parameter>' in row
    audit = store.page_writes(conn, str(PLAY_DB))
    assert [(a["kind"], a["outcome"], a["version_before"], a["version_after"], a["source"]) for a in audit] == [
        ("play_db_aggregation", "written", version, version + 1, "run-1")
    ]
    assert len(audit[0]["changes"]) == len(written.plan.changes) and audit[0]["quarter"] == "2025Q4"

    play_server.reset_stats()
    again = write_play_db(conn, play_client, settings, result.quarter, now=NOW, run_id="run-2")
    assert again.outcome == "unchanged" and again.plan.changes == []
    assert writes(play_server) == 0 and play_server.stats()["total"] == 1  # one read, no request that writes
    assert page_body(play_server, PLAY_DB) == after
    assert len(store.page_writes(conn, str(PLAY_DB))) == 1


def test_an_edit_between_read_and_write_gets_a_409_and_the_figures_land_on_top_of_it(
    play_server: SandboxServer, conn: psycopg.Connection, sync_plays
) -> None:
    sync_plays()
    settings = play_settings()
    result = aggregate_quarter(conn, settings, None, NOW)
    version = play_server.corpus.page(PLAY_DB).version

    def human_edit(body: str) -> str:
        body = body.replace("Last reviewed in the Monday GTM sync.", "Reviewed again on Tuesday.")
        return body + "<p>Added by a person while the pipeline was writing.</p>"

    client = EditingBetweenReadAndWrite(sandbox_settings(play_server), play_server, PLAY_DB, human_edit)
    play_server.reset_stats()
    written = write_play_db(conn, client, settings, result.quarter, now=NOW, run_id="run-1")
    assert written.outcome == "written" and written.conflicts == 1
    assert play_server.stats()["by_endpoint_status"]["PUT /rest/api/content/{id}"] == {"200": 1, "409": 1}
    assert (written.version_before, written.version_after) == (version, version + 2)
    body = page_body(play_server, PLAY_DB)
    assert "Reviewed again on Tuesday." in body and body.endswith(
        "<p>Added by a person while the pipeline was writing.</p>"
    )
    plain = ConfluenceClient(sandbox_settings(play_server))
    assert write_play_db(conn, plain, settings, result.quarter, now=NOW).outcome == "unchanged"


def test_a_page_that_keeps_changing_gives_up_after_the_bounded_retries(
    play_server: SandboxServer, conn: psycopg.Connection, sync_plays
) -> None:
    sync_plays()
    settings = play_settings(conflict_retries=2)
    result = aggregate_quarter(conn, settings, None, NOW)
    client = EditingBetweenReadAndWrite(
        sandbox_settings(play_server), play_server, PLAY_DB, lambda b: b + "<p>again</p>", times=10
    )
    play_server.reset_stats()
    with pytest.raises(PageConflictError, match="changed under every one of 3 attempts"):
        write_play_db(conn, client, settings, result.quarter, now=NOW)
    assert play_server.stats()["by_endpoint_status"]["PUT /rest/api/content/{id}"] == {"409": 3}
    assert store.page_writes(conn) == []


def test_dry_run_plans_without_writing(
    play_server: SandboxServer, play_client: ConfluenceClient, conn: psycopg.Connection, sync_plays
) -> None:
    sync_plays()
    settings = play_settings()
    result = aggregate_quarter(conn, settings, None, NOW, store_result=False)
    assert store.latest_qtd_stats(conn, str(result.quarter)) == (None, [])
    play_server.reset_stats()
    dry = write_play_db(conn, play_client, settings, result.quarter, now=NOW, dry_run=True, stats=result.rows())
    assert dry.outcome == "dry_run" and dry.plan.changes and writes(play_server) == 0
    assert "EXT_Desk_D01" in dry.table_markdown()
    assert dry.changes_markdown().startswith("| Play") and "last_updated" in dry.changes_markdown()
    with pytest.raises(ValueError, match="no Play figures for 2025Q4 yet"):
        write_play_db(conn, play_client, settings, result.quarter, now=NOW)
