"""Tables of a storage-format page located by character offsets, so that edits can be spliced into the original text.

Re-serialising a page with lxml would change bytes people never touched (attribute order, entities, self-closing
tags). So :func:`scan_tables` walks the page's tags with a small tokenizer that knows CDATA, comments and quoted
attributes, and records where each table, row and cell starts and ends in the original string. What a cell *says* is
read with the real XML parser (:func:`confluence_pipeline.convert.xml.parse_storage`), one cell at a time. An edit
replaces the inner text of a cell (or inserts a row) at those offsets and leaves every other character in place.

Pages that are not well-formed are refused for writing (:func:`require_well_formed`): an edit spliced into a page
the parser had to repair could land somewhere else than where it looks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape

from lxml import etree

from confluence_pipeline.convert.xml import AC_NS, parse_storage, qname

_TOKEN = re.compile(
    r"<!\[CDATA\[.*?\]\]>|<!--.*?-->|<\?.*?\?>|<!DOCTYPE[^>]*>"
    r"|<(?P<close>/?)(?P<name>[A-Za-z][\w:.\-]*)(?P<attrs>(?:[^>\"']|\"[^\"]*\"|'[^']*')*?)(?P<self>/?)>",
    re.DOTALL,
)
_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_SINGLE_P = re.compile(r"^\s*<p(?P<attrs>(?:\s[^>]*)?)>(?P<inner>.*)</p>\s*$", re.DOTALL)
_EMPTY_P = re.compile(r"^\s*<p(?P<attrs>(?:\s[^>]*?)?)\s*/>\s*$", re.DOTALL)
_CELL_TAGS = frozenset({"td", "th"})


class PageStructureError(ValueError):
    """A page does not have the table (or columns) it should; the message says what is missing."""


@dataclass(slots=True)
class Cell:
    """One ``td``/``th`` cell: ``start``/``end`` enclose the element, ``inner_start``/``inner_end`` its content."""

    tag: str
    start: int
    inner_start: int
    inner_end: int = -1
    end: int = -1
    start_tag: str = ""

    @property
    def self_closing(self) -> bool:
        """Whether the cell was written as ``<td />``."""
        return self.inner_start == self.end


@dataclass(slots=True)
class Row:
    """One ``tr`` and its cells."""

    start: int
    end: int = -1
    cells: list[Cell] = field(default_factory=list)


@dataclass(slots=True)
class Table:
    """One ``table``: its rows (only its own, not those of tables nested in its cells)."""

    start: int
    end: int = -1
    rows: list[Row] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Splice:
    """Replace ``original[start:end]`` with ``text``."""

    start: int
    end: int
    text: str


def scan_tables(storage: str) -> list[Table]:
    """Locate every table of a page, with its rows and cells, by offsets into ``storage``.

    Args:
        storage: the page body in storage format.

    Returns:
        The tables in document order (a table nested in a cell comes after its parent).
    """
    tables: list[Table] = []
    stack: list[tuple[str, object]] = []  # (tag name, Table/Row/Cell or None)
    for match in _TOKEN.finditer(storage):
        name = match.group("name")
        if not name:
            continue
        name = name.lower()
        closing, selfclosing = bool(match.group("close")), bool(match.group("self"))
        if closing:
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth][0] == name:
                    for tag, item in stack[depth:]:
                        _close(tag, item, match.start(), match.end())
                    del stack[depth:]
                    break
            continue
        item: object = None
        if name == "table":
            item = Table(start=match.start())
            tables.append(item)
        elif name == "tr":
            table = _innermost(stack, Table, stop=_CELL_TAGS)
            if table is not None:
                item = Row(start=match.start())
                table.rows.append(item)
        elif name in _CELL_TAGS:
            row = _innermost(stack, Row, stop=frozenset({"table"}))
            if row is not None:
                item = Cell(tag=name, start=match.start(), inner_start=match.end(), start_tag=match.group(0))
                row.cells.append(item)
        if selfclosing:
            _close(name, item, match.end(), match.end())
        else:
            stack.append((name, item))
    return tables


@dataclass(frozen=True, slots=True)
class Element:
    """An element's extent in the original text and its nesting depth (0 for top-level elements)."""

    name: str
    start: int
    end: int
    depth: int
    inner_start: int
    inner_end: int


