"""Fidelity of the elements whose content lives elsewhere, on the sandbox corpus (issue 11's table).

``python -m benchmarks.fidelity_references [--pages N] [--seed S]`` generates the sandbox corpus in both flavours
(Cloud writes page references with ``ri:content-id``, Data Center with ``ri:content-title`` + ``ri:space-key``),
builds a :class:`~confluence_pipeline.convert.resolve.PageIndex` of it (what the pipeline's store holds after a sync)
and converts every page with it. Per element it counts what a reader sees and what the Markdown kept:

* **gallery**: each image the macro shows (its ``include`` list, else the page's image attachments) appears as an
  image whose URL names the file;
* **include**: the source's own Markdown appears in full under a line linking the source;
* **excerpt-include**: the source's excerpt (or first paragraph) appears;
* **children / pagetree**: every page the macro lists (children to its depth, the tree to ``startDepth``) appears as
  a link with its title;
* **details, several bodies**: every body's words appear;
* **empty code with a title**: the title and an empty fenced block appear.

The pipeline's :mod:`benchmarks.fidelity` measures the real pages (which have none of these) the same way.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

from lxml import etree

from benchmarks.fidelity_markdown import IMAGE, LINK, text_words
from benchmarks.fidelity_visible import visible_text_of
from confluence_pipeline.convert.resolve import PageIndex, PageRef, ResolveLimits, StoredAttachment, StoredPage
from confluence_pipeline.convert.storage import ConvertContext, convert_storage
from confluence_pipeline.convert.xml import ac, parse_storage, ri

ELEMENTS = ("gallery", "include", "excerpt-include", "children", "pagetree", "details", "empty code")
BASE_URL = "https://wiki.example.com"


@dataclass
class ElementCounts:
    """Per element: occurrences in the bodies (``found``), units a reader sees (``total``), units kept."""

    found: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)

    def rate(self, element: str) -> float:
        """Kept ÷ total (1.0 when the element has nothing to show)."""
        return self.kept[element] / self.total[element] if self.total[element] else 1.0

    def format(self) -> str:
        """One line per element."""
        lines = [f"{'element':<16} {'macros':>6} {'shown':>6} {'kept':>6}  rate"]
        for element in ELEMENTS:
            lines.append(
                f"{element:<16} {self.found[element]:>6} {self.total[element]:>6} {self.kept[element]:>6}  "
                f"{self.rate(element):6.1%}"
            )
        return "\n".join(lines)


def _params(macro: etree._Element) -> dict[str, etree._Element]:
    return {(p.get(ac("name")) or "").lower(): p for p in macro if p.tag == ac("parameter")}


def _text(el: etree._Element | None) -> str:
    return " ".join("".join(el.itertext()).split()) if el is not None else ""


def corpus_index(corpus: object) -> tuple[PageIndex, dict[str, StoredPage]]:
    """A :class:`PageIndex` of every current page of a sandbox corpus, as the store holds them after a sync."""
    pages: dict[str, StoredPage] = {}
    attachments: dict[str, list[StoredAttachment]] = {}
    for page in corpus.pages(statuses=["current"]):  # type: ignore[attr-defined]
        atts = corpus.attachments(page)  # type: ignore[attr-defined]
        urls = {a.title: f"{BASE_URL}{a.download}" for a in atts}
        pages[str(page.id)] = StoredPage(
            page_id=str(page.id), space_key=page.space_key, title=page.title,
            parent_id=str(page.parent_id) if page.parent_id is not None else None, position=page.position,
            created_at=str(page.created_ms), modified_at=str(page.modified_ms),
            body_storage=corpus.body(page), attachments=urls,  # type: ignore[attr-defined]
        )  # fmt: skip
        attachments[str(page.id)] = [StoredAttachment(a.title, a.media_type, urls[a.title]) for a in atts]
    homes = {key: str(space.homepage_id) for key, space in corpus.spaces.items() if space.homepage_id}  # type: ignore[attr-defined]
    return PageIndex(pages.values(), attachments=attachments, homes=homes), pages


def measure_corpus(corpus: object, counts: ElementCounts | None = None) -> ElementCounts:
    """Convert every current page of a corpus with a resolver over it and count the elements kept."""
    counts = counts if counts is not None else ElementCounts()
    index, pages = corpus_index(corpus)
    for page in pages.values():
        context = ConvertContext(
            page_id=page.page_id, page_title=page.title, space_key=page.space_key, base_url=BASE_URL,
            attachments=page.attachments, resolver=index,
        )  # fmt: skip
        markdown = convert_storage(page.body_storage or "", context).markdown
        _measure_page(counts, index, page, markdown)
    return counts


def _link_titles(markdown: str) -> Counter[str]:
    return Counter(" ".join(m.group(1).replace("\\", "").split()) for m in LINK.finditer(markdown))


def _measure_page(counts: ElementCounts, index: PageIndex, page: StoredPage, markdown: str) -> None:
    root = parse_storage(page.body_storage or "").root
    images = [unquote(m.group(2)) for m in IMAGE.finditer(markdown)]
    links = _link_titles(markdown)
    output = Counter(text_words(markdown))
    for macro in root.iter(ac("structured-macro")):
        name = (macro.get(ac("name")) or "").lower()
        params = _params(macro)
        if name == "gallery":
            counts.found["gallery"] += 1
            listed = [n.strip() for n in _text(params.get("include")).split(",") if n.strip()]
            shown = listed or [a for a in page.attachments if re.search(r"\.(png|jpe?g|gif|svg)$", a, re.I)]
            for name_ in shown:
                counts.total["gallery"] += 1
                counts.kept["gallery"] += any(name_ in url for url in images)
        elif name in ("include", "excerpt-include"):
            counts.found[name] += 1
            target = params.get("").find(".//" + ri("page")) if params.get("") is not None else None
            source = _source(index, target, page.space_key)
            if source is None:
                continue
            counts.total[name] += 1
            # What the reader of the source sees, one include level down (its own includes are links there).
            nested = ConvertContext(
                page_id=source.page_id, space_key=source.space_key, base_url=BASE_URL, attachments=source.attachments,
                resolver=index, limits=ResolveLimits(include_depth=0),
            )  # fmt: skip
            source_md = convert_storage(source.body_storage or "", nested).markdown
            if name == "excerpt-include":
                first = next((p for p in parse_storage(source.body_storage or "").root.iter("p") if _text(p)), None)
                source_md = " ".join(visible_text_of(first)) if first is not None else ""
            wanted = Counter(text_words(source_md))
            ok = all(output[word] >= count for word, count in wanted.items())
            counts.kept[name] += ok
            if not ok:
                counts.misses.append(f"{name} of {source.page_id} on page {page.page_id}")
        elif name in ("children", "pagetree"):
            counts.found[name] += 1
            if name == "children":
                root_id = page.page_id
                depth = 10 if _text(params.get("all")).lower() == "true" else int(_text(params.get("depth")) or 1)
            else:
                root_id = index.home_page_id(page.space_key) or ""
                depth = int(_text(params.get("startdepth")) or 1)
            for listed_page in _descendants(index, root_id, depth):
                counts.total[name] += 1
                counts.kept[name] += links[listed_page.title] > 0
        elif name == "details":
            bodies = [b for b in macro if b.tag == ac("rich-text-body")]
            if len(bodies) < 2:
                continue
            counts.found["details"] += 1
            counts.total["details"] += len(bodies)
            counts.kept["details"] += sum(
                all(output[w] >= c for w, c in Counter(text_words(" ".join(visible_text_of(b)))).items())
                for b in bodies
            )
        elif (
            name in ("code", "noformat")
            and macro.find(ac("plain-text-body")) is None
            and params.get("title") is not None
        ):
            counts.found["empty code"] += 1
            counts.total["empty code"] += 1
            counts.kept["empty code"] += f"**{_text(params['title'])}**\n\n```" in markdown


def _source(index: PageIndex, target: etree._Element | None, space: str) -> StoredPage | None:
    if target is None:
        return None
    return index.page(
        PageRef(
            title=target.get(ri("content-title")), space_key=target.get(ri("space-key")) or space,
            content_id=target.get(ri("content-id")),
        )
    )  # fmt: skip


def _descendants(index: PageIndex, root_id: str, depth: int) -> list[StoredPage]:
    found: list[StoredPage] = []
    level = [root_id]
    for _ in range(depth):
        level_pages = [child for parent in level for child in index.children(parent)]
        found.extend(level_pages)
        level = [p.page_id for p in level_pages]
    return found


def measure(pages: int = 300, seed: int = 7) -> ElementCounts:
    """Measure the corpus ``generate_corpus(pages, seed)`` in both flavours."""
    from confluence_sandbox.corpus import generate_corpus

    counts = ElementCounts()
    for flavor in ("cloud", "dc"):
        measure_corpus(generate_corpus(pages, seed, flavor=flavor, include_fixtures=False), counts)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    """Print the element table; exit 1 when an element that occurs is not fully kept."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fidelity_references", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    counts = measure(args.pages, args.seed)
    print(counts.format())
    for miss in counts.misses[:20]:
        print("  miss:", miss)
    return 1 if any(counts.rate(e) < 1.0 for e in ELEMENTS) else 0


if __name__ == "__main__":
    sys.exit(main())
