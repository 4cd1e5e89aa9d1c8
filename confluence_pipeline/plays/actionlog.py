"""The Action Log page: its table read into a pandas DataFrame, and rows appended for outbox events.

People keep the Action Log by hand, so the reader is forgiving: columns are found by their header names in any
order and case (``Created_At``, ``created at``), extra columns are kept, and rows that are blank or cannot be read
(no Play, no action type, a date that is not one) are counted and named, never fatal.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from confluence_pipeline.plays.tables import (
    Row,
    Table,
    attr,
    cell_markup,
    cell_text,
    find_table,
    require_well_formed,
    text,
)

if TYPE_CHECKING:
    import pandas as pd

REQUIRED_COLUMNS = ("play_id", "action_type", "created_at")
KNOWN_COLUMNS = ("log_id", "play_id", "action_type", "title", "url", "actor", "created_at")
COUNTED_KINDS = ("activity", "signal", "brief", "s2", "s3")
_KIND_ALIASES = {
    "activity": "activity",
    "activities": "activity",
    "signal": "signal",
    "signals": "signal",
    "brief": "brief",
    "briefs": "brief",
    "s2": "s2",
    "s3": "s3",
}
_HREF = re.compile(r'\bhref="([^"]*)"|ri:value="([^"]*)"')
_DATE_SEPARATORS = re.compile(r"^(\d{4})[./](\d{1,2})[./](\d{1,2})\.?(?=$|[ T])")
_FRAME_COLUMNS = ["row", "log_id", "play_id", "action_type", "kind", "title", "url", "actor", "created_at"]


def action_kind(action_type: str) -> str | None:
    """The counted kind of an action type (``Activity`` → ``activity``, ``S2`` → ``s2``), None for other types."""
    return _KIND_ALIASES.get(action_type.strip().casefold())


def parse_timestamp(value: str, tz: ZoneInfo) -> datetime:
    """Read a date or date-time as people write it in the log, as an aware UTC datetime.

    Accepted: ISO 8601 (``2026-10-05``, ``2026-10-05 14:30``, ``2026-10-05T05:30:00Z``, with an offset or not) and
    ``2026/10/05`` or ``2026.10.05`` dates. Without an offset the time is read in ``tz``.

    Raises:
        ValueError: with a message that quotes the value and the accepted forms.
    """
    raw = value.strip()
    normal = _DATE_SEPARATORS.sub(lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}", raw)
    try:
        when = datetime.fromisoformat(normal)
    except ValueError:
        raise ValueError(f"created_at {raw!r} is not a date (write YYYY-MM-DD or YYYY-MM-DD HH:MM)") from None
    if not 2000 <= when.year <= 2100:
        raise ValueError(f"created_at {raw!r} is not a plausible date")
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    return when.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A row that could not be used, and why."""

    row: int
    log_id: str
    problem: str

    def __str__(self) -> str:
        label = f"row {self.row}" + (f" ({self.log_id})" if self.log_id else "")
        return f"{label}: {self.problem}"


@dataclass
class ActionLog:
    """The Action Log's rows.

    Attributes:
        frame: one row per usable action: ``row`` (1-based, header excluded), ``log_id``, ``play_id``,
            ``action_type`` (as written), ``kind`` (counted kind or None), ``title``, ``url``, ``actor``,
            ``created_at`` (UTC), plus the extra columns under their normalised header names.
        blank_rows: numbers of the rows with no text at all.
        problems: rows that were skipped, with the reason.
        columns: the header as written, in page order.
    """

    frame: pd.DataFrame
    blank_rows: list[int] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        """Data rows in the table (usable, blank and malformed)."""
        return len(self.frame) + len(self.blank_rows) + len(self.problems)

    @property
    def log_ids(self) -> set[str]:
        """The log ids present, including those of skipped rows (an id marks an action that was applied)."""
        ids = {str(v) for v in self.frame["log_id"] if v}
        ids.update(p.log_id for p in self.problems if p.log_id)
        return ids


def _cells(storage: str, row: Row, width: int) -> list[tuple[str, str]]:
    values = [(cell_text(storage, c), cell_markup(storage, c)) for c in row.cells[:width]]
    return values + [("", "")] * (width - len(values))


