"""The sandbox's Play space (fixed ids, realistic pages, dates relative to its day) and its strict writes."""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from confluence_pipeline.plays.actionlog import parse_action_log
from confluence_pipeline.plays.playdb import play_ids
from confluence_pipeline.plays.quarters import Quarter
from confluence_sandbox import SandboxServer, generate_corpus
from confluence_sandbox import plays as sandbox_plays

from .conftest import AS_OF, page_body

SEOUL = ZoneInfo("Asia/Seoul")


def test_fixed_ids_titles_and_tree() -> None:
    corpus = generate_corpus(3000, 1, include_plays=True, plays_as_of=AS_OF)
    titles = {
        sandbox_plays.TODO_PAGE_ID: "Project TODO",
        sandbox_plays.PLAY_DB_PAGE_ID: "Play DB",
        sandbox_plays.ACTION_LOG_PAGE_ID: "Action Log",
        sandbox_plays.FIRST_TODO_LIST_ID: "EXT_Desk_D01 ToDo List",
    }
    for page_id, title in titles.items():
        page = corpus.page(page_id)
        assert page is not None and page.title == title and page.space_key == "PLAY" and page.status == "current"
    assert corpus.page(sandbox_plays.FIRST_TODO_LIST_ID).parent_id == sandbox_plays.TODO_PAGE_ID
    live = sandbox_plays.live_doc_ids()
    assert len(live) == 43 and len(set(sandbox_plays.PLAY_IDS)) == 43
    assert corpus.page(live["INT_Data_A06"]).title == "INT_Data_A06 Live doc"
    # Every other page id is above the fixed ones: generated, real (fixtures) and newly created pages.
    others = [p.id for p in corpus.pages() if p.space_key != "PLAY"]
    assert min(others) > sandbox_plays.FIXED_IDS_BELOW
    assert {p.id for p in corpus.pages(space_key="PLAY")} == sandbox_plays.fixed_page_ids()
    tiny = generate_corpus(0, 1, include_fixtures=False, include_plays=True, plays_as_of=AS_OF)
    assert tiny.create_page("PLAY", "New page", now_ms=0).id > sandbox_plays.FIXED_IDS_BELOW
    assert "PLAY" not in generate_corpus(50, 1).spaces  # only when asked for


def test_action_log_covers_this_quarter_and_the_last_with_some_bad_rows() -> None:
    for as_of in (AS_OF, date(2026, 5, 20)):
        corpus = generate_corpus(0, 4, include_fixtures=False, include_plays=True, plays_as_of=as_of)
        log = parse_action_log(page_body_of(corpus, sandbox_plays.ACTION_LOG_PAGE_ID), SEOUL)
        assert 200 <= log.rows_read <= 900
        assert len(log.blank_rows) == 2 and len(log.problems) == 4
        days = log.frame["created_at"].dt.tz_convert(SEOUL).dt.date
        quarter = Quarter(as_of.year, (as_of.month - 1) // 3 + 1)
        assert days.max() < as_of and (days >= quarter.first_day).sum() > 20
        assert quarter.previous().first_day <= days.min() < quarter.previous().first_day + timedelta(days=7)
        assert set(log.frame["play_id"]) <= set(sandbox_plays.PLAY_IDS)
        db = page_body_of(corpus, sandbox_plays.PLAY_DB_PAGE_ID)
        assert play_ids(db) == list(sandbox_plays.PLAY_IDS)
        assert {"Green", "Amber", "Red"} <= set(re.findall(r'ac:name="title">(\w+)</ac:parameter>', db))
    again = generate_corpus(0, 4, include_fixtures=False, include_plays=True, plays_as_of=date(2026, 5, 20))
    assert page_body_of(again, sandbox_plays.ACTION_LOG_PAGE_ID) == page_body_of(
        corpus, sandbox_plays.ACTION_LOG_PAGE_ID
    )


def page_body_of(corpus, page_id: int) -> str:
    return corpus.body(corpus.page(page_id))


def _put(server: SandboxServer, page_id: int, **payload: object) -> requests.Response:
    return server.session().put(f"{server.base_url}/rest/api/content/{page_id}", json=payload)


def test_writes_are_as_strict_as_confluence(play_server: SandboxServer) -> None:
    page_id = sandbox_plays.PLAY_DB_PAGE_ID
    version = play_server.corpus.page(page_id).version
    body = {"storage": {"value": "<p>new</p>", "representation": "storage"}}
    missing_type = _put(play_server, page_id, title="Play DB", version={"number": version + 1}, body=body)
    assert missing_type.status_code == 400 and "type" in missing_type.json()["message"]
    stale = _put(play_server, page_id, type="page", title="Play DB", version={"number": version}, body=body)
    assert stale.status_code == 409
    assert stale.json()["message"] == f"Version must be incremented on update. Current version is: {version}"
    view = {"view": {"value": "<p>x</p>", "representation": "view"}}
    wrong = _put(play_server, page_id, type="page", title="Play DB", version={"number": version + 1}, body=view)
    assert wrong.status_code == 400 and "body.storage" in wrong.json()["message"]
    assert play_server.corpus.page(page_id).version == version
    ok = _put(play_server, page_id, type="page", title="Play DB", version={"number": version + 1}, body=body)
    assert ok.status_code == 200 and ok.json()["version"]["number"] == version + 1
    assert page_body(play_server, page_id) == "<p>new</p>"

    session, url = play_server.session(), f"{play_server.base_url}/rest/api/content"
    page = {"title": "X", "space": {"key": "PLAY"}, "body": body}
    assert session.post(url, json=page).status_code == 400  # no type
    orphan = session.post(url, json={**page, "type": "page", "ancestors": [{"id": "999999"}]})
    assert orphan.status_code == 400 and "parent" in orphan.json()["message"]
    duplicate = session.post(url, json={**page, "type": "page", "title": "Action Log"})
    assert duplicate.status_code == 400 and "already exists" in duplicate.json()["message"]


def test_dropped_write_responses_are_applied_but_never_answered(play_server: SandboxServer) -> None:
    page_id = sandbox_plays.TODO_PAGE_ID
    version = play_server.corpus.page(page_id).version
    play_server.set_faults(drop_write_responses=1)
    body = {"storage": {"value": "<p>dropped</p>", "representation": "storage"}}
    with pytest.raises(requests.ConnectionError):
        _put(play_server, page_id, type="page", title="Project TODO", version={"number": version + 1}, body=body)
    assert (
        play_server.corpus.page(page_id).version == version + 1 and page_body(play_server, page_id) == "<p>dropped</p>"
    )
    assert play_server.faults()["drop_write_responses"] == 0
    again = _put(play_server, page_id, type="page", title="Project TODO", version={"number": version + 1}, body=body)
    assert again.status_code == 409  # the retry a client would make
