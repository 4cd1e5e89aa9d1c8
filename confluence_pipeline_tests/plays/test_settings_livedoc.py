"""Settings errors name the variable to fix; Live doc entries land in the Timeline section, once."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from confluence_pipeline.plays.livedoc import anchor_markup, append_entry, entry_markup, update_entry
from confluence_pipeline.plays.settings import PlaySettings, PlaySettingsError, RagThresholds, parse_live_docs

SEOUL = ZoneInfo("Asia/Seoul")
WHEN = datetime(2026, 11, 30, 1, 0, tzinfo=ZoneInfo("UTC"))


def test_settings_errors_name_the_variable() -> None:
    with pytest.raises(PlaySettingsError, match="CONFLUENCE_PLAY_DB_PAGE_ID is not set"):
        PlaySettings(action_log_page_id="1").validate()
    with pytest.raises(PlaySettingsError, match="CONFLUENCE_ACTION_LOG_PAGE_ID='Action Log' is not a page id"):
        PlaySettings(play_db_page_id="1", action_log_page_id="Action Log").validate()
    with pytest.raises(PlaySettingsError, match="PLAY_TIMEZONE='Seoul'"):
        PlaySettings(play_db_page_id="1", action_log_page_id="2", timezone="Seoul").validate()
    with pytest.raises(PlaySettingsError, match="PLAY_RAG_RED_BELOW"):
        PlaySettings(play_db_page_id="1", action_log_page_id="2", rag=RagThresholds(red_below=1.5)).validate()
    with pytest.raises(PlaySettingsError, match="CONFLUENCE_TODO_PAGE_ID is not set"):
        PlaySettings(play_db_page_id="1", action_log_page_id="2").validate(need=("todo",))
    with pytest.raises(PlaySettingsError, match="no Live doc: add it to CONFLUENCE_PLAY_LIVE_DOCS"):
        PlaySettings(live_docs={"A": "1"}).live_doc_page_id("B")
    assert PlaySettings(live_docs={"EXT_Desk_D01": 5}).live_doc_page_id("ext_desk_d01") == "5"


def test_live_docs_json() -> None:
    assert parse_live_docs('{"EXT_Desk_D01": 819201, "EXT_Desk_D02": "819202"}') == {
        "EXT_Desk_D01": "819201",
        "EXT_Desk_D02": "819202",
    }
    assert parse_live_docs("") == {}
    with pytest.raises(PlaySettingsError, match="not valid JSON"):
        parse_live_docs("EXT_Desk_D01=819201")
    with pytest.raises(PlaySettingsError, match="must be a JSON object"):
        parse_live_docs("[1, 2]")


def _entry(event_id: str, title: str = "Call") -> str:
    return entry_markup(event_id, "Activity", title, when=WHEN, tz=SEOUL, actor="Alice")


def test_entries_go_to_the_end_of_the_timeline_section_once() -> None:
    page = "<p>Intro</p><h2>TIMELINE</h2><p>old</p><h3>Sub</h3><p>detail</p><h2>Open questions</h2><ul><li>?</li></ul>"
    new = append_entry(page, "e1", _entry("e1"), what="the Live doc")
    assert new is not None and new.endswith("<h2>Open questions</h2><ul><li>?</li></ul>")
    assert "<p>detail</p><p><ac:structured-macro" in new
    assert "<strong>2026-11-30 10:00</strong> · Activity · Call · Alice</p><h2>Open" in new
    assert append_entry(new, "e1", _entry("e1"), what="the Live doc") is None


def test_entries_without_a_timeline_go_to_the_end_or_the_last_layout_cell() -> None:
    assert append_entry("<p>x</p>", "e1", _entry("e1"), what="d") == "<p>x</p>" + _entry("e1")
    layout = (
        '<ac:layout><ac:layout-section ac:type="two_equal"><ac:layout-cell><p>a</p></ac:layout-cell>'
        "<ac:layout-cell><p>b</p></ac:layout-cell></ac:layout-section></ac:layout>"
    )
    new = append_entry(layout, "e1", _entry("e1"), what="d")
    assert new is not None and new.endswith(
        "<p>b</p>" + _entry("e1") + "</ac:layout-cell></ac:layout-section></ac:layout>"
    )


def test_an_update_lands_in_the_entry_it_updates_or_is_appended() -> None:
    page = "<h2>Timeline</h2>" + _entry("sig-1", "Signal A") + _entry("sig-2", "Signal B")
    new = update_entry(page, "score-1", "sig-1", " · score 0.9<x/>", _entry("score-1"), what="d")
    assert new is not None and "Signal A · Alice · score 0.9<x/></p>" in new
    assert update_entry(new.replace("<x/>", anchor_markup("score-1")), "score-1", "sig-1", "", "", what="d") is None
    missing = update_entry(page, "score-2", "sig-9", " · score 0.1", _entry("score-2", "Fallback"), what="d")
    assert missing is not None and missing.endswith(_entry("score-2", "Fallback"))
