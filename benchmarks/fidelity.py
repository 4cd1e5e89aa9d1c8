r"""How faithfully the converter keeps what readers see on real pages, and nothing else.

Run ``python -m benchmarks.fidelity [--baseline] [FIXTURE_DIR]``; it prints one row per page and
the totals, and exits non-zero when a threshold of :data:`THRESHOLDS` is missed (``--baseline`` first prints the
same table for plain ``markdownify.markdownify``, which shows the metrics do catch the failures the issue lists).
Tests call :func:`measure_fidelity`. The macros whose content lives on other pages (include, gallery, children, ...)
do not occur on these pages; :mod:`benchmarks.fidelity_references` measures them on the sandbox corpus.

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
from urllib.parse import unquote

import markdownify
from lxml import etree

from benchmarks.fidelity_markdown import (
    CODE_SPAN,
    IMAGE,
    LINK,
    decoded_url,
    fenced_blocks,
    leaked_markup,
    markdown_headings,
    markdown_tables,
    strip_code,
    text_words,
)
from benchmarks.fidelity_visible import CODE_MACROS, FILE_MACROS, macro_params, visible_text, visible_text_of, words
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
    result.leaked_markup = len(leaked_markup(markdown))
    return result


def _measure_words(result: PageFidelity, root: etree._Element, markdown: str, users: dict[str, str]) -> None:
    visible = Counter(words("".join(visible_text(root, users))))
    output = Counter(text_words(markdown))
    result.visible_words = sum(visible.values())
    result.retained_words = sum(min(count, output[word]) for word, count in visible.items())
    result.output_words = sum(output.values())
    noise = {word: count - visible[word] for word, count in output.items() if count > visible[word]}
    result.noise_words = sum(noise.values())
    result.missing_words = sorted(word for word, count in visible.items() if output[word] < count)[:20]
    result.noise_sample = sorted(noise)[:20]


def _measure_code(result: PageFidelity, root: etree._Element, markdown: str) -> None:
    fences = fenced_blocks(markdown)
    spans = {match.group(2).strip() for match in CODE_SPAN.finditer(markdown.replace("\\|", "|"))}
    used: set[int] = set()
    candidates: list[tuple[str, str, bool]] = []  # (code, language, in table cell)
    for el in root.iter(ac("structured-macro"), ac("macro"), "pre"):
        if _in(el, ["ac:adf-fallback"]):
            continue
        if el.tag == "pre":
            candidates.append(("".join(el.itertext()).lstrip("\n"), "", _in(el, ["td", "th"])))
            continue
        if (el.get(ac("name")) or "").lower() not in CODE_MACROS:
            continue
        params = macro_params(el)
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
    found = markdown_headings(markdown)
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


def _measure_tables(result: PageFidelity, root: etree._Element, markdown: str) -> None:
    output = markdown_tables(markdown)
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
    prose, _ = strip_code(markdown)
    links = [decoded_url(match.group(2)) for match in LINK.finditer(prose)]
    links += [decoded_url(url) for url in re.findall(r"<(https?://[^>\s]+)>", prose)]
    images = [decoded_url(match.group(2)) for match in IMAGE.finditer(prose)]
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
        elif tag == "ac:structured-macro" and (el.get(ac("name")) or "").lower() in FILE_MACROS:
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