def parse_action_log(storage: str, tz: ZoneInfo, *, what: str = "the Action Log page") -> ActionLog:
    """Read the Action Log's table into a DataFrame.

    Args:
        storage: the page body (storage format), e.g. the stored copy from the last sync.
        tz: the team's time zone, for dates written without an offset.
        what: the page, for error messages.

    Returns:
        The usable rows and the skipped ones.

    Raises:
        PageStructureError: no table has the columns play_id, action_type and created_at.
    """
    import pandas as pd  # imported when used: runs that never aggregate skip its seconds of import

    table, headers = find_table(storage, REQUIRED_COLUMNS, what)
    header_cells = table.rows[0].cells
    written = [cell_text(storage, c) for c in header_cells]
    width = len(header_cells)
    index = {name: i for name, i in headers.items()}
    extras = [name for name in headers if name not in KNOWN_COLUMNS]
    records: list[dict[str, Any]] = []
    blank: list[int] = []
    problems: list[RowProblem] = []
    for number, row in enumerate(table.rows[1:], start=1):
        cells = _cells(storage, row, width)
        if not any(value for value, _markup in cells):
            blank.append(number)
            continue

        def get(name: str, cells: list[tuple[str, str]] = cells) -> str:
            return cells[index[name]][0] if name in index else ""

        log_id = get("log_id")
        play_id, action_type, created = get("play_id"), get("action_type"), get("created_at")
        if not play_id:
            problems.append(RowProblem(number, log_id, "play_id is empty"))
            continue
        if not action_type:
            problems.append(RowProblem(number, log_id, "action_type is empty"))
            continue
        if not created:
            problems.append(RowProblem(number, log_id, "created_at is empty"))
            continue
        try:
            when = parse_timestamp(created, tz)
        except ValueError as exc:
            problems.append(RowProblem(number, log_id, str(exc)))
            continue
        url = get("url")
        if "url" in index:
            href = _HREF.search(cells[index["url"]][1])
            if href:
                url = html.unescape(href.group(1) or href.group(2)) or url
        record = {
            "row": number,
            "log_id": log_id,
            "play_id": play_id,
            "action_type": action_type,
            "kind": action_kind(action_type),
            "title": get("title"),
            "url": url,
            "actor": get("actor"),
            "created_at": when,
        }
        for name in extras:
            record[name] = get(name)
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=[*_FRAME_COLUMNS, *extras])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return ActionLog(frame=frame, blank_rows=blank, problems=problems, columns=written)


# --- appending rows --------------------------------------------------------------------------------------------------


def has_log_id(storage: str, table: Table, headers: Mapping[str, int], log_id: str) -> bool:
    """Whether a row of the table carries this log id."""
    column = headers["log_id"]
    return any(column < len(row.cells) and cell_text(storage, row.cells[column]) == log_id for row in table.rows[1:])


def _row_style(storage: str, table: Table) -> bool:
    """Whether the table's cells wrap their text in paragraphs (the editor's style) — taken from the last row."""
    sample = table.rows[-1] if len(table.rows) > 1 else table.rows[0]
    return any("<p" in cell_markup(storage, c) for c in sample.cells)


def append_row(storage: str, values: Mapping[str, str], *, what: str = "the Action Log page") -> str | None:
    """Append a row to the Action Log's table, unless a row with its ``log_id`` is there already.

    Args:
        storage: the page body as it is now in Confluence.
        values: plain-text values by column (``log_id``, ``play_id``, ``action_type``, ``title``, ``url``,
            ``actor``, ``created_at``); a ``url`` becomes a link. Columns the table does not have are dropped;
            columns it has that are not given stay empty.
        what: the page, for error messages.

    Returns:
        The new body, or None when the row is present already (the write was applied before).

    Raises:
        PageStructureError: the page has no table with a log_id column and the required columns.
    """
    require_well_formed(storage, what)
    table, headers = find_table(storage, ("log_id", *REQUIRED_COLUMNS), what)
    if has_log_id(storage, table, headers, values["log_id"]):
        return None
    paragraphs = _row_style(storage, table)
    cells = []
    by_index = {i: name for name, i in headers.items()}
    for i in range(len(table.rows[0].cells)):
        name = by_index.get(i)
        value = values.get(name, "") if name else ""
        markup = f'<a href="{attr(value)}">{text(value)}</a>' if name == "url" and value else text(value)
        if paragraphs:
            cells.append(f"<td><p>{markup}</p></td>" if markup else "<td><p /></td>")
        else:
            cells.append(f"<td>{markup}</td>")
    position = table.rows[-1].end
    return storage[:position] + "<tr>" + "".join(cells) + "</tr>" + storage[position:]
