"""The tree walk of the converter: markdownify's handler model over lxml elements instead of BeautifulSoup.

:class:`StorageWalker` replaces markdownify's ``process_tag``/``process_text`` with a lean walk over lxml elements
and a per-class dispatch cache: tags named in ``FULL_HANDLERS`` get the raw element, other tags have their children
rendered first and then pass the text to markdownify-style ``convert_<tag>`` handlers. The renderers of links,
elements, tables and macros build on it; :class:`confluence_pipeline.convert.storage.ConfluenceConverter` puts
them together.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import cache
from typing import Any, ClassVar

from lxml import etree
from markdownify import ATX, MarkdownConverter, re_make_convert_fn_name

from confluence_pipeline.convert.context import ConvertContext, page_label
from confluence_pipeline.convert.text import (
    BR,
    EMPTY,
    INLINE,
    INLINE_TAGS,
    NOFORMAT,
    as_block,
    escape_text,
    join_rendered,
    longest_backtick_run,
    render_text,
)
from confluence_pipeline.convert.xml import parse_storage, qname

log = logging.getLogger(__name__)

MAX_DEPTH = 120
"""Element nesting depth beyond which a subtree is flattened to plain text instead of recursed into."""

_BLOCK_TAGS = frozenset(
    {
        "ac:layout",
        "ac:layout-section",
        "ac:layout-cell",
        "ac:rich-text-body",
        "ac:adf-content",
        "ac:adf-fallback",
        "ac:task-body",
        "ac:caption",
        "center",
        "details",
        "summary",
        "figure",
        "main",
        "header",
        "footer",
        "aside",
        "nav",
        "address",
        "li",
        "tr",
        "td",
        "th",
        "thead",
        "tbody",
        "tfoot",
        "caption",
        "body",
        "html",
    }
)
_DROPPED_TAGS = frozenset(
    {
        "ac:parameter",
        "ac:default-parameter",
        "ac:placeholder",
        "ac:adf-mark",
        "ac:adf-attribute",
        "ac:task-id",
        "ac:task-uuid",
        "ac:task-status",
        "at:declarations",
        "at:i18n",
        "script",
        "style",
        "colgroup",
        "col",
        "head",
        "title",
        "meta",
        "iframe",
        "object",
        "embed",
        "audio",
        "video",
        "source",
    }
)
_EXTRA_TAGS = {
    **{f"h{n}": INLINE_TAGS for n in range(1, 7)},
    "code": frozenset({NOFORMAT}),
    "kbd": frozenset({NOFORMAT}),
    "samp": frozenset({NOFORMAT}),
    "tt": frozenset({NOFORMAT}),
    "a": INLINE_TAGS,
}
_HEADING = re.compile(r"^h([1-9])$")

# Handler kinds in the dispatch cache.
_FULL = 0
_CONVERT = 1


@cache
def _options() -> dict[str, Any]:
    """The options of markdownify for every page: its defaults with ours, built once."""
    return MarkdownConverter(heading_style=ATX, bullets="-", strong_em_symbol="*", escape_misc=False).options


def _emphasis(marker: str, text: str, parent_tags: frozenset[str]) -> str:
    """The inline conversion of markdownify: the marker around the text, its outer spaces kept outside."""
    if NOFORMAT in parent_tags:
        return text
    inner = text.strip()
    if not inner:
        return ""
    return ("" if text[0] != " " else " ") + marker + inner + marker + (" " if text[-1] == " " else "")


class StorageWalker(MarkdownConverter):
    """markdownify's converter, walking an lxml tree of Confluence storage format.

    ``process_tag``/``process_text`` are replaced by :meth:`_render`/:meth:`_render_children` over lxml elements;
    text-only ``convert_*`` handlers are markdownify's. Handlers named in :attr:`FULL_HANDLERS` receive the raw
    element and render (or skip) its children themselves.
    """

    FULL_HANDLERS: ClassVar[dict[str, str]] = {}
    _dispatch: ClassVar[dict[str, tuple[int, Callable[..., str] | None, frozenset[str] | None]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A subclass may override handlers: it must not reuse the parent's resolved dispatch entries.
        cls._dispatch = {}

    def __init__(self, context: ConvertContext | None = None, warnings: list[str] | None = None) -> None:
        """Create a converter for one page.

        Args:
            context: page facts and lookups used for links, mentions and warnings.
            warnings: list that receives warnings (a new one when omitted).
        """
        # markdownify's own __init__ rebuilds the same options dict from its class attributes for every page.
        self.options = dict(_options())
        self.convert_fn_cache = {}
        self.context = context if context is not None else ConvertContext()
        self.warnings = warnings if warnings is not None else []
        self._depth_warned = False

    # ----------------------------------------------------------------------------------------------- entry points

    def convert(self, html: str) -> str:
        """Convert a storage-format string (markdownify's entry point, kept for compatibility).

        Args:
            html: storage-format XHTML.

        Returns:
            The Markdown.
        """
        return self.convert_tree(parse_storage(html).root)

    def convert_tree(self, root: etree._Element) -> str:
        """Convert the children of a parsed storage root.

        Args:
            root: the wrapper element returned by :func:`confluence_pipeline.convert.xml.parse_storage`.

        Returns:
            The Markdown, ending with one newline unless empty.
        """
        markdown = self._render_children(root, EMPTY, 0).strip("\n")
        # A leading rule (often right after a dropped toc) means nothing, and "---" first reads as front matter.
        while markdown.startswith("---\n"):
            markdown = markdown[4:].lstrip("\n")
        if markdown == "---":
            markdown = ""
        return markdown.rstrip() + "\n" if markdown.strip() else ""

    def process_tag(self, node: Any, parent_tags: Any = None) -> str:
        """Render one lxml element (replaces markdownify's BeautifulSoup walk).

        Args:
            node: an lxml element.
            parent_tags: context markers (``_inline``, ``_noformat``, ``_cell``, ``li``).

        Returns:
            The element's Markdown.
        """
        return self._render(node, frozenset(parent_tags or ()), 0)

    def process_text(self, el: Any, parent_tags: Any = None) -> str:
        """Normalize and escape one text string (replaces markdownify's NavigableString handling).

        Args:
            el: the text.
            parent_tags: context markers.

        Returns:
            The Markdown text.
        """
        return self._text(str(el), frozenset(parent_tags or ()))

    def escape(self, text: str, parent_tags: Any) -> str:
        """Escape text minimally (see :func:`escape_text`)."""
        if not text or NOFORMAT in parent_tags:
            return text
        return escape_text(text)

    # ------------------------------------------------------------------------------------------------- tree walk

    @classmethod
    def _resolve(cls, tag: str) -> tuple[int, Callable[..., str] | None, frozenset[str] | None]:
        name = qname(tag)
        entry: tuple[int, Callable[..., str] | None, frozenset[str] | None]
        if name in cls.FULL_HANDLERS:
            entry = (_FULL, getattr(cls, cls.FULL_HANDLERS[name]), None)
        elif name in _DROPPED_TAGS or name.startswith("ri:"):
            entry = (_FULL, None, None)
        else:
            heading = _HEADING.match(name)
            fn: Callable[..., str] | None
            if heading:
                level = int(heading.group(1))

                def fn(self: StorageWalker, el: Any, text: str, parent_tags: frozenset[str]) -> str:
                    return self.convert_hN(level, el, text, parent_tags)

            else:
                fn = getattr(cls, "convert_" + re_make_convert_fn_name.sub("_", name), None)
                if fn is None and name in _BLOCK_TAGS:
                    fn = cls._convert_block
            entry = (_CONVERT, fn, _EXTRA_TAGS.get(name))
        cls._dispatch[tag] = entry
        return entry

    def _render(self, el: etree._Element, tags: frozenset[str], depth: int) -> str:
        tag = el.tag
        entry = self._dispatch.get(tag) or self._resolve(tag)
        kind, fn, extra = entry
        if kind == _FULL:
            return fn(self, el, tags, depth + 1) if fn is not None else ""
        text = self._render_children(el, tags | extra if extra else tags, depth + 1)
        return fn(self, el, text, tags) if fn is not None else text

    def _render_children(self, el: etree._Element, tags: frozenset[str], depth: int) -> str:
        if depth > MAX_DEPTH:
            return self._flatten_deep(el, tags)
        text = el.text
        if not len(el):
            # A leaf (most elements: a paragraph, a cell, a bold run): its text alone, as join_rendered would give it.
            return render_text(text, tags) if text else ""
        # The dispatch of _render is repeated inline: a call per element is a large share of the walk's cost.
        pieces: list[Any] = []
        add = pieces.append
        dispatch = self._dispatch
        if text:
            add(render_text(text, tags))
        inline = INLINE in tags
        depth += 1
        for child in el:
            tag = child.tag
            if tag.__class__ is str:
                if tag == "br":
                    add(" " if inline else BR)
                else:
                    kind, fn, extra = dispatch.get(tag) or self._resolve(tag)
                    if kind == _FULL:
                        if fn is not None:
                            add(fn(self, child, tags, depth))
                    else:
                        child_tags = tags | extra if extra else tags
                        if len(child) or depth > MAX_DEPTH:
                            rendered = self._render_children(child, child_tags, depth)
                        else:
                            leaf = child.text
                            rendered = render_text(leaf, child_tags) if leaf else ""
                        add(fn(self, child, rendered, tags) if fn is not None else rendered)
            tail = child.tail
            if tail:
                add(render_text(tail, tags))
        return join_rendered(pieces)

    def _text(self, text: str, tags: frozenset[str]) -> str:
        return render_text(text, tags)

    def _flatten_deep(self, el: etree._Element, tags: frozenset[str]) -> str:
        if not self._depth_warned:
            self._depth_warned = True
            message = f"{page_label(self.context)}: markup nested deeper than {MAX_DEPTH} levels was flattened to text"
            self.warnings.append(message)
            log.warning(message)
        text = self._text(" ".join(el.itertext()), tags).strip()
        return as_block(text, tags)

    def _inline_children(self, el: etree._Element, tags: frozenset[str], depth: int) -> str:
        return " ".join(self._render_children(el, tags | INLINE_TAGS, depth + 1).split())

    # ------------------------------------------------------------------------------------------ block containers

    def _convert_block(self, el: Any, text: str, parent_tags: frozenset[str]) -> str:
        return as_block(text, parent_tags)

    # markdownify's text-only handlers of the most common tags, with the same output: theirs look up options and
    # compile a regex on every call, and these tags are most of a page.

    def convert_p(self, el: Any, text: str, parent_tags: frozenset[str]) -> str:
        """Render a paragraph (markdownify's, without line wrapping, which is off)."""
        if INLINE in parent_tags:
            return " " + text.strip(" \t\r\n") + " "
        text = text.strip(" \t\r\n")
        return "\n\n" + text + "\n\n" if text else ""

    def convert_code(self, el: Any, text: str, parent_tags: frozenset[str]) -> str:
        """Render an inline code span (markdownify's: a fence one backtick longer than any run inside)."""
        if NOFORMAT in parent_tags:
            return text
        code = text.strip()
        if not code:
            return ""
        prefix = " " if text[0] == " " else ""
        suffix = " " if text[-1] == " " else ""
        if "`" not in code:
            return prefix + "`" + code + "`" + suffix
        fence = "`" * (longest_backtick_run(code) + 1)
        return f"{prefix}{fence} {code} {fence}{suffix}"

    convert_kbd = convert_code
    convert_samp = convert_code

    def convert_b(self, el: Any, text: str, parent_tags: frozenset[str]) -> str:
        """Render bold text (markdownify's, with ``**``)."""
        return _emphasis("**", text, parent_tags)

    def convert_em(self, el: Any, text: str, parent_tags: frozenset[str]) -> str:
        """Render italic text (markdownify's, with ``*``)."""
        return _emphasis("*", text, parent_tags)

    convert_strong = convert_b
    convert_i = convert_em

    convert_ac_layout = _convert_block
    convert_ac_layout_section = _convert_block
    convert_ac_layout_cell = _convert_block
    convert_ac_rich_text_body = _convert_block
    convert_ac_adf_content = _convert_block
    convert_ac_adf_fallback = _convert_block
    convert_ac_task_body = _convert_block
