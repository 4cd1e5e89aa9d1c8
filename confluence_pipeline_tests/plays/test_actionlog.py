"""Reading the Action Log table (any column order and case, extra columns, blank and malformed rows) and appending."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from confluence_pipeline.plays.actionlog import append_row, parse_action_log, parse_timestamp
from confluence_pipeline.plays.tables import PageStructureError

SEOUL = ZoneInfo("Asia/Seoul")


def table(header: list[str], rows: list[list[str]], *, paragraphs: bool = True) -> str:
    def cell(tag: str, value: str) -> str:
        if not paragraphs:
            return f"<{tag}>{value}</{tag}>"
        return f"<{tag}><p>{value}</p></{tag}>" if value else f"<{tag}><p /></{tag}>"

    head = "<tr>" + "".join(cell("th", h) for h in header) + "</tr>"
    body = "".join("<tr>" + "".join(cell("td", v) for v in row) + "</tr>" for row in rows)
    return f'<table data-layout="default"><tbody>{head}{body}</tbody></table>'


LOG = (
    "<p>Intro &amp; rules&nbsp;here.</p>"
    + table(
        ["Actor", "CREATED_AT", "Play ID", "action-type", "Log_ID", "Title", "URL", "Region"],
        [
            ["Alice", "2026-10-01 08:00", "EXT_Desk_D01", "Activity", "AL-1", "Call", "", "APAC"],
            ["Bob", '<time datetime="2026-10-02" />', "ext_desk_d01", "signal", "AL-2", "Sig", "", ""],
            ["", "", "", "", "", "", "", ""],
            ["Carol", "TBD", "EXT_Desk_D02", "Brief", "AL-3", "Brief", "", ""],
            ["Dan", "2026-10-03", "", "Activity", "AL-4", "No play", "", ""],
            ["Eve", "2026-09-30T16:30:00Z", "EXT_Desk_D02", "S2", "AL-5", "Boundary", "", ""],
            ["Fay", "2026/10/04", "EXT_Desk_D02", "Meeting note", "AL-6", "Other type", "", ""],
            [
                "Gus",
                "2026-10-05",
                "EXT_Desk_D02",
                "Activity",
                "AL-7",
                "Linked",
                '<a href="https://crm.example.com/a/7">crm 7</a>',
                "",
            ],
            ["", "", "", "", "", "", "", ""],
        ],
    )
    + "<p>After the table.</p>"
)


def test_columns_in_any_order_and_case_extra_columns_blank_and_malformed_rows() -> None:
    log = parse_action_log(LOG, SEOUL)
    frame = log.frame
    assert list(frame["log_id"]) == ["AL-1", "AL-2", "AL-5", "AL-6", "AL-7"]
    assert log.blank_rows == [3, 9]
    assert [str(p) for p in log.problems] == [
        "row 4 (AL-3): created_at 'TBD' is not a date (write YYYY-MM-DD or YYYY-MM-DD HH:MM)",
        "row 5 (AL-4): play_id is empty",
    ]
    assert log.rows_read == 9
    assert log.columns == ["Actor", "CREATED_AT", "Play ID", "action-type", "Log_ID", "Title", "URL", "Region"]
    assert list(frame["kind"].fillna("-")) == ["activity", "signal", "s2", "-", "activity"]
    assert frame.loc[0, "region"] == "APAC"  # extra columns are kept under their normalised name
    assert frame.loc[4, "url"] == "https://crm.example.com/a/7"
    created = dict(zip(frame["log_id"], frame["created_at"], strict=True))
    assert created["AL-1"] == pd.Timestamp("2026-09-30T23:00:00Z")  # 08:00 in Seoul
    assert created["AL-2"] == pd.Timestamp("2026-10-01T15:00:00Z")  # a <time> date: midnight in Seoul
    assert created["AL-5"] == pd.Timestamp("2026-09-30T16:30:00Z")
    assert created["AL-6"] == pd.Timestamp("2026-10-03T15:00:00Z")
    assert log.log_ids == {"AL-1", "AL-2", "AL-3", "AL-4", "AL-5", "AL-6", "AL-7"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-10-05 14:30", "2026-10-05T05:30:00+00:00"),
        ("2026-10-05T14:30:00+09:00", "2026-10-05T05:30:00+00:00"),
        ("2026-10-05T05:30Z", "2026-10-05T05:30:00+00:00"),
        ("2026.10.5", "2026-10-04T15:00:00+00:00"),
        (" 2026/10/05 ", "2026-10-04T15:00:00+00:00"),
    ],
)
def test_timestamps_people_write(value: str, expected: str) -> None:
    assert parse_timestamp(value, SEOUL).isoformat() == expected


@pytest.mark.parametrize("value", ["TBD", "2026-13-01", "10/05", "1999-01-01", "next week"])
def test_malformed_timestamps_name_the_value(value: str) -> None:
    with pytest.raises(ValueError, match="created_at"):
        parse_timestamp(value, SEOUL)


def test_a_page_without_the_columns_says_what_it_found() -> None:
    storage = table(["Play", "When"], [["EXT_Desk_D01", "2026-10-01"]])
    with pytest.raises(PageStructureError, match=r"play_id, action_type, created_at.*\[play, when\]"):
        parse_action_log(storage, SEOUL)


def test_append_row_keeps_the_page_and_is_applied_once() -> None:
    values = {
        "log_id": "activity-1",
        "play_id": "EXT_Desk_D03",
        "action_type": "Activity",
        "title": "Call <ACME> & co",
        "url": "https://crm.example.com/a?x=1&y=2",
        "actor": "Alice",
        "created_at": "2026-11-30 10:00",
    }
    new = append_row(LOG, values)
    assert new is not None
    end = LOG.index("</tbody>")
    assert new.startswith(LOG[:end]) and new.endswith(LOG[end:])
    row = new[end : len(new) - len(LOG) + end]
    assert row == (
        "<tr><td><p>Alice</p></td><td><p>2026-11-30 10:00</p></td><td><p>EXT_Desk_D03</p></td>"
        "<td><p>Activity</p></td><td><p>activity-1</p></td><td><p>Call &lt;ACME&gt; &amp; co</p></td>"
        '<td><p><a href="https://crm.example.com/a?x=1&amp;y=2">https://crm.example.com/a?x=1&amp;y=2</a></p></td>'
        "<td><p /></td></tr>"
    )
    assert append_row(new, values) is None  # the row is there: nothing to do
    parsed = parse_action_log(new, SEOUL)
    assert parsed.frame.iloc[-1]["title"] == "Call <ACME> & co"
    assert parsed.frame.iloc[-1]["url"] == "https://crm.example.com/a?x=1&y=2"


def test_append_row_follows_a_table_without_paragraphs() -> None:
    header = ["log_id", "play_id", "action_type", "created_at"]
    storage = table(header, [["a", "P1", "Activity", "2026-10-01"]], paragraphs=False)
    new = append_row(storage, {"log_id": "b", "play_id": "P1", "action_type": "Signal", "created_at": "2026-10-02"})
    assert new is not None and "<tr><td>b</td><td>P1</td><td>Signal</td><td>2026-10-02</td></tr></tbody>" in new
