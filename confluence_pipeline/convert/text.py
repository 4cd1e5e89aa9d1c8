"""Markdown text helpers of the converter: whitespace, minimal escaping, code spans and fences, joining blocks.

Also the context markers the renderers pass down the tree in ``parent_tags`` (markdownify's convention):
:data:`INLINE` (no block output possible, e.g. inside a link or heading), :data:`NOFORMAT` (inside code: no
escaping), :data:`CELL` (inside a table cell) and :data:`LI` (inside a list item).
"""

from __future__ import annotations

import re
from typing import Any

INLINE = "_inline"
NOFORMAT = "_noformat"
CELL = "_cell"
LI = "li"
EMPTY: frozenset[str] = frozenset()
INLINE_TAGS = frozenset({INLINE})
CELL_TAGS = frozenset({CELL})
BR = object()
_ESCAPE = re.compile(r"[*`]|(?<!\w)_|_(?!\w)|<(?=[A-Za-z/!?])|&(?=#?[A-Za-z0-9]+;)|^ ?#|^ ?~~~")
# Every match of _ESCAPE holds one of these: searching for them is ten times cheaper than the substitution, and most
# text holds none.
_MAY_ESCAPE = re.compile(r"[*`_<&#~]")
_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_BACKTICK_RUN = re.compile(r"`+")
_INDENT_LINES = re.compile(r"\n(?=[^\n])")


def normalize_text(text: str) -> str:
    """Collapse whitespace the way a browser shows it, keeping one leading/trailing space if there was any."""
    # Zero-width characters are not whitespace to str.split, but a browser shows nothing for them.
    if "\u200b" in text or "\ufeff" in text:
        text = text.replace("\u200b", "").replace("\ufeff", "")
        if not text:
            return ""
    collapsed = " ".join(text.split())
    if not collapsed:
        return " "
    if text[0].isspace():
        collapsed = " " + collapsed
    if text[-1].isspace():
        collapsed += " "
    return collapsed


def render_text(text: str, tags: frozenset[str]) -> str:
    """Normalize the whitespace of a text node and escape it unless inside code (:data:`NOFORMAT`).

    Args:
        text: the text of an element or its tail, as parsed.
        tags: the context markers.

    Returns:
        The Markdown text (``" "`` for whitespace only).
    """
    # normalize_text and escape_text in one call: this runs for every text node of every page. Most text nodes are
    # normal already: printable (no line break, tab, NBSP or zero-width character) and without double spaces.
    collapsed = text if text.isprintable() and "  " not in text else normalize_text(text)
    if not collapsed or collapsed == " ":
        return collapsed
    if NOFORMAT in tags or _MAY_ESCAPE.search(collapsed) is None:
        return collapsed
    return _ESCAPE.sub(_escape_repl, collapsed)


def _escape_repl(match: re.Match[str]) -> str:
    found = match.group(0)
    return found[:-1] + "\\" + found[-1] if found[-1] != "~" else found[:-3] + "\\~~~"


def escape_text(text: str) -> str:
    """Escape only what would change the Markdown's meaning (see :mod:`confluence_pipeline.convert.storage`).

    Args:
        text: whitespace-normalized text.

    Returns:
        The text with minimal backslash escapes.
    """
    if _MAY_ESCAPE.search(text) is None:
        return text
    return _ESCAPE.sub(_escape_repl, text)


def unescape_markdown(text: str) -> str:
    """Remove Markdown backslash escapes (used to compare link text with URLs, and by the fidelity check).

    Args:
        text: Markdown text.

    Returns:
        The text without backslash escapes of ASCII punctuation.
    """
    return _UNESCAPE.sub(r"\1", text)


def escape_brackets(text: str) -> str:
    """Escape square brackets (link text, image alt text) and collapse whitespace to single spaces."""
    return " ".join(text.replace("[", "\\[").replace("]", "\\]").split())