def scan_elements(storage: str) -> list[Element]:
    """Every element of a page with its offsets, in document order of their start tags."""
    out: list[Element | None] = []
    stack: list[tuple[str, int, int, int]] = []  # name, start, inner start, index in out
    for match in _TOKEN.finditer(storage):
        name = match.group("name")
        if not name:
            continue
        name = name.lower()
        if match.group("close"):
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth][0] == name:
                    for level, (tag, start, inner, index) in enumerate(stack[depth:], start=depth):
                        # Elements left open inside (not in well-formed pages) end where their parent closes.
                        end = match.end() if level == depth else match.start()
                        out[index] = Element(tag, start, end, level, inner, match.start())
                    del stack[depth:]
                    break
            continue
        if match.group("self"):
            out.append(Element(name, match.start(), match.end(), len(stack), match.end(), match.end()))
        else:
            stack.append((name, match.start(), match.end(), len(out)))
            out.append(None)
    return [e for e in out if e is not None]


_HEADING = re.compile(r"^h([1-6])$")


def find_section(storage: str, elements: Sequence[Element], heading: str) -> tuple[Element, int] | None:
    """The first heading whose text is ``heading`` (ignoring case), and where its section ends.

    A section ends at the next heading of the same or a higher level within the same parent, or where that parent
    (a layout cell, a macro body) ends, or at the end of the page.
    """
    wanted = heading.casefold()
    for i, el in enumerate(elements):
        match = _HEADING.match(el.name)
        if not match or fragment_text(storage[el.inner_start : el.inner_end]).casefold() != wanted:
            continue
        level = int(match.group(1))
        parents = [p for p in elements[:i] if p.depth == el.depth - 1 and p.start < el.start < p.end]
        end = parents[-1].inner_end if parents else len(storage)
        for later in elements[i + 1 :]:
            if later.start >= end:
                break
            other = _HEADING.match(later.name)
            if later.depth == el.depth and other and int(other.group(1)) <= level:
                return el, later.start
        return el, end
    return None


def _innermost(stack: list[tuple[str, object]], kind: type, stop: frozenset[str]) -> object | None:
    for tag, item in reversed(stack):
        if isinstance(item, kind):
            return item
        if tag in stop:
            return None
    return None


def _close(tag: str, item: object, close_start: int, close_end: int) -> None:
    if isinstance(item, Cell):
        item.inner_end = close_start
        item.end = close_end
    elif isinstance(item, Row | Table):
        item.end = close_end


def require_well_formed(storage: str, what: str) -> None:
    """Refuse to edit a page the XML parser cannot read as it stands.

    Raises:
        PageStructureError: naming the page and the parser's first error.
    """
    parsed = parse_storage(storage)
    if parsed.error is not None:
        raise PageStructureError(
            f"{what} is not well-formed storage format ({parsed.error}); the pipeline will not edit it. Open it in "
            "the Confluence editor and save it once (the editor repairs the markup), then run again."
        )


def normalize_header(text: str) -> str:
    """A header's comparable form: ``Activity QTD``, ``activity_qtd`` and ``ACTIVITY-QTD`` are all ``activity_qtd``."""
    return _NOT_WORD.sub("_", text.casefold()).strip("_")


def cell_markup(storage: str, cell: Cell) -> str:
    """The markup inside a cell."""
    return "" if cell.self_closing else storage[cell.inner_start : cell.inner_end]


def fragment_text(markup: str) -> str:
    """The text a reader sees in a piece of storage markup, whitespace-normalised.

    Macro parameters are not text, except a status lozenge's title; a ``<time>`` shows its date; a link to a page
    without a body shows the page's title.
    """
    if not markup.strip():
        return ""
    if "<" not in markup and "&" not in markup:
        return _SPACES.sub(" ", markup).strip()
    root = parse_storage(markup).root
    return _SPACES.sub(" ", "".join(_texts(root))).strip()


def _texts(el: etree._Element) -> Iterable[str]:
    if el.text:
        yield el.text
    for child in el:
        if isinstance(child.tag, str):
            yield from _element_text(child)
        if child.tail:
            yield child.tail


