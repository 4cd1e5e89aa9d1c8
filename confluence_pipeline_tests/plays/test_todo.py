"""Play ToDo pages: created once under Project TODO, linked once from Project TODO and from the Play DB row."""

from __future__ import annotations

import psycopg
import pytest

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.plays.tables import PageStructureError
from confluence_pipeline.plays.todo import create_todo_page
from confluence_pipeline.store import plays as store
from confluence_sandbox import SandboxServer
from confluence_sandbox import plays as sandbox_plays

from .conftest import page_body, play_settings, writes

TITLE = "EXT_Field_F04 ToDo List"
LINK = f'ri:content-title="{TITLE}"'


def _pages(server: SandboxServer, title: str) -> list[int]:
    return [p.id for p in server.corpus.pages(space_key="PLAY") if p.title == title]


def test_creating_twice_makes_one_page_and_one_link_on_each_parent(
    play_server: SandboxServer, play_client: ConfluenceClient, conn: psycopg.Connection
) -> None:
    settings = play_settings()
    first = create_todo_page(conn, play_client, settings, "EXT_Field_F04", run_id="run-1")
    assert first.created and (first.todo_link, first.play_db_link) == ("written", "written")
    [page_id] = _pages(play_server, TITLE)
    page = play_server.corpus.page(page_id)
    assert str(page_id) == first.page_id and page.parent_id == sandbox_plays.TODO_PAGE_ID
    assert "<ac:task-list>" in page_body(play_server, page_id)
    todo, play_db = (
        page_body(play_server, sandbox_plays.TODO_PAGE_ID),
        page_body(play_server, sandbox_plays.PLAY_DB_PAGE_ID),
    )
    assert todo.count(LINK) == 1 and play_db.count(LINK) == 1
    row = next(r for r in play_db.split("<tr>") if "<p>EXT_Field_F04</p>" in r)
    assert LINK in row
    kinds = [(a["kind"], a["outcome"]) for a in store.page_writes(conn)]
    assert kinds == [("todo_create", "created"), ("todo_link", "written"), ("play_db_todo_link", "written")]

    play_server.reset_stats()
    second = create_todo_page(conn, play_client, settings, "EXT_Field_F04", run_id="run-2")
    assert not second.created and not second.changed and second.page_id == first.page_id
    assert writes(play_server) == 0
    assert _pages(play_server, TITLE) == [page_id]
    assert page_body(play_server, sandbox_plays.TODO_PAGE_ID) == todo
    assert page_body(play_server, sandbox_plays.PLAY_DB_PAGE_ID) == play_db
    assert len(store.page_writes(conn)) == 3


def test_a_create_whose_response_was_lost_makes_no_second_page(
    play_server: SandboxServer, play_client: ConfluenceClient, conn: psycopg.Connection
) -> None:
    play_server.set_faults(drop_write_responses=1)
    result = create_todo_page(conn, play_client, play_settings(), "EXT_Field_F04")
    assert play_server.stats()["faults"] == {"response_dropped": 1}
    assert len(_pages(play_server, TITLE)) == 1 and result.page_id == str(_pages(play_server, TITLE)[0])
    assert result.created and store.page_writes(conn)[0]["outcome"] == "already_applied"
    assert page_body(play_server, sandbox_plays.TODO_PAGE_ID).count(LINK) == 1


def test_the_existing_list_is_found_and_an_unknown_play_creates_nothing(
    play_server: SandboxServer, play_client: ConfluenceClient, conn: psycopg.Connection
) -> None:
    existing = create_todo_page(conn, play_client, play_settings(), "EXT_Desk_D01")
    assert existing.page_id == str(sandbox_plays.FIRST_TODO_LIST_ID) and not existing.changed
    count = len(play_server.corpus.pages())
    with pytest.raises(PageStructureError, match="no row for Play 'EXT_Desk_D99'"):
        create_todo_page(conn, play_client, play_settings(), "EXT_Desk_D99")
    assert len(play_server.corpus.pages()) == count
