"""Tables as GFM: header row, row/colspan values repeated into every spanned cell, cells flattened to one line."""

from __future__ import annotations

import re

from lxml import etree

from confluence_pipeline.convert.text import CELL, CELL_TAGS, EMPTY, as_block, code_span
from confluence_pipeline.convert.walk import StorageWalker
from confluence_pipeline.convert.xml import qname

_PIPE = re.compile(r"(?<!\\)\|")
_FENCE_LINE = re.compile(r"^(`{3,}|~{3,})")


class TableRendering(StorageWalker):
    """Renders ``table`` elements (inside a table cell: one ``a | b`` line per row)."""

    def _table(self, el: etree._Element, tags: frozenset[str], depth: int) -> str:
        rows: list[tuple[list[tuple[str, int, int, bool]], bool]] = []
        captions: list[str] = []

        def collect(container: etree._Element, in_head: bool) -> None:
            for child in container:
                if child.tag.__class__ is not str:
                    continue
                name = qname(child.tag)
                if name == "tr":
                    rows.append((self._row_cells(child, depth), in_head))
                elif name == "thead":
                    collect(child, True)
                elif name in ("tbody", "tfoot"):
                    collect(child, False)
                elif name == "caption":
                    captions.append(self._inline_children(child, EMPTY, depth))

        collect(el, False)
        grid = _span_grid([cells for cells, _ in rows])
        caption = " ".join(c for c in captions if c)
        if not grid:
            return as_block(caption, tags)
        width = max(len(row) for row in grid)
        for row in grid:
            row.extend([""] * (width - len(row)))
        if CELL in tags:
            # A table inside a cell cannot be a table: one "a | b" line per row (the outer cell escapes the pipes).
            lines = [" | ".join(cell for cell in row) for row in grid]
            if caption:
                lines.insert(0, caption)
            return "\n\n" + "\n".join(lines) + "\n\n"
        first_cells, first_in_head = rows[0]
        has_header = first_in_head or (bool(first_cells) and all(is_th for _, _, _, is_th in first_cells))
        # Header cells are bold already when rendered; a fully bold header cell only repeats that.
        header = [_unbold(cell) for cell in grid[0]] if has_header else [""] * width
        body = grid[1:] if has_header else grid
        lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(["---"] * width) + " |"]
        lines.extend("| " + " | ".join(row) + " |" for row in body)
        table = "\n".join(lines)
        if caption:
            return f"\n\n{caption}\n\n{table}\n\n"
        return f"\n\n{table}\n\n"

    def _row_cells(self, row: etree._Element, depth: int) -> list[tuple[str, int, int, bool]]:
        cells = []
        for cell in row:
            if cell.tag.__class__ is not str:
                continue
            name = qname(cell.tag)
            if name not in ("td", "th"):
                continue
            text = _flatten_cell(self._render_children(cell, CELL_TAGS, depth + 2))
            colspan = cell.get("colspan")
            rowspan = cell.get("rowspan")
            cells.append(
                (text, _span(colspan, 100) if colspan else 1, _span(rowspan, 0) if rowspan else 1, name == "th")
            )
        return cells


def _flatten_cell(markdown: str) -> str:
    """Turn a cell's block Markdown into one GFM table cell: lines joined with <br>, pipes escaped."""
    markdown = markdown.strip()
    if not markdown:
        return ""
    if "\n" not in markdown:
        return _PIPE.sub(r"\\|", markdown) if "|" in markdown else markdown
    out: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        stripped = line.strip()
        if fence is not None:
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                fence = None
            elif stripped:
                out.append(code_span(line.rstrip()))
            continue
        match = _FENCE_LINE.match(stripped)
        if match:
            fence = match.group(1)
            continue
        if stripped:
            out.append(stripped)
    return _PIPE.sub(r"\\|", "<br>".join(out))


def _unbold(cell: str) -> str:
    if len(cell) > 4 and cell.startswith("**") and cell.endswith("**") and cell.count("**") == 2:
        return cell[2:-2].strip()
    return cell


def _span(value: str | None, limit: int) -> int:
    """Parse a colspan (capped at ``limit``) or rowspan (``limit`` 0: 0 means "to the end", kept as 0)."""
    if not value:
        return 1
    value = value.strip()
    if not value.isdigit():
        return 1
    number = int(value)
    if limit:
        return max(1, min(number, limit))
    return number if number < 1_000_000 else 1_000_000


def _span_grid(rows: list[list[tuple[str, int, int, bool]]]) -> list[list[str]]:
    """Lay cells out on a grid, repeating row/colspan values into every cell they cover."""
    grid: list[list[str]] = []
    pending: dict[int, tuple[int, str]] = {}  # column -> (rows still covered below, value)
    total = len(rows)
    for index, cells in enumerate(rows):
        out: list[str] = []
        for text, colspan, rowspan, _ in cells:
            _fill_pending(out, pending)
            span_rows = total - index if rowspan == 0 else min(rowspan, total - index)
            for _ in range(colspan):
                if span_rows > 1:
                    pending[len(out)] = (span_rows - 1, text)
                out.append(text)
        _fill_pending(out, pending)
        for later in sorted(key for key in pending if key >= len(out)):
            out.extend([""] * (later - len(out)))
            _fill_pending(out, pending)
        if out:
            grid.append(out)
    return grid


def _fill_pending(out: list[str], pending: dict[int, tuple[int, str]]) -> None:
    """Append the values that cells spanning from rows above put into the next columns of this row."""
    while len(out) in pending:
        column = len(out)
        remaining, value = pending[column]
        out.append(value)
        if remaining <= 1:
            del pending[column]
        else:
            pending[column] = (remaining - 1, value)