def _element_text(el: etree._Element) -> Iterable[str]:
    tag = qname(el.tag)
    if tag == "ac:parameter":
        return
    if tag == "ac:structured-macro" and el.get(f"{{{AC_NS}}}name") == "status":
        for param in el:
            if qname(param.tag) == "ac:parameter" and param.get(f"{{{AC_NS}}}name") == "title":
                yield param.text or ""
        return
    if tag == "time":
        yield el.get("datetime") or ""
        return
    if tag == "ac:link" and not any(qname(c.tag).endswith("link-body") for c in el if isinstance(c.tag, str)):
        for child in el:
            if isinstance(child.tag, str) and qname(child.tag) == "ri:page":
                yield child.get("{http://www.atlassian.com/schema/confluence/4/ri/}content-title") or ""
        return
    if tag in {"br", "p", "li", "div"}:
        yield " "
    yield from _texts(el)
    if tag in {"p", "li", "div"}:
        yield " "


def cell_text(storage: str, cell: Cell) -> str:
    """The text a reader sees in a cell (see :func:`fragment_text`)."""
    return fragment_text(cell_markup(storage, cell))


def header_map(storage: str, row: Row) -> dict[str, int]:
    """Map each normalised header of a row to its column index (the first of duplicates wins)."""
    out: dict[str, int] = {}
    for index, cell in enumerate(row.cells):
        key = normalize_header(cell_text(storage, cell))
        if key and key not in out:
            out[key] = index
    return out


def find_table(storage: str, required: Sequence[str], what: str) -> tuple[Table, dict[str, int]]:
    """Find the first table whose first row names every column in ``required`` (any order, any case).

    Args:
        storage: the page body.
        required: normalised header names, e.g. ``("play_id", "action_type")``.
        what: the page, for the error message.

    Returns:
        The table and its header map.

    Raises:
        PageStructureError: no table has those columns; the message lists what the tables have.
    """
    seen: list[str] = []
    for table in scan_tables(storage):
        if not table.rows:
            continue
        headers = header_map(storage, table.rows[0])
        if all(name in headers for name in required):
            return table, headers
        seen.append(", ".join(headers) or "(no header)")
    found = "; ".join(f"[{s}]" for s in seen) if seen else "no table at all"
    raise PageStructureError(
        f"{what} has no table with the columns {', '.join(required)} (header names are compared ignoring case, "
        f"spaces and punctuation). Found: {found}. Add the missing columns to the table's first row."
    )


def render_cell_inner(old_inner: str, value_markup: str) -> str:
    """New inner markup for a cell: the value, kept inside the cell's single paragraph when it had one.

    The editor writes ``<td><p>7</p></td>`` (or ``<td><p /></td>`` when empty); older pages write ``<td>7</td>``.
    Whichever the cell used, the new value uses it too.
    """
    single = _SINGLE_P.match(old_inner)
    if single and "<p" not in single.group("inner") and "</p>" not in single.group("inner"):
        return f"<p{single.group('attrs')}>{value_markup}</p>"
    empty = _EMPTY_P.match(old_inner)
    if empty:
        return f"<p{empty.group('attrs')}>{value_markup}</p>"
    if "<p" in old_inner:
        return f"<p>{value_markup}</p>"
    return value_markup


def cell_splice(storage: str, cell: Cell, value_markup: str) -> Splice:
    """The splice that puts ``value_markup`` into a cell, keeping the cell's own tag and paragraph style."""
    if cell.self_closing:
        start_tag = cell.start_tag[:-2].rstrip() + ">"
        return Splice(cell.start, cell.end, f"{start_tag}{value_markup}</{cell.tag}>")
    inner = render_cell_inner(cell_markup(storage, cell), value_markup)
    return Splice(cell.inner_start, cell.inner_end, inner)


def apply_splices(storage: str, splices: Iterable[Splice]) -> str:
    """Apply non-overlapping splices to the original text; everything between them stays byte for byte.

    Raises:
        ValueError: two splices overlap (a bug in the caller).
    """
    ordered = sorted(splices, key=lambda s: (s.start, s.end))
    parts: list[str] = []
    position = 0
    for splice in ordered:
        if splice.start < position:
            raise ValueError(f"overlapping edits at offset {splice.start}")
        parts.append(storage[position : splice.start])
        parts.append(splice.text)
        position = splice.end
    parts.append(storage[position:])
    return "".join(parts)


def text(value: object) -> str:
    """Escape a plain value for use as storage-format text."""
    return escape(str(value), quote=False)


def attr(value: object) -> str:
    """Escape a plain value for use inside a double-quoted attribute."""
    return escape(str(value), quote=True)
