r"""How faithfully the converter keeps what readers see on real pages, and nothing else.

Run ``python -m benchmarks.fidelity [--baseline] [FIXTURE_DIR]``; it prints one row per page and
the totals, and exits non-zero when a threshold of :data:`THRESHOLDS` is missed (``--baseline`` first prints the
same table for plain ``markdownify.markdownify``, which shows the metrics do catch the failures the issue lists).
Tests call :func:`measure_fidelity`.

What is measured, and how:

* **Visible text** comes from an independent walk of the storage XML (:func:`visible_text`), written from what
  Confluence *renders*, not from the converter: text nodes, code bodies, captions, link bodies (or, for links
  without a body, the page title / file name / anchor Confluence shows), the few macro parameters that are
  displayed (status and panel/expand/code titles, jira keys, the file name of a file macro). It excludes what is
  never displayed: macro parameters otherwise, task ids/uuids/statuses, placeholders, ADF attributes, the
  ``ac:adf-fallback`` copy of ADF content, generated macros (toc, children…), ``ri:`` resource identifiers.
* **Words** are ``\w+`` runs, case-folded, so Hangul, Latin and digits all count; punctuation and emoji do not.
* **Word retention** = visible words found in the output (as a multiset: a word seen 3 times must appear 3 times)
  ÷ visible words.
* **Noise** = output words not accounted for by visible words ÷ output words, after removing Markdown syntax that
  is not text: link destinations, whole image references ``![alt](url)`` (the image itself is what readers see),
  fence info strings, the ``**Note:**``-style panel labels, ``<br>``, and backslash escapes.
* **Code fenced** = code/noformat macros (and ``pre``) whose body appears verbatim as a fenced block's content
  (container indentation and ``>`` prefixes removed); code inside table cells is rendered as code spans by design
  and counts when every non-blank line appears as a code span. **Language kept** = those with a ``language``
  parameter whose fence info string is that language ("none" ↦ "text").
* **Headings kept** = ``h1``–``h6`` outside tables with visible text that appear as ATX headings with the same
  words (headings inside table cells become bold text by design and are not counted).
* **Tables kept** = top-level tables (not nested in a cell) that appear, in order, as GFM tables with as many rows.
* **Links kept** = ``ac:link`` to pages and attachments, plus file macros, whose target title / file name is found
  in the (percent-decoded) URL of a Markdown link. External ``<a href>`` links are reported separately.
* **Images kept** = ``ac:image``/``img`` whose file name or URL is found in a Markdown image's URL.
* **Leaked markup** = ``<ac:…``, ``<ri:…``, ``<at:…`` tags or ``ac:…=``/``ri:…=`` attributes outside code.
* **Crashes** = pages whose conversion raised.
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, unquote_plus

import markdownify
from lxml import etree

from confluence_pipeline.convert.storage import ConvertContext, convert_storage
from confluence_pipeline.convert.xml import ac, parse_storage, qname, ri
from confluence_sandbox.fixtures import FixturePage, load_fixture_pages

Converter = Callable[[str, ConvertContext], str]

THRESHOLDS = {
    "word_retention": 0.995,
    "code_fenced": 1.0,
    "code_language": 1.0,
    "headings_kept": 1.0,
    "tables_kept": 1.0,
    "links_kept": 0.95,
    "images_kept": 1.0,
    "noise_max": 0.01,
}

_WORD = re.compile(r"\w+")
_SKIP = frozenset(
    {
        "ac:parameter",
        "ac:default-parameter",
        "ac:placeholder",
        "ac:task-id",
        "ac:task-uuid",
        "ac:task-status",
        "ac:adf-attribute",
        "ac:adf-mark",
        "at:declarations",
        "script",
        "style",
    }
)
_GENERATED = frozenset(
    {
        "toc",
        "children",
        "pagetree",
        "recently-updated",
        "contentbylabel",
        "excerpt-include",
        "include",
        "anchor",
        "attachments",
        "livesearch",
        "blog-posts",
        "page-index",
        "create-from-template",
        "listlabels",
        "gallery",
    }
)
_VISIBLE_PARAMS = {
    "status": ("title",),
    "info": ("title",),
    "note": ("title",),
    "warning": ("title",),
    "tip": ("title",),
    "panel": ("title",),
    "expand": ("title",),
    "code": ("title",),
    "jira": ("key",),
}
_BLOCKS = frozenset(
    {
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "td",
        "th",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "blockquote",
        "br",
        "hr",
        "section",
        "caption",
        "dl",
        "dt",
        "dd",
        "ac:layout",
        "ac:layout-section",
        "ac:layout-cell",
        "ac:rich-text-body",
        "ac:plain-text-body",
        "ac:adf-content",
        "ac:task-list",
        "ac:task",
        "ac:caption",
        "ac:image",
        "ac:adf-extension",
    }
)
_FILE_MACROS = frozenset({"view-file", "viewfile", "viewpdf", "viewdoc", "viewppt", "viewxls", "multimedia"})
_CODE_MACROS = frozenset({"code", "noformat"})

_FENCE_OPEN = re.compile(r"^((?:[ \t]*>)*[ \t]*)(`{3,}|~{3,})(.*)$")
_HEADING_LINE = re.compile(r"^[ \t>]*#{1,6}[ \t]+(.*?)[ \t#]*$")
_SETEXT = re.compile(r"^[ \t>]*(?:=+|-+)[ \t]*$")
_TABLE_SEPARATOR = re.compile(r"^[ \t>]*\|(?:[ \t]*:?-{3,}:?[ \t]*\|)+[ \t]*$")
_TABLE_ROW = re.compile(r"^[ \t>]*\|")
_LINK = re.compile(r"(?<!!)\[((?:\\.|\[[^\]]*\]|[^\]\\\[])*)\]\(([^)\s]*)\)")
_IMAGE = re.compile(r"!\[((?:\\.|[^\]\\])*)\]\(([^)\s]*)\)")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_LEAK = re.compile(r"(?<!\\)</?(?:ac|ri|at):[A-Za-z]|\b(?:ac|ri|at):[a-z-]+\s*=\s*[\"']")
_PANEL_LABEL = re.compile(r"\*\*(?:Info|Note|Warning|Tip|Panel|Success|Error):\*\*")
_MARKERS = re.compile(r"(?<!\\)(?:\*\*|~~|`+|\*)")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


@dataclass
class PageFidelity:
    """Fidelity counts for one page (``*_total`` is what the page has, ``*_kept`` what the Markdown kept)."""

    page_id: str
    title: str
    visible_words: int = 0
    retained_words: int = 0
    output_words: int = 0
    noise_words: int = 0
    code_total: int = 0
    code_kept: int = 0
    language_total: int = 0
    language_kept: int = 0
    headings_total: int = 0
    headings_kept: int = 0
    tables_total: int = 0
    tables_kept: int = 0
    links_total: int = 0
    links_kept: int = 0
    external_links_total: int = 0
    external_links_kept: int = 0
    images_total: int = 0
    images_kept: int = 0
    leaked_markup: int = 0
    crashed: bool = False
    seconds: float = 0.0
    missing_words: list[str] = field(default_factory=list)
    noise_sample: list[str] = field(default_factory=list)


def _ratio(kept: int, total: int) -> float:
    return kept / total if total else 1.0


@dataclass
class FidelityReport:
    """Per-page results and their totals (word metrics weighted by words, the others by element)."""

    pages: list[PageFidelity]

    def _sum(self, name: str) -> int:
        return sum(getattr(page, name) for page in self.pages)

    @property
    def word_retention(self) -> float:
        """Visible words found in the output ÷ visible words."""
        return _ratio(self._sum("retained_words"), self._sum("visible_words"))

    @property
    def noise(self) -> float:
        """Output words no reader sees ÷ output words."""
        total = self._sum("output_words")
        return self._sum("noise_words") / total if total else 0.0

    @property
    def code_fenced(self) -> float:
        """Code blocks kept verbatim in fences ÷ code blocks."""
        return _ratio(self._sum("code_kept"), self._sum("code_total"))

    @property
    def code_language(self) -> float:
        """Code blocks with a language whose fence names it ÷ code blocks with a language."""
        return _ratio(self._sum("language_kept"), self._sum("language_total"))

    @property
    def headings_kept(self) -> float:
        """Headings kept ÷ headings."""
        return _ratio(self._sum("headings_kept"), self._sum("headings_total"))

    @property
    def tables_kept(self) -> float:
        """Tables kept with all rows ÷ tables."""
        return _ratio(self._sum("tables_kept"), self._sum("tables_total"))

    @property
    def links_kept(self) -> float:
        """Page and attachment links kept ÷ such links."""
        return _ratio(self._sum("links_kept"), self._sum("links_total"))

    @property
    def external_links_kept(self) -> float:
        """External links kept ÷ external links."""
        return _ratio(self._sum("external_links_kept"), self._sum("external_links_total"))

    @property
    def images_kept(self) -> float:
        """Images kept ÷ images."""
        return _ratio(self._sum("images_kept"), self._sum("images_total"))

    @property
    def leaked_markup(self) -> int:
        """Storage-format markup fragments in the output."""
        return self._sum("leaked_markup")

    @property
    def crashes(self) -> int:
        """Pages whose conversion raised."""
        return sum(1 for page in self.pages if page.crashed)

    def failures(self) -> list[str]:
        """Describe every missed threshold.

        Returns:
            One message per missed threshold; empty when all pass.
        """
        problems = []
        for name in (
            "word_retention",
            "code_fenced",
            "code_language",
            "headings_kept",
            "tables_kept",
            "links_kept",
            "images_kept",
        ):
            value = getattr(self, name)
            if value < THRESHOLDS[name]:
                problems.append(f"{name} {value:.4f} < {THRESHOLDS[name]}")
        if self.noise > THRESHOLDS["noise_max"]:
            problems.append(f"noise {self.noise:.4f} > {THRESHOLDS['noise_max']}")
        if self.leaked_markup:
            problems.append(f"leaked markup {self.leaked_markup} > 0")
        if self.crashes:
            problems.append(f"crashes {self.crashes} > 0")
        return problems

    def format(self) -> str:
        """Render the per-page table and the totals.

        Returns:
            Plain text for a terminal.
        """
        header = (
            f"{'page':>11} {'words':>6} {'retain':>7} {'noise':>6} {'code':>5} {'lang':>5} {'head':>5} "
            f"{'table':>5} {'links':>5} {'ext':>5} {'img':>5} {'leak':>4} {'crash':>5} {'ms':>6}  title"
        )
        lines = [header, "-" * len(header)]
        for p in self.pages:
            lines.append(
                f"{p.page_id:>11} {p.visible_words:>6} {_ratio(p.retained_words, p.visible_words):>7.2%} "
                f"{(p.noise_words / p.output_words if p.output_words else 0):>6.2%} "
                f"{p.code_kept:>2}/{p.code_total:<2} {p.language_kept:>2}/{p.language_total:<2} "
                f"{p.headings_kept:>2}/{p.headings_total:<2} {p.tables_kept:>2}/{p.tables_total:<2} "
                f"{p.links_kept:>2}/{p.links_total:<2} {p.external_links_kept:>2}/{p.external_links_total:<2} "
                f"{p.images_kept:>2}/{p.images_total:<2} {p.leaked_markup:>4} {'yes' if p.crashed else 'no':>5} "
                f"{p.seconds * 1000:>6.1f}  {p.title[:40]}"
            )
        lines.append("-" * len(header))
        lines.extend(
            [
                f"word retention  {self.word_retention:8.2%}  (>= {THRESHOLDS['word_retention']:.1%})",
                f"noise           {self.noise:8.2%}  (<= {THRESHOLDS['noise_max']:.0%})",
                f"code fenced     {self.code_fenced:8.2%}  ({self._sum('code_kept')}/{self._sum('code_total')})",
                f"code language   {self.code_language:8.2%}  "
                f"({self._sum('language_kept')}/{self._sum('language_total')})",
                f"headings kept   {self.headings_kept:8.2%}  "
                f"({self._sum('headings_kept')}/{self._sum('headings_total')})",
                f"tables kept     {self.tables_kept:8.2%}  ({self._sum('tables_kept')}/{self._sum('tables_total')})",
                f"links kept      {self.links_kept:8.2%}  ({self._sum('links_kept')}/{self._sum('links_total')}; "
                f">= {THRESHOLDS['links_kept']:.0%})",
                f"external links  {self.external_links_kept:8.2%}  "
                f"({self._sum('external_links_kept')}/{self._sum('external_links_total')})",
                f"images kept     {self.images_kept:8.2%}  ({self._sum('images_kept')}/{self._sum('images_total')})",
                f"leaked markup   {self.leaked_markup:8d}",
                f"crashes         {self.crashes:8d}",
            ]
        )
        failures = self.failures()
        lines.append("RESULT: " + ("all thresholds met" if not failures else "; ".join(failures)))
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------- visible text


def _macro_params(el: etree._Element) -> dict[str, etree._Element]:
    params: dict[str, etree._Element] = {}
    for child in el:
        if child.tag == ac("parameter"):
            params.setdefault((child.get(ac("name")) or "").lower(), child)
        elif child.tag == ac("default-parameter"):
            params.setdefault("", child)
    return params


def visible_text(root: etree._Element, users: dict[str, str] | None = None) -> list[str]:
    """Collect the text Confluence shows for a parsed storage body, independently of the converter.

    Args:
        root: the parsed storage root.
        users: user reference → display name, for mentions (unknown users contribute no words).

    Returns:
        Text segments in document order.
    """
    users = users or {}
    out: list[str] = []

    def walk(el: etree._Element) -> None:
        name = qname(el.tag) if isinstance(el.tag, str) else ""
        if not name or name in _SKIP or name.startswith("ri:"):
            return
        if name in _BLOCKS:
            out.append("\n")
            start = len(out)
            if name == "li":
                number = _list_number(el)
                if number is not None:
                    out.append(f"{number} ")
            walk_element(el, name)
            copies = _span_copies(el) if name in ("td", "th") else 1
            if copies > 1:
                out.extend(out[start:] * (copies - 1))
            out.append("\n")
            return
        walk_element(el, name)

    def walk_element(el: etree._Element, name: str) -> None:
        if name in ("ac:structured-macro", "ac:macro"):
            macro = (el.get(ac("name")) or "").lower()
            if macro in _GENERATED:
                return
            params = _macro_params(el)
            for param in _VISIBLE_PARAMS.get(macro, ()):
                if param in params:
                    out.append(" " + "".join(params[param].itertext()) + " ")
            if macro == "status" and "title" not in params and "" in params:
                out.append(" " + "".join(params[""].itertext()) + " ")
            if macro in _FILE_MACROS:
                for attachment in el.iter(ri("attachment")):
                    out.append("\n" + (attachment.get(ri("filename")) or "") + "\n")
            for child in el:
                if child.tag in (ac("rich-text-body"), ac("plain-text-body")):
                    walk_children(child)
            return
        if name == "ac:adf-extension":
            nodes = [child for child in el if child.tag == ac("adf-node")]
            for child in nodes or [child for child in el if child.tag == ac("adf-fallback")]:
                walk_children(child)
            return
        if name == "ac:link":
            bodies = [child for child in el if child.tag in (ac("link-body"), ac("plain-text-link-body"))]
            if bodies:
                for body in bodies:
                    walk_children(body)
                return
            for target in el:
                kind = qname(target.tag) if isinstance(target.tag, str) else ""
                if kind == "ri:page":
                    out.append(target.get(ri("content-title")) or el.get(ac("anchor")) or "")
                elif kind == "ri:attachment":
                    out.append(target.get(ri("filename")) or "")
                elif kind == "ri:user":
                    ref = target.get(ri("account-id")) or target.get(ri("userkey")) or target.get(ri("username"))
                    out.append(users.get(ref or "", ""))
                elif kind in ("ri:url", "ri:space", "ri:blog-post"):
                    out.append(
                        target.get(ri("value")) or target.get(ri("space-key")) or target.get(ri("content-title")) or ""
                    )
            if not len(el) and el.get(ac("anchor")):
                out.append(el.get(ac("anchor")) or "")
            return
        if name == "ac:image":
            for child in el:
                if child.tag == ac("caption"):
                    walk_children(child)
            return
        if name == "time":
            out.append(el.get("datetime") or "".join(el.itertext()))
            return
        walk_children(el)

    def walk_children(el: etree._Element) -> None:
        if el.text:
            out.append(el.text)
        for child in el:
            if isinstance(child.tag, str):
                walk(child)
            if child.tail:
                out.append(child.tail)

    walk_children(root)
    return out


def _list_number(item: etree._Element) -> int | None:
    """The number a reader sees before an item of an ordered list (None for bullets)."""
    parent = item.getparent()
    if parent is None or not isinstance(parent.tag, str) or qname(parent.tag) != "ol":
        return None
    start = (parent.get("start") or "1").strip()
    number = int(start) if start.isdigit() else 1
    for sibling in item.itersiblings(preceding=True):
        if isinstance(sibling.tag, str) and qname(sibling.tag) == "li":
            number += 1
    return number


def _span_copies(cell: etree._Element) -> int:
    """How many grid cells a spanned table cell covers (a reader sees its value across all of them)."""

    def number(value: str | None) -> int:
        return int(value) if value and value.strip().isdigit() and int(value) > 0 else 1

    row = cell.getparent()
    remaining = 1 + sum(1 for sibling in row.itersiblings() if sibling.tag == "tr") if row is not None else 1
    return min(number(cell.get("colspan")), 100) * min(number(cell.get("rowspan")), remaining)


def words(text: str) -> list[str]:
    r"""Split text into case-folded ``\w+`` words (zero-width spaces removed first).

    Args:
        text: any text.

    Returns:
        The words.
    """
    return _WORD.findall(text.replace("\u200b", "").casefold())


# ------------------------------------------------------------------------------------------- Markdown anatomy


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


def _strip_code(markdown: str) -> tuple[str, list[str]]:
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


def _text_words(markdown: str) -> list[str]:
    """Words a reader of the rendered Markdown would read (syntax and link destinations removed)."""
    prose, code = _strip_code(markdown)
    prose = _IMAGE.sub(" ", prose)
    prose = _LINK.sub(r"\1", prose)
    prose = _PANEL_LABEL.sub(" ", prose)
    prose = prose.replace("<br>", " ")
    prose = _MARKERS.sub("", prose)
    prose = _ESCAPE.sub(r"\1", prose)
    return words(prose) + words("\n".join(code))


def _decoded(url: str) -> str:
    return unquote_plus(url) + "\n" + unquote(url)


# -------------------------------------------------------------------------------------------------- measuring


def _in(el: etree._Element, names: Iterable[str]) -> bool:
    wanted = set(names)
    parent = el.getparent()
    while parent is not None:
        if isinstance(parent.tag, str) and qname(parent.tag) in wanted:
            return True
        parent = parent.getparent()
    return False


def _convert(storage: str, context: ConvertContext) -> str:
    return convert_storage(storage, context).markdown


def plain_markdownify(storage: str, context: ConvertContext) -> str:
    """The baseline: ``markdownify.markdownify`` on the raw storage format.

    Args:
        storage: the storage body.
        context: unused; plain markdownify knows nothing of the page.

    Returns:
        Its Markdown.
    """
    return markdownify.markdownify(storage)


def measure_page(page: FixturePage, converter: Converter = _convert) -> PageFidelity:
    """Convert one page and measure it.

    Args:
        page: the fixture page.
        converter: storage + context → Markdown; ``convert_storage`` by default.

    Returns:
        Its fidelity counts.
    """
    result = PageFidelity(page.page_id, page.title)
    started = time.perf_counter()
    try:
        markdown = converter(page.storage, page.context)
    except Exception:  # a crash is a measured outcome here, not a reason to stop measuring
        result.crashed = True
        return result
    result.seconds = time.perf_counter() - started
    root = parse_storage(page.storage).root
    _measure_words(result, root, markdown, dict(page.context.users))
    _measure_code(result, root, markdown)
    _measure_headings(result, root, markdown)
    _measure_tables(result, root, markdown)
    _measure_links(result, root, markdown)
    prose, _ = _strip_code(markdown)
    result.leaked_markup = len(_LEAK.findall(_CODE_SPAN.sub("", prose)))
    return result


def _measure_words(result: PageFidelity, root: etree._Element, markdown: str, users: dict[str, str]) -> None:
    visible = Counter(words("".join(visible_text(root, users))))
    output = Counter(_text_words(markdown))
    result.visible_words = sum(visible.values())
    result.retained_words = sum(min(count, output[word]) for word, count in visible.items())
    result.output_words = sum(output.values())
    noise = {word: count - visible[word] for word, count in output.items() if count > visible[word]}
    result.noise_words = sum(noise.values())
    result.missing_words = sorted(word for word, count in visible.items() if output[word] < count)[:20]
    result.noise_sample = sorted(noise)[:20]


def _measure_code(result: PageFidelity, root: etree._Element, markdown: str) -> None:
    fences = fenced_blocks(markdown)
    spans = {match.group(2).strip() for match in _CODE_SPAN.finditer(markdown.replace("\\|", "|"))}
    used: set[int] = set()
    candidates: list[tuple[str, str, bool]] = []  # (code, language, in table cell)
    for el in root.iter(ac("structured-macro"), ac("macro"), "pre"):
        if _in(el, ["ac:adf-fallback"]):
            continue
        if el.tag == "pre":
            candidates.append(("".join(el.itertext()).lstrip("\n"), "", _in(el, ["td", "th"])))
            continue
        if (el.get(ac("name")) or "").lower() not in _CODE_MACROS:
            continue
        params = _macro_params(el)
        body = el.find(ac("plain-text-body"))
        code = "".join(body.itertext()) if body is not None else ""
        language = "".join(params["language"].itertext()).strip().lower() if "language" in params else ""
        candidates.append((code, language, _in(el, ["td", "th"])))
    for code, language, in_cell in candidates:
        if not code.strip():
            continue
        result.code_total += 1
        if language:
            result.language_total += 1
        if in_cell:
            lines = [line.strip() for line in code.split("\n") if line.strip()]
            if all(line in spans for line in lines):
                result.code_kept += 1
                result.language_kept += 1 if language else 0
            continue
        for position, (info, content) in enumerate(fences):
            if position not in used and content.rstrip("\n") == code.rstrip("\n"):
                used.add(position)
                result.code_kept += 1
                expected = "text" if language == "none" else language
                if language and info.lower() == expected:
                    result.language_kept += 1
                break


def _measure_headings(result: PageFidelity, root: etree._Element, markdown: str) -> None:
    prose, _ = _strip_code(markdown)
    lines = prose.split("\n")
    found: Counter[tuple[str, ...]] = Counter()
    for index, line in enumerate(lines):
        match = _HEADING_LINE.match(line)
        if match:
            found[tuple(words(_ESCAPE.sub(r"\1", match.group(1))))] += 1
        elif index + 1 < len(lines) and line.strip() and _SETEXT.match(lines[index + 1]):
            found[tuple(words(_ESCAPE.sub(r"\1", line)))] += 1
    for el in root.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        if _in(el, ["td", "th", "ac:adf-fallback"]):
            continue
        expected = tuple(words("".join(visible_text_of(el))))
        if not expected:
            continue
        result.headings_total += 1
        if found[expected] > 0:
            found[expected] -= 1
            result.headings_kept += 1


def visible_text_of(el: etree._Element) -> list[str]:
    """Visible text of one element (see :func:`visible_text`).

    Args:
        el: an element of a parsed storage tree.

    Returns:
        Its text segments.
    """
    wrapper = etree.Element("wrapper")
    wrapper.append(_copy(el))
    return visible_text(wrapper)


def _copy(el: etree._Element) -> etree._Element:
    copy = etree.fromstring(etree.tostring(el))
    copy.tail = None
    return copy


def _output_tables(markdown: str) -> list[int]:
    prose, _ = _strip_code(markdown)
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


def _measure_tables(result: PageFidelity, root: etree._Element, markdown: str) -> None:
    output = _output_tables(markdown)
    cursor = 0
    for table in root.iter("table"):
        if _in(table, ["table", "ac:adf-fallback"]):
            continue
        rows = sum(1 for row in table.iter("tr") if _nearest_table(row) is table)
        result.tables_total += 1
        if cursor < len(output) and output[cursor] == rows:
            result.tables_kept += 1
        cursor += 1


def _nearest_table(el: etree._Element) -> etree._Element | None:
    parent = el.getparent()
    while parent is not None and parent.tag != "table":
        parent = parent.getparent()
    return parent


def _measure_links(result: PageFidelity, root: etree._Element, markdown: str) -> None:
    prose, _ = _strip_code(markdown)
    links = [_decoded(match.group(2)) for match in _LINK.finditer(prose)]
    links += [_decoded(url) for url in re.findall(r"<(https?://[^>\s]+)>", prose)]
    images = [_decoded(match.group(2)) for match in _IMAGE.finditer(prose)]
    link_used: set[int] = set()
    image_used: set[int] = set()

    def consume(pool: list[str], used: set[int], needle: str) -> bool:
        needle = needle.strip()
        for position, url in enumerate(pool):
            if position not in used and needle and needle in url:
                used.add(position)
                return True
        return False

    for el in root.iter(ac("link"), ac("structured-macro"), ac("image"), "a", "img"):
        if _in(el, ["ac:adf-fallback"]):
            continue
        tag = qname(el.tag)
        if tag == "ac:link":
            page = el.find(ri("page"))
            attachment = el.find(ri("attachment"))
            needle = None
            if page is not None and page.get(ri("content-title")):
                needle = page.get(ri("content-title"))
            elif attachment is not None:
                needle = attachment.get(ri("filename"))
            if needle:
                result.links_total += 1
                result.links_kept += consume(links, link_used, needle)
        elif tag == "ac:structured-macro" and (el.get(ac("name")) or "").lower() in _FILE_MACROS:
            for attachment in el.iter(ri("attachment")):
                result.links_total += 1
                result.links_kept += consume(links, link_used, attachment.get(ri("filename")) or "")
        elif tag == "a" and el.get("href"):
            result.external_links_total += 1
            result.external_links_kept += consume(links, link_used, unquote(el.get("href") or ""))
        elif tag == "ac:image":
            target = el.find(ri("attachment"))
            url = el.find(ri("url"))
            if target is not None:
                needle = target.get(ri("filename")) or ""
            else:
                needle = (url.get(ri("value")) or "") if url is not None else ""
            if needle:
                result.images_total += 1
                result.images_kept += consume(images, image_used, needle)
        elif tag == "img" and el.get("src"):
            result.images_total += 1
            result.images_kept += consume(images, image_used, unquote(el.get("src") or ""))


def measure_fidelity(
    pages: Sequence[FixturePage] | None = None, folder: Path | str | None = None, converter: Converter = _convert
) -> FidelityReport:
    """Measure every fixture page.

    Args:
        pages: pages to measure; loaded from ``folder`` (or the default fixture directory) when omitted.
        folder: fixture directory used when ``pages`` is omitted.
        converter: storage + context → Markdown; ``convert_storage`` by default.

    Returns:
        The report.
    """
    if pages is None:
        pages = load_fixture_pages(folder)
    return FidelityReport([measure_page(page, converter) for page in pages])


def main(argv: Sequence[str] | None = None) -> int:
    """Print the fidelity table for a fixture directory; exit 1 when a threshold is missed.

    Args:
        argv: command-line arguments (``[FIXTURE_DIR]``).

    Returns:
        The process exit code.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    baseline = "--baseline" in args
    args = [arg for arg in args if arg != "--baseline"]
    pages = load_fixture_pages(args[0] if args else None)
    if baseline:
        print("plain markdownify.markdownify (baseline, for comparison):")
        print(measure_fidelity(pages, converter=plain_markdownify).format())
        print()
        print("convert_storage:")
    report = measure_fidelity(pages)
    print(report.format())
    return 1 if report.failures() else 0


if __name__ == "__main__":
    raise SystemExit(main())
