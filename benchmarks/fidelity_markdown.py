"""The anatomy of converted Markdown, for the fidelity check: fences, prose words, headings, tables, leaks."""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import unquote, unquote_plus

from benchmarks.fidelity_visible import words
from confluence_pipeline.convert.text import unescape_markdown

_FENCE_OPEN = re.compile(r"^((?:[ \t]*>)*[ \t]*)(`{3,}|~{3,})(.*)$")
_HEADING_LINE = re.compile(r"^[ \t>]*#{1,6}[ \t]+(.*?)[ \t#]*$")
_SETEXT = re.compile(r"^[ \t>]*(?:=+|-+)[ \t]*$")
_TABLE_SEPARATOR = re.compile(r"^[ \t>]*\|(?:[ \t]*:?-{3,}:?[ \t]*\|)+[ \t]*$")
_TABLE_ROW = re.compile(r"^[ \t>]*\|")
LINK = re.compile(r"(?<!!)\[((?:\\.|\[[^\]]*\]|[^\]\\\[])*)\]\(([^)\s]*)\)")
IMAGE = re.compile(r"!\[((?:\\.|[^\]\\])*)\]\(([^)\s]*)\)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_LEAK = re.compile(r"(?<!\\)</?(?:ac|ri|at):[A-Za-z]|\b(?:ac|ri|at):[a-z-]+\s*=\s*[\"']")
_PANEL_LABEL = re.compile(r"\*\*(?:Info|Note|Warning|Tip|Panel|Success|Error):\*\*")
_MARKERS = re.compile(r"(?<!\\)(?:\*\*|~~|`+|\*)")


def fenced_blocks(markdown: str) -> list[tuple[str, str]]:
    """Find fenced code blocks, with container indentation and ``>`` prefixes removed.

    Args:
        markdown: Markdown text.

    Returns:
        (info string, content) per fenced block.
    """
    blocks = []
    lines = markdown.split("\n")
    index = 0
    while index < len(lines):
        match = _FENCE_OPEN.match(lines[index])
        if not match or (match.group(2)[0] == "`" and "`" in match.group(3)):
            index += 1
            continue
        prefix, fence, info = match.groups()
        content: list[str] = []
        index += 1
        while index < len(lines):
            line = lines[index]
            index += 1
            close = _FENCE_OPEN.match(line)
            if close and close.group(2).startswith(fence) and not close.group(3).strip():
                break
            if line.startswith(prefix):
                content.append(line[len(prefix) :])
            elif not line.strip(" >"):
                content.append("")
            else:
                content.append(line.lstrip(" >"))
        blocks.append((info.strip(), "\n".join(content)))
    return blocks


def strip_code(markdown: str) -> tuple[str, list[str]]:
    """Remove fenced blocks (returned separately) from Markdown."""
    kept: list[str] = []
    code: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        match = _FENCE_OPEN.match(line)
        if fence is not None:
            if match and match.group(2).startswith(fence) and not match.group(3).strip():
                fence = None
            else:
                code.append(line)
            continue
        if match and not (match.group(2)[0] == "`" and "`" in match.group(3)):
            fence = match.group(2)
            continue
        kept.append(line)
    return "\n".join(kept), code


def text_words(markdown: str) -> list[str]:
    """Words a reader of the rendered Markdown would read (syntax and link destinations removed)."""
    prose, code = strip_code(markdown)
    prose = IMAGE.sub(" ", prose)
    prose = LINK.sub(r"\1", prose)
    prose = _PANEL_LABEL.sub(" ", prose)
    prose = prose.replace("<br>", " ")
    prose = _MARKERS.sub("", prose)
    prose = unescape_markdown(prose)
    return words(prose) + words("\n".join(code))


def decoded_url(url: str) -> str:
    """Both percent-decodings of a URL (``+`` as space and kept), so a title matches either spelling."""
    return unquote_plus(url) + "\n" + unquote(url)


def markdown_headings(markdown: str) -> Counter[tuple[str, ...]]:
    """Count the ATX and setext headings of Markdown outside code, by their words.

    Args:
        markdown: Markdown text.

    Returns:
        Heading words → how many headings have them.
    """
    prose, _ = strip_code(markdown)
    lines = prose.split("\n")
    found: Counter[tuple[str, ...]] = Counter()
    for index, line in enumerate(lines):
        match = _HEADING_LINE.match(line)
        if match:
            found[tuple(words(unescape_markdown(match.group(1))))] += 1
        elif index + 1 < len(lines) and line.strip() and _SETEXT.match(lines[index + 1]):
            found[tuple(words(unescape_markdown(line)))] += 1
    return found


def markdown_tables(markdown: str) -> list[int]:
    """Count the rows of each GFM table outside code, in order (an all-empty header row does not count)."""
    prose, _ = strip_code(markdown)
    lines = prose.split("\n")
    tables = []
    for index, line in enumerate(lines):
        if index and _TABLE_SEPARATOR.match(line) and _TABLE_ROW.match(lines[index - 1]):
            header_empty = not words(lines[index - 1]) and not lines[index - 1].strip(" |>").strip()
            rows = 0 if header_empty else 1
            cursor = index + 1
            while cursor < len(lines) and _TABLE_ROW.match(lines[cursor]):
                rows += 1
                cursor += 1
            tables.append(rows)
    return tables


def leaked_markup(markdown: str) -> list[str]:
    """Find storage-format markup (``<ac:…``, ``ri:…=`` …) in Markdown prose, outside code blocks and spans.

    Args:
        markdown: Markdown text.

    Returns:
        The leaked fragments.
    """
    prose, _ = strip_code(markdown)
    return _LEAK.findall(CODE_SPAN.sub("", prose))
