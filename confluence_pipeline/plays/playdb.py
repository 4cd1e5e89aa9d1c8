"""The Play DB page: its Play rows, and the cell edits that bring a row's figures, status and links up to date.

Columns are found by header name in any order and case (``Activity_QTD``, ``activity qtd``); rows by Play id. An edit
changes only the cells whose value differs, keeps each cell's own markup style (a status lozenge stays a lozenge,
a ``<time>`` date stays a ``<time>``), and leaves every other character of the page as it was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from confluence_pipeline.plays.actionlog import COUNTED_KINDS
from confluence_pipeline.plays.tables import (
    Cell,
    PageStructureError,
    Splice,
    apply_splices,
    attr,
    cell_markup,
    cell_splice,
    cell_text,
    find_table,
    fragment_text,
    require_well_formed,
    text,
)

FIGURE_COLUMNS = {kind: f"{kind}_qtd" for kind in COUNTED_KINDS}
STATUS_COLUMN = "status"
LAST_UPDATED_COLUMN = "last_updated"
TODO_COLUMN = "todo"
_STATUS_NAMES = {"green": "Green", "amber": "Amber", "yellow": "Amber", "red": "Red"}
_COLOURS = {"Green": "Green", "Amber": "Yellow", "Red": "Red"}
_STATUS_MACRO = re.compile(
    r"(?P<open><ac:structured-macro\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*\bac:name=\"status\"(?:[^>\"']|\"[^\"]*\"|'[^']*')*>)"
    r"(?P<body>.*?)</ac:structured-macro>",
    re.DOTALL,
)
_PARAM = re.compile(r'<ac:parameter\s+ac:name="(?P<name>[^"]*)"\s*>(?P<value>.*?)</ac:parameter>', re.DOTALL)
_TIME = re.compile(r'<time\b[^>]*?\bdatetime="(?P<value>[^"]*)"')


def play_ids(storage: str, *, what: str = "the Play DB page") -> list[str]:
    """The Play ids of the Play DB's table, in page order (rows without one are skipped).

    Raises:
        PageStructureError: no table has a Play_ID column.
    """
    table, headers = find_table(storage, ("play_id",), what)
    column = headers["play_id"]
    out = []
    for row in table.rows[1:]:
        if column < len(row.cells):
            value = cell_text(storage, row.cells[column])
            if value:
                out.append(value)
    return out


def normalize_status(value: str) -> str | None:
    """``Green``/``Amber``/``Red`` for a status as written (``GREEN``, ``yellow`` …), None when it is none of them."""
    return _STATUS_NAMES.get(value.strip().casefold())


def cell_status(markup: str) -> str | None:
    """The RAG status a cell shows: a status lozenge's title (or colour), else the cell's text."""
    macro = _STATUS_MACRO.search(markup)
    if macro:
        params = {m["name"]: m["value"] for m in _PARAM.finditer(macro["body"])}
        return normalize_status(params.get("title", "")) or normalize_status(params.get("colour", ""))
    return normalize_status(fragment_text(markup))


@dataclass(frozen=True)
class RowUpdate:
    """The values one Play's row should show; figures or status left out are not touched."""

    figures: Mapping[str, int] = field(default_factory=dict)
    status: str | None = None


@dataclass(frozen=True, slots=True)
class CellChange:
    """One cell that changes: its Play, its column (as the header writes it), the old and the new text."""

    play_id: str
    column: str
    old: str
    new: str

    def as_dict(self) -> dict[str, str]:
        """JSON-ready form (for the audit)."""
        return {"play_id": self.play_id, "column": self.column, "old": self.old, "new": self.new}


