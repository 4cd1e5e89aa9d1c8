"""Play DB cell edits: only the cells that differ change, each in its own style; every other byte stays."""

from __future__ import annotations

import difflib
import re
from datetime import date

import pytest

from confluence_pipeline.plays.playdb import RowUpdate, plan_play_db, plan_todo_link, play_ids
from confluence_pipeline.plays.tables import PageStructureError, scan_tables

TODAY = date(2026, 11, 30)


def _status(colour: str, title: str, macro_id: str) -> str:
    return (
        f'<ac:structured-macro ac:name="status" ac:schema-version="1" ac:macro-id="{macro_id}">'
        f'<ac:parameter ac:name="colour">{colour}</ac:parameter><ac:parameter ac:name="title">{title}</ac:parameter>'
        "</ac:structured-macro>"
    )


PAGE = (
    '<ac:structured-macro ac:name="info" ac:schema-version="1"><ac:rich-text-body><p>Maintained by the '
    "pipeline&nbsp;&mdash; edit Notes only.</p></ac:rich-text-body></ac:structured-macro>"
    "<h2>Plays</h2>"
    '<table data-layout="wide"><colgroup><col style="width: 120.0px;" /></colgroup><tbody>'
    "<tr><th><p><strong>notes</strong></p></th><th><p>STATUS</p></th><th><p>signal qtd</p></th>"
    "<th><p><strong>Play_ID</strong></p></th><th><p>Activity_QTD</p></th><th>brief_QTD</th><th>S2_QTD</th>"
    "<th>s3_qtd</th><th><p>Last Updated</p></th><th>ToDo</th></tr>"
    f"<tr><td><p>Keep &amp; this</p></td><td><p>{_status('Green', 'GREEN', 'm-1')}</p></td><td><p>2</p></td>"
    '<td><p>EXT_Desk_D01</p></td><td><p local-id="c1">7</p></td><td>1</td><td>0</td><td>0</td>'
    '<td><p><time datetime="2026-11-23" /></p></td><td><p /></td></tr>'
    f"<tr><td><p /></td><td><p>{_status('Yellow', 'Amber', 'm-2')}</p></td><td><p>0</p></td>"
    "<td><p>EXT_Desk_D02</p></td><td><p>3</p></td><td /><td>0</td><td>0</td><td>2026-11-23</td><td /></tr>"
    "<tr><td><p>Retired</p></td><td><p>Red</p></td><td><p>0</p></td><td><p>EXT_Desk_D03</p></td><td><p>0</p></td>"
    "<td>0</td><td>0</td><td>0</td><td><p>2026-10-01</p></td><td /></tr>"
    "</tbody></table>"
    '<p>Questions: ask <ac:link><ri:user ri:account-id="abc" /></ac:link>.</p>'
    '<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[<table><tr><td>not a table</td></tr>'
    "</table>]]></ac:plain-text-body></ac:structured-macro>"
)


def _changed_spans(old: str, new: str) -> list[tuple[int, int]]:
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [(i1, i2) for tag, i1, i2, _j1, _j2 in matcher.get_opcodes() if tag != "equal"]


def test_play_ids_in_page_order() -> None:
    assert play_ids(PAGE) == ["EXT_Desk_D01", "EXT_Desk_D02", "EXT_Desk_D03"]
    assert len(scan_tables(PAGE)) == 1  # the table inside the code macro's CDATA is text, not a table