def longest_backtick_run(text: str) -> int:
    """The length of the longest run of backticks in the text (0 without any)."""
    if "`" not in text:
        return 0
    return max(len(run) for run in _BACKTICK_RUN.findall(text))


def code_span(text: str) -> str:
    """Wrap text in a code span whose backtick fence is longer than any backtick run inside it."""
    if not text:
        return ""
    longest = longest_backtick_run(text)
    fence = "`" * (longest + 1)
    if longest or text[0] == " " or text[-1] == " ":
        text = f" {text} "
    return f"{fence}{text}{fence}"


def fence_code(code: str, language: str = "") -> str:
    """Wrap code in a fenced block whose fence is longer than any backtick run in the code.

    Args:
        code: the code, verbatim.
        language: the info string (may be empty).

    Returns:
        The fenced block surrounded by blank lines.
    """
    longest = longest_backtick_run(code)
    fence = "`" * max(3, longest + 1)
    if not code.endswith("\n"):
        code += "\n"
    return f"\n\n{fence}{language}\n{code}{fence}\n\n"


def join_rendered(pieces: list[Any]) -> str:
    """Concatenate rendered children, collapsing block separators and whitespace at block boundaries.

    Block output starts/ends with newlines; where two meet, the larger count (at most two) wins, as in markdownify.
    Spaces next to a block boundary are dropped; ``BR`` marks a hard line break.
    """
    if len(pieces) == 1 and pieces[0] is not BR:
        return pieces[0]
    out: list[str] = []
    newlines = 0
    space = False
    breaks = 0
    for piece in pieces:
        if piece is BR:
            if out:
                breaks += 1
                space = False
            continue
        if not piece:
            continue
        first = piece[0]
        last = piece[-1]
        if first == "\n" or last == "\n":
            core = piece.strip("\n")
            if not core:
                newlines = max(newlines, len(piece))
                continue
            # Only "none", "one" and "more than one" newline matter below.
            lead = 0 if first != "\n" else 2 if piece[1] == "\n" else 1
            trail = 0 if last != "\n" else 2 if piece[-2] == "\n" else 1
        else:
            core = piece
            lead = trail = 0
            if first == " " and not core.strip(" "):
                if out and not newlines and not breaks:
                    space = True
                continue
        if lead or newlines:
            if out:
                if out[-1].endswith(" "):
                    out[-1] = out[-1].rstrip(" ")
                out.append("\n\n" if max(lead, newlines) > 1 else "\n")
            elif lead:
                out.append("\n\n" if lead > 1 else "\n")
            core = core.lstrip(" ")
            breaks = 0
            space = False
        elif breaks:
            if out[-1].endswith(" "):
                out[-1] = out[-1].rstrip(" ")
            out.append("  \n" if breaks == 1 else "\n\n")
            core = core.lstrip(" ")
            breaks = 0
        elif space:
            if core[0] != " " and not out[-1].endswith(" "):
                out.append(" ")
            space = False
        elif core[0] == " " and out and out[-1].endswith(" "):
            core = core.lstrip(" ")
        if core:
            out.append(core)
        newlines = min(trail, 2)
    if newlines:
        out.append("\n" * newlines)
    elif space:
        out.append(" ")
    return "".join(out)


def _indent(content: str, width: int) -> str:
    if "\n" not in content:
        return content
    return _INDENT_LINES.sub("\n" + " " * width, content)


def list_item(marker: str, content: str, width: int | None = None) -> str:
    """Prefix content with a list marker, indenting its continuation lines by ``width`` (marker + 1 by default)."""
    if not content:
        return marker
    return marker + " " + _indent(content, len(marker) + 1 if width is None else width)


def as_block(text: str, parent_tags: frozenset[str]) -> str:
    """Surround text with blank lines, or with single spaces inside inline context; empty text stays empty."""
    text = text.strip()
    if not text:
        return ""
    if INLINE in parent_tags:
        return " " + " ".join(text.split()) + " "
    return "\n\n" + text + "\n\n"
