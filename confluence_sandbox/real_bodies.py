"""Real-size page bodies: the bundled real pages, recombined and varied, for the corpus profile ``real``.

The generated bodies of :mod:`confluence_sandbox.bodies` are small (about 4 KB and 5 chunks a page), while the real
Cloud pages in ``fixtures/`` average about 18 KB and 12 chunks: a benchmark on the generated ones flatters the
pipeline about three times. Here every page body is built from the real pages themselves:

* the page draws one real page as its base (so the mix of lengths, tables, code blocks, macros, images and links
  follows the real pages');
* the base is cut into sections at its top-level headings; some sections are swapped for sections of other real
  pages, and the length is scaled by a log-normal factor (median 1) by appending sections of other pages or
  dropping trailing ones;
* digit runs in the text (not in markup, CDATA or entity references) are replaced with others of the same length,
  and an opening paragraph names the page's title and code, so that no two pages hold the same text.

Bodies depend only on ``(seed, page id)`` and the page's title and code; nothing is stored per page.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from html import escape
from random import Random

from confluence_sandbox.fixtures import load_fixture_pages

# Markup tokens: CDATA (code macros hold arbitrary "<" inside), comments, and tags (open, close, self-closing).
_TOKEN = re.compile(r"<!\[CDATA\[.*?\]\]>|<!--.*?-->|<(/?)([A-Za-z][\w:.-]*)[^>]*?(/?)>", re.DOTALL)
_LAYOUT = re.compile(r"</?ac:layout(?:-section|-cell)?\b[^>]*>")
_HEADING = re.compile(r"h[1-6]")
# Entity references (``&#8594;``) are matched so that their digits stay as they are.
_DIGITS = re.compile(r"&#?\w+;|\d+")
# Log-normal spread of a page's length around its base page's (sigma of the log).
_LENGTH_SIGMA = 0.3
_SWAP_SHARE = 0.3


@dataclass(frozen=True, slots=True)
class _Section:
    """A top-level heading and the blocks under it (or the blocks before the first heading).

    The markup is kept cut around the digit runs of its text, so that a page's variation costs a join, not a parse:
    ``markup == texts[0] + digits[0] + texts[1] + …`` with ``digits[i]`` the length of the i-th run.
    """

    texts: tuple[str, ...]
    digits: tuple[int, ...]
    size: int

    @classmethod
    def of(cls, markup: str) -> _Section:
        """Cut ``markup`` around the digit runs of its text (never those in tags, CDATA or entity references)."""
        texts: list[str] = []
        digits: list[int] = []
        current: list[str] = []
        position = 0
        for match in [*_TOKEN.finditer(markup), None]:
            segment = markup[position : match.start() if match else len(markup)]
            last = 0
            for run in _DIGITS.finditer(segment):
                if run.group().startswith("&"):
                    continue
                current.append(segment[last : run.start()])
                texts.append("".join(current))
                current = []
                digits.append(len(run.group()))
                last = run.end()
            current.append(segment[last:])
            if match is not None:
                current.append(match.group())
                position = match.end()
        texts.append("".join(current))
        return cls(tuple(texts), tuple(digits), len(markup))

    def render(self, rng: Random) -> str:
        """The markup with every digit run of its text replaced by random digits of the same length."""
        out = [self.texts[0]]
        for length, text in zip(self.digits, self.texts[1:], strict=True):
            out.append(str(rng.randrange(10**length)).zfill(length))
            out.append(text)
        return "".join(out)


def _top_level_blocks(storage: str) -> list[str]:
    """Cut a storage body into its top-level elements (text between them stays with the element before)."""
    blocks: list[str] = []
    depth = 0
    start = 0
    for match in _TOKEN.finditer(storage):
        closing, name, self_closing = match.group(1), match.group(2), match.group(3)
        if name is None:
            continue  # CDATA or comment: no nesting change
        if closing:
            depth -= 1
        elif not self_closing:
            depth += 1
        if depth == 0:
            blocks.append(storage[start : match.end()])
            start = match.end()
    if start < len(storage):
        if blocks:
            blocks[-1] += storage[start:]
        else:
            blocks.append(storage[start:])
    return blocks


def _sections(storage: str) -> tuple[_Section, ...]:
    # Layout wrappers (sections and cells) would make a page one block; their content is what varies.
    blocks = _top_level_blocks(_LAYOUT.sub("", storage))
    sections: list[list[str]] = [[]]
    for block in blocks:
        match = _TOKEN.match(block.lstrip())
        if match and match.group(2) and _HEADING.fullmatch(match.group(2)) and sections[-1]:
            sections.append([])
        sections[-1].append(block)
    return tuple(_Section.of("".join(parts)) for parts in sections if parts)


@cache
def _library() -> tuple[tuple[_Section, ...], ...]:
    """The real pages, each as its sections (loaded once per process)."""
    return tuple(_sections(page.storage) for page in sorted(load_fixture_pages(), key=lambda p: p.id))


def render_real_body(seed: int, page_id: int, title: str, code: str) -> str:
    """A real-size storage body for a page (see the module docstring).

    Args:
        seed: the corpus seed.
        page_id: the page id.
        title: the page title (named in the opening paragraph).
        code: the page's unique code (named in the opening paragraph, so searches for it find the page).

    Returns:
        Storage-format XHTML.
    """
    rng = Random(f"{seed}:{page_id}:real")
    library = _library()
    base = rng.randrange(len(library))
    sections = list(library[base])
    others = [i for i in range(len(library)) if i != base]
    for position in range(len(sections)):
        if rng.random() < _SWAP_SHARE:
            donor = library[rng.choice(others)]
            sections[position] = donor[rng.randrange(len(donor))]
    base_size = sum(s.size for s in library[base])
    target = base_size * math.exp(rng.gauss(0.0, _LENGTH_SIGMA))
    size = sum(s.size for s in sections)
    while size < target:
        donor = library[rng.choice(others)]
        section = donor[rng.randrange(len(donor))]
        sections.append(section)
        size += section.size
    while size > target and len(sections) > 1 and size - sections[-1].size >= target * 0.8:
        size -= sections.pop().size
    opening = f"<p><strong>{escape(title, quote=False)}</strong> ({escape(code, quote=False)})</p>"
    return opening + "".join(section.render(rng) for section in sections)


def library_summary() -> dict[str, float]:
    """Sizes of the real pages the bodies come from: pages, average and largest storage size in KB."""
    sizes = [sum(len("".join(s.texts).encode()) for s in page) for page in _library()]
    return {"pages": len(sizes), "avg_kb": sum(sizes) / len(sizes) / 1024, "max_kb": max(sizes) / 1024}