@dataclass
class PlayDbPlan:
    """The edit of the Play DB page that brings its rows up to date.

    Attributes:
        original: the page body it was planned on.
        storage: the new body (the original when nothing changes).
        changes: the cells that change.
        missing_plays: Plays with an update but no row in the table.
    """

    original: str
    storage: str
    changes: list[CellChange] = field(default_factory=list)
    missing_plays: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the page needs a write."""
        return self.storage != self.original

    @property
    def rows_changed(self) -> list[str]:
        """The Plays whose row changes, in page order."""
        return list(dict.fromkeys(c.play_id for c in self.changes))


def _status_splice(storage: str, cell: Cell, status: str) -> Splice:
    markup = cell_markup(storage, cell)
    macro = _STATUS_MACRO.search(markup)
    if not macro:
        return cell_splice(storage, cell, text(status))
    params = {m["name"]: m["value"] for m in _PARAM.finditer(macro["body"])}
    old_title = params.get("title", "")
    title = status.upper() if old_title.isupper() else status
    body = (
        f'<ac:parameter ac:name="colour">{_COLOURS[status]}</ac:parameter>'
        f'<ac:parameter ac:name="title">{text(title)}</ac:parameter>'
    )
    base = cell.inner_start
    # Only the lozenge's parameters change; its own attributes (macro id, local id) and the rest of the cell stay.
    return Splice(base + macro.start("body"), base + macro.end("body"), body)


def _date_splice(storage: str, cell: Cell, day: date) -> Splice:
    markup = cell_markup(storage, cell)
    stamp = _TIME.search(markup)
    if stamp:
        base = cell.inner_start
        return Splice(base + stamp.start("value"), base + stamp.end("value"), day.isoformat())
    return cell_splice(storage, cell, day.isoformat())


def _as_int(value: str) -> int | None:
    try:
        return int(value.replace(",", "").strip())
    except ValueError:
        return None


def plan_play_db(
    storage: str, updates: Mapping[str, RowUpdate], today: date, *, what: str = "the Play DB page"
) -> PlayDbPlan:
    """Plan the cell edits that make each Play's row show its update; ``last_updated`` moves only on rows that change.

    Args:
        storage: the page body as it is now in Confluence.
        updates: Play id → the values its row should show (Play ids match ignoring case).
        today: the date written into ``last_updated`` of rows that change.
        what: the page, for error messages.

    Returns:
        The plan; ``plan.changed`` is False when every row shows its values already.

    Raises:
        PageStructureError: the page is not well-formed, or its table lacks a needed column.
    """
    require_well_formed(storage, what)
    needed = ["play_id"]
    kinds = sorted({k for u in updates.values() for k in u.figures}, key=COUNTED_KINDS.index)
    needed += [FIGURE_COLUMNS[k] for k in kinds]
    if any(u.status for u in updates.values()):
        needed.append(STATUS_COLUMN)
    table, headers = find_table(storage, needed, what)
    header_text = [cell_text(storage, c) for c in table.rows[0].cells]
    wanted = {play.casefold(): (play, update) for play, update in updates.items()}
    seen: set[str] = set()
    splices: list[Splice] = []
    changes: list[CellChange] = []
    for row in table.rows[1:]:
        cells = row.cells
        if headers["play_id"] >= len(cells):
            continue
        play_id = cell_text(storage, cells[headers["play_id"]])
        match = wanted.get(play_id.casefold())
        if match is None:
            continue
        seen.add(play_id.casefold())
        _play, update = match
        row_changes: list[CellChange] = []
        for kind, value in update.figures.items():
            index = headers[FIGURE_COLUMNS[kind]]
            if index >= len(cells):
                raise PageStructureError(f"{what}: the row of {play_id} has no {header_text[index]} cell")
            old = cell_text(storage, cells[index])
            if _as_int(old) != int(value):
                splices.append(cell_splice(storage, cells[index], text(int(value))))
                row_changes.append(CellChange(play_id, header_text[index], old, str(int(value))))
        if update.status:
            index = headers[STATUS_COLUMN]
            if index >= len(cells):
                raise PageStructureError(f"{what}: the row of {play_id} has no {header_text[index]} cell")
            markup = cell_markup(storage, cells[index])
            if cell_status(markup) != update.status:
                splices.append(_status_splice(storage, cells[index], update.status))
                old = cell_text(storage, cells[index])
                row_changes.append(CellChange(play_id, header_text[index], old, update.status))
        if row_changes and LAST_UPDATED_COLUMN in headers and headers[LAST_UPDATED_COLUMN] < len(cells):
            index = headers[LAST_UPDATED_COLUMN]
            old = cell_text(storage, cells[index])
            if old != today.isoformat():
                splices.append(_date_splice(storage, cells[index], today))
                row_changes.append(CellChange(play_id, header_text[index], old, today.isoformat()))
        changes.extend(row_changes)
    new = apply_splices(storage, splices)
    if splices:
        require_well_formed(new, f"{what} after the edit")
    missing = [play for key, (play, _u) in wanted.items() if key not in seen]
    return PlayDbPlan(original=storage, storage=new, changes=changes, missing_plays=missing)


def page_link_markup(title: str) -> str:
    """A link to a page of the same space, as the editor writes it."""
    return f'<ac:link><ri:page ri:content-title="{attr(title)}" /></ac:link>'


def links_to(markup: str, title: str) -> bool:
    """Whether a piece of storage links to the page titled ``title`` (same space)."""
    return f'ri:content-title="{attr(title)}"' in markup


def plan_todo_link(storage: str, play_id: str, title: str, *, what: str = "the Play DB page") -> PlayDbPlan:
    """Plan putting a link to the Play's ToDo List into its row's ToDo cell (no change when it links there already).

    Raises:
        PageStructureError: the table has no ToDo column, or no row for the Play.
    """
    require_well_formed(storage, what)
    table, headers = find_table(storage, ("play_id", TODO_COLUMN), what)
    header = cell_text(storage, table.rows[0].cells[headers[TODO_COLUMN]])
    for row in table.rows[1:]:
        cells = row.cells
        if max(headers["play_id"], headers[TODO_COLUMN]) >= len(cells):
            continue
        if cell_text(storage, cells[headers["play_id"]]).casefold() != play_id.casefold():
            continue
        cell = cells[headers[TODO_COLUMN]]
        markup = cell_markup(storage, cell)
        if links_to(markup, title):
            return PlayDbPlan(original=storage, storage=storage)
        new = apply_splices(storage, [cell_splice(storage, cell, page_link_markup(title))])
        require_well_formed(new, f"{what} after the edit")
        change = CellChange(play_id, header, cell_text(storage, cell), title)
        return PlayDbPlan(original=storage, storage=new, changes=[change])
    raise PageStructureError(f"{what} has no row for Play {play_id!r}: add the Play to the table first")