def test_only_differing_cells_change_and_every_other_byte_survives() -> None:
    updates = {
        "ext_desk_d01": RowUpdate(figures={"activity": 9, "signal": 2, "brief": 1, "s2": 0, "s3": 1}, status="Amber"),
        "EXT_Desk_D02": RowUpdate(figures={"activity": 3, "signal": 0, "brief": 4, "s2": 0, "s3": 0}, status="Amber"),
        "EXT_Desk_D03": RowUpdate(figures={"activity": 0, "signal": 0, "brief": 0, "s2": 0, "s3": 0}, status="Red"),
        "EXT_Desk_D99": RowUpdate(status="Green"),
    }
    plan = plan_play_db(PAGE, updates, TODAY)
    assert plan.rows_changed == ["EXT_Desk_D01", "EXT_Desk_D02"]
    assert plan.missing_plays == ["EXT_Desk_D99"]
    assert [(c.play_id, c.column, c.old, c.new) for c in plan.changes] == [
        ("EXT_Desk_D01", "Activity_QTD", "7", "9"),
        ("EXT_Desk_D01", "s3_qtd", "0", "1"),
        ("EXT_Desk_D01", "STATUS", "GREEN", "Amber"),
        ("EXT_Desk_D01", "Last Updated", "2026-11-23", "2026-11-30"),
        ("EXT_Desk_D02", "brief_QTD", "", "4"),
        ("EXT_Desk_D02", "Last Updated", "2026-11-23", "2026-11-30"),
    ]
    new = plan.storage
    # Each cell keeps its markup: the paragraph's attributes, the lozenge's macro id (title case too), the <time>.
    assert '<td><p local-id="c1">9</p></td>' in new
    assert _status("Yellow", "AMBER", "m-1") in new
    assert '<time datetime="2026-11-30" />' in new
    assert "<td>4</td>" in new  # was <td />
    assert "<td>2026-11-30</td>" in new
    # Outside the six cells, not one character moved: the text around the table, other rows, other cells.
    outside = re.sub(r"<tr>.*</tr>", "", PAGE, flags=re.S)
    assert re.sub(r"<tr>.*</tr>", "", new, flags=re.S) == outside
    old_rows = re.findall(r"<tr>.*?</tr>", PAGE, flags=re.S)
    new_rows = re.findall(r"<tr>.*?</tr>", new, flags=re.S)
    assert old_rows[0] == new_rows[0] and old_rows[3] == new_rows[3]
    changed_columns = {1: {1, 4, 7, 8}, 2: {5, 8}}  # row → cells that change (status, activity, s3, last updated …)
    for row, columns in changed_columns.items():
        old_cells = re.findall(r"<td(?: /|>.*?</td)>", old_rows[row], flags=re.S)
        new_cells = re.findall(r"<td(?: /|>.*?</td)>", new_rows[row], flags=re.S)
        assert len(old_cells) == len(new_cells) == 10
        assert [i for i in range(10) if old_cells[i] != new_cells[i]] == sorted(columns)
    assert len(_changed_spans(PAGE, new)) >= 6


def test_an_up_to_date_table_plans_no_write() -> None:
    updates = {"EXT_Desk_D03": RowUpdate(figures={"activity": 0, "s3": 0}, status="Red")}
    plan = plan_play_db(PAGE, updates, TODAY)
    assert not plan.changed and plan.changes == [] and plan.storage == PAGE


def test_a_missing_column_is_named() -> None:
    page = PAGE.replace("<th>s3_qtd</th>", "<th>pilots</th>")
    with pytest.raises(PageStructureError, match=r"s3_qtd.*Found: \[notes, status, signal_qtd, play_id"):
        plan_play_db(page, {"EXT_Desk_D01": RowUpdate(figures={"s3": 1})}, TODAY)


def test_a_page_that_is_not_well_formed_is_not_edited() -> None:
    broken = PAGE.replace("</tbody></table>", "</tbody>")
    with pytest.raises(PageStructureError, match=r"not well-formed.*save it once"):
        plan_play_db(broken, {"EXT_Desk_D01": RowUpdate(status="Red")}, TODAY)


def test_todo_link_goes_into_the_row_once() -> None:
    plan = plan_todo_link(PAGE, "EXT_Desk_D02", "EXT_Desk_D02 ToDo List")
    assert plan.changed
    assert '<td><ac:link><ri:page ri:content-title="EXT_Desk_D02 ToDo List" /></ac:link></td></tr>' in plan.storage
    assert not plan_todo_link(plan.storage, "EXT_Desk_D02", "EXT_Desk_D02 ToDo List").changed
    with pytest.raises(PageStructureError, match="no row for Play 'EXT_Desk_D77'"):
        plan_todo_link(PAGE, "EXT_Desk_D77", "EXT_Desk_D77 ToDo List")
