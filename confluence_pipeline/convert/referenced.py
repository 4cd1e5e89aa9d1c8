"""Macros that show content from elsewhere: include, excerpt-include, children, pagetree, gallery, contentbylabel.

The content comes from the context's :class:`~confluence_pipeline.convert.resolve.ReferenceResolver` (the pipeline's
store, see :mod:`confluence_pipeline.convert.resolve`); every lookup is recorded as a dependency of the page. What
readers see, and how it is written:

* ``include`` / ``include-page``: the other page's Markdown, under ``*Included from [Title](url):*``. Followed
  ``limits.include_depth`` levels deep (deeper includes are links), never into a page already being included (a
  cycle: link and warning), and cut at a block boundary once all includes of the page reach
  ``limits.include_max_chars`` (warning).
* ``excerpt-include``: the source's ``excerpt`` macro body (the one named by ``name``, else the first), or its
  first paragraph when it has none; inside a quote headed by the linked source title unless ``nopanel`` is true.
* ``children`` (``page``, ``all``, ``depth``, ``first``, ``sort``, ``reverse``) and ``pagetree`` (``root``,
  ``startDepth``, ``sort``, ``reverse``): nested lists of linked titles, at most ``limits.max_listed_pages`` pages and
  ``limits.max_tree_depth`` levels.
* ``gallery`` (``page``, ``include``, ``exclude``, ``sort``, ``reverse``, ``title``): the image attachments as images.
* ``contentbylabel`` (``labels``, ``operator``, ``spaces``, ``max``, ``sort``, ``reverse``, ``title``, or a ``cql``
  with ``label``/``space`` clauses): a list of linked titles.

A source the resolver does not know (another space, restricted, not synced yet) renders as a link with its title,
and the warning names the reference. Without a resolver (``confluence-pipeline convert`` without ``--from-store``),
the macros render as links to their source, and as nothing when they name none; a gallery then shows the page's
own image attachments from the context.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lxml import etree

from confluence_pipeline.convert.context import ConvertContext, page_label
from confluence_pipeline.convert.elements import ElementRendering
from confluence_pipeline.convert.links import md_url, quote_segment
from confluence_pipeline.convert.names import (
    AC_NAME,
    AC_PARAMETER,
    AC_RICH_BODY,
    RI_ATTACHMENT,
    RI_CONTENT_ENTITY,
    RI_CONTENT_ID,
    RI_CONTENT_TITLE,
    RI_FILENAME,
    RI_PAGE,
    RI_SPACE_KEY,
)
from confluence_pipeline.convert.resolve import (
    ATTACHMENTS,
    HOME,
    LABEL,
    TREE,
    TREE_MODIFIED,
    Dependency,
    PageRef,
    ReferenceResolver,
    StoredAttachment,
    StoredPage,
)
from confluence_pipeline.convert.text import CELL, EMPTY, INLINE, LI, as_block, escape_brackets, escape_text
from confluence_pipeline.convert.xml import ac, parse_storage

REFERENCE_MACROS = frozenset(
    {"include", "include-page", "excerpt-include", "children", "pagetree", "gallery", "contentbylabel"}
)
_IMAGE_NAME = re.compile(r"\.(?:png|jpe?g|gif|bmp|svg|webp|tiff?|ico|heic)$", re.IGNORECASE)
_LIST_SPLIT = re.compile(r"[,\s]+")
_CQL_LABEL = re.compile(r"\blabel\s*(=|in)\s*(\([^)]*\)|\"[^\"]*\"|'[^']*'|[^\s)]+)", re.IGNORECASE)
_CQL_SPACE = re.compile(r"\bspace(?:\.key)?\s*(=|in)\s*(\([^)]*\)|\"[^\"]*\"|'[^']*'|[\w~.()]+)", re.IGNORECASE)
_CQL_VALUE = re.compile(r"\"([^\"]*)\"|'([^']*)'|([^\s,()\"']+)")
_BLOCK_SPLIT = re.compile(r"\n{2,}")
_FENCE = re.compile(r"^\s*(?:`{3,}|~{3,})", re.MULTILINE)
_AC_EXCERPT_MACROS = (ac("structured-macro"), ac("macro"))

log = logging.getLogger(__name__)


class _Shared:
    """State shared by a page's converter and the converters of the pages it includes."""

    __slots__ = ("budget", "dependencies", "seen")

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.dependencies: list[Dependency] = []
        self.seen: set[Dependency] = set()


class ReferenceRendering(ElementRendering):
    """Renders the macros of :data:`REFERENCE_MACROS` from the context's resolver."""

    def __init__(self, context: ConvertContext | None = None, warnings: list[str] | None = None) -> None:
        """Create a renderer for one page.

        Args:
            context: page facts, lookups, the resolver and its limits.
            warnings: list that receives warnings (a new one when omitted).
        """
        super().__init__(context, warnings)
        self._shared = _Shared(self.context.limits.include_max_chars)
        self._include_stack: tuple[str, ...] = (self.context.page_id,) if self.context.page_id else ()
        self._include_left = self.context.limits.include_depth

    @property
    def dependencies(self) -> list[Dependency]:
        """What this conversion read from the resolver, in the order it was first asked."""
        return self._shared.dependencies

    # ------------------------------------------------------------------------------------------------ lookups

    def _depend(self, dependency: Dependency) -> None:
        if dependency not in self._shared.seen:
            self._shared.seen.add(dependency)
            self._shared.dependencies.append(dependency)

    def _lookup(self, ref: PageRef) -> StoredPage | None:
        resolver = self.context.resolver
        if resolver is None:
            return None
        self._depend(ref.dependency())
        return resolver.page(ref)

    def _warn(self, message: str) -> None:
        message = f"{page_label(self.context)}: {message}"
        self.warnings.append(message)
        log.warning(message)

    def _page_ref(self, param: etree._Element | None) -> PageRef | None:
        """The page a macro parameter names: an ``ri:page`` (title + space, or content id), or ``SPACE:Title`` text."""
        if param is None:
            return None
        for page in param.iter(RI_PAGE, RI_CONTENT_ENTITY):
            content_id = (page.get(RI_CONTENT_ID) or "").strip() or None
            title = " ".join((page.get(RI_CONTENT_TITLE) or "").split()) or None
            if content_id or title:
                space = (page.get(RI_SPACE_KEY) or "").strip() or self.context.space_key
                return PageRef(title=title, space_key=space, content_id=content_id)
        text = param_text(param)
        if not text or text.startswith("@"):
            return None
        space, sep, title = text.partition(":")
        if sep and space and " " not in space and title.strip():
            return PageRef(title=title.strip(), space_key=space)
        return PageRef(title=text, space_key=self.context.space_key)

    def _link_to(self, page: StoredPage | None, ref: PageRef | None = None) -> str:
        """``[Title](url)`` for a stored page, or for a reference the store does not know (text when no URL)."""
        if page is not None:
            title, space = page.title, page.space_key
            url = self._page_url(space, title) if space else page.web_url
        elif ref is not None and ref.title:
            title, url = ref.title, self._page_url(ref.space_key, ref.title)
        elif ref is not None and ref.content_id:
            title = f"page {ref.content_id}"
            url = f"{self._base}/pages/viewpage.action?pageId={quote_segment(ref.content_id)}"
        else:
            return ""
        text = escape_brackets(escape_text(title)) or "untitled"
        return f"[{text}]({md_url(url)})" if url else text

    def _missing(self, macro: str, ref: PageRef, tags: frozenset[str]) -> str:
        if self.context.resolver is not None:
            self._warn(f"{macro} source {ref.describe()} is not in the store; rendered as a link")
        return _block(self._link_to(None, ref), tags)

    # ---------------------------------------------------------------------------------------------- dispatch

    def _reference_macro(self, name: str, params: Mapping[str, etree._Element], tags: frozenset[str]) -> str:
        if name in ("include", "include-page"):
            return self._include(params, tags)
        if name == "excerpt-include":
            return self._excerpt_include(params, tags)
        if name == "children":
            return self._children_macro(params, tags)
        if name == "pagetree":
            return self._pagetree(params, tags)
        if name == "gallery":
            return self._gallery(params, tags)
        return self._content_by_label(params, tags)

    # ----------------------------------------------------------------------------------- include and excerpt

    def _nested(self, page: StoredPage) -> ReferenceRendering:
        """A converter for a page shown inside this one: its own links and mentions, this page's budget and stack."""
        ctx = self.context
        child_ctx = ConvertContext(
            page_id=page.page_id, page_title=page.title, space_key=page.space_key, base_url=ctx.base_url,
            jira_base_url=ctx.jira_base_url, users={**ctx.users, **page.users}, attachments=page.attachments,
            resolver=ctx.resolver, limits=ctx.limits,
        )  # fmt: skip
        child = type(self)(child_ctx, self.warnings)
        child._shared = self._shared
        child._include_stack = (*self._include_stack, page.page_id)
        child._include_left = self._include_left - 1
        return child

    def _source(self, macro: str, params: Mapping[str, etree._Element], tags: frozenset[str]) -> Any:
        """The page an include-like macro shows, or the Markdown to render instead (a link, or nothing)."""
        ref = self._page_ref(first_param(params, "", "page", "0"))
        if ref is None:
            return ""
        page = self._lookup(ref)
        if page is None or page.body_storage is None:
            return self._missing(macro, ref, tags)
        if page.page_id in self._include_stack:
            self._warn(f"{macro} of page {page.page_id} \"{page.title}\" would repeat a page already shown (an "
                       "include cycle); rendered as a link")  # fmt: skip
            return _block(self._link_to(page), tags)
        if self._include_left <= 0:
            return _block(self._link_to(page), tags)
        return page

    def _include(self, params: Mapping[str, etree._Element], tags: frozenset[str]) -> str:
        page = self._source("include", params, tags)
        if not isinstance(page, StoredPage):
            return page
        child = self._nested(page)
        budget = self._shared.budget
        markdown = child.convert_tree(parse_storage(page.body_storage or "").root).strip()
        # Spent once, here, in full: what the included page itself included is part of this Markdown.
        self._shared.budget = budget
        markdown = self._spend(markdown, page)
        head = f"*Included from {self._link_to(page)}:*"
        if not markdown:
            return _block(head, tags)
        return _block(f"{head}\n\n{markdown}", tags)

    def _spend(self, markdown: str, page: StoredPage) -> str:
        """Cut included Markdown to what is left of the page's budget, at a block boundary outside code."""
        budget = self._shared.budget
        if len(markdown) <= budget:
            self._shared.budget -= len(markdown)
            return markdown
        kept: list[str] = []
        size = 0
        for block in _BLOCK_SPLIT.split(markdown):
            if size + len(block) + 2 > budget:
                break
            kept.append(block)
            size += len(block) + 2
        text = "\n\n".join(kept)
        # A cut inside a fenced block (blank lines within code) would leave the fence open: drop the open part.
        while kept and len(_FENCE.findall(text)) % 2:
            kept.pop()
            text = "\n\n".join(kept)
        self._shared.budget = 0
        self._warn(
            f'included page {page.page_id} "{page.title}" was cut at {len(text)} of {len(markdown)} characters '
            f"(all includes of a page together are bounded by {self.context.limits.include_max_chars})"
        )
        return text

    def _excerpt_include(self, params: Mapping[str, etree._Element], tags: frozenset[str]) -> str:
        page = self._source("excerpt-include", params, tags)
        if not isinstance(page, StoredPage):
            return page
        child = self._nested(page)
        root = parse_storage(page.body_storage or "").root
        wanted = param_text(params.get("name")).casefold()
        excerpt = _find_excerpt(root, wanted)
        budget = self._shared.budget
        if excerpt is not None:
            bodies = [body for body in excerpt if body.tag == AC_RICH_BODY]
            markdown = "\n\n".join(child._render_children(body, EMPTY, 0).strip() for body in bodies).strip()
        else:
            paragraph = next((p for p in root.iter("p") if "".join(p.itertext()).strip()), None)
            markdown = child._render(paragraph, EMPTY, 0).strip() if paragraph is not None else ""
        self._shared.budget = budget
        markdown = self._spend(markdown, page)
        if _flag(params.get("nopanel")):
            return _block(markdown, tags)
        content = f"**{self._link_to(page)}**" + (f"\n\n{markdown}" if markdown else "")
        if INLINE in tags or CELL in tags:
            return _block(content, tags)
        return "\n\n" + "\n".join("> " + line if line else ">" for line in content.split("\n")) + "\n\n"

    # ------------------------------------------------------------------------------------------- page trees

    def _children_macro(self, params: Mapping[str, etree._Element], tags: frozenset[str]) -> str:
        ref = self._page_ref(params.get("page"))
        limits = self.context.limits
        if ref is None:
            root_id = self.context.page_id
        else:
            root = self._lookup(ref)
            if root is None:
                return self._missing("children", ref, tags)
            root_id = root.page_id
        if self.context.resolver is None or not root_id:
            return ""
        depth = _int(params.get("depth"))
        if depth is None or depth < 1:
            depth = limits.max_tree_depth if _flag(params.get("all")) else 1
        return self._tree(root_id, min(depth, limits.max_tree_depth), params, _int(params.get("first")), tags)

    def _pagetree(self, params: Mapping[str, etree._Element], tags: frozenset[str]) -> str:
        resolver = self.context.resolver
        root_param = params.get("root")
        # "@home", "@self", "@parent" come as text or as the title of an ri:page (the editor writes the latter).
        root_page = root_param.find(".//" + RI_PAGE) if root_param is not None else None
        special = root_page.get(RI_CONTENT_TITLE) or "" if root_page is not None else param_text(root_param)
        special = special.strip().lower()
        ref = self._page_ref(root_param) if not special.startswith("@") else None
        if ref is not None:
            root = self._lookup(ref)
            if root is None:
                return self._missing("pagetree", ref, tags)
            root_id: str | None = root.page_id
        elif resolver is None:
            return ""
        elif special == "@self":
            root_id = self.context.page_id
        elif special == "@parent":
            me = self._lookup(PageRef(content_id=self.context.page_id)) if self.context.page_id else None
            root_id = me.parent_id if me is not None else None
        else:  # @home, @none and the default: the space's home page
            space = self.context.space_key or ""
            self._depend(Dependency(HOME, space))
            root_id = resolver.home_page_id(space)
        if not root_id:
            return ""
        depth = _int(params.get("startdepth")) or 1
        return self._tree(root_id, min(max(depth, 1), self.context.limits.max_tree_depth), params, None, tags)

    def _tree(
        self, root_id: str, depth: int, params: Mapping[str, etree._Element], first: int | None, tags: frozenset[str]
    ) -> str:
        resolver = self.context.resolver
        if resolver is None:
            return ""
        sort = param_text(params.get("sort")).lower()
        self._depend(Dependency(TREE_MODIFIED if sort == "modified" else TREE, root_id))
        order = _tree_order(sort, _flag(params.get("reverse")))
        left = [self.context.limits.max_listed_pages]
        _read_levels(resolver, root_id, depth, first, order, left[0])

        def level(parent_id: str, remaining: int, limit: int | None) -> list[str]:
            pages = order(resolver.children(parent_id))
            if limit is not None and limit > 0:
                pages = pages[:limit]
            lines: list[str] = []
            for page in pages:
                if left[0] <= 0:
                    break
                left[0] -= 1
                lines.append("- " + self._link_to(page))
                if remaining > 1:
                    lines.extend("  " + line for line in level(page.page_id, remaining - 1, None))
            return lines

        return _list(level(root_id, depth, first), tags)

    # ------------------------------------------------------------------------------------ gallery and labels

    def _gallery(self, params: Mapping[str, etree._Element], tags: frozenset[str]) -> str:
        include = _names(params.get("include"))
        exclude = {name.casefold() for name in _names(params.get("exclude"))}
        images: list[tuple[str, str, int]] = []  # (file name, URL, size)
        sources = [ref for ref in (self._page_ref(params.get("page")),) if ref is not None]
        if sources:
            for ref in sources:
                page = self._lookup(ref)
                if page is None:
                    return self._missing("gallery", ref, tags)
                images.extend(self._page_images(page.page_id, page.attachments))
        else:
            images.extend(self._page_images(self.context.page_id, self.context.attachments))
        if include:
            by_name = {name.casefold(): (name, url, size) for name, url, size in images}
            # Listed images show even when the store does not describe them (the body names them).
            images = [by_name.get(name.casefold(), (name, self._own_attachment_url(name), 0)) for name in include]
        images = [image for image in images if image[0].casefold() not in exclude]
        sort = param_text(params.get("sort")).lower()
        if sort in ("name", "title"):
            images.sort(key=lambda image: image[0].casefold())
        elif sort == "size":
            images.sort(key=lambda image: image[2])
        if _flag(params.get("reverse")):
            images.reverse()
        images = images[: self.context.limits.max_listed_pages]
        rendered = [f"![{escape_brackets(name)}]({md_url(url)})" for name, url, _ in images if url]
        title = param_text(params.get("title"))
        if title and rendered:
            rendered.insert(0, f"**{escape_text(title)}**")
        if not rendered:
            return ""
        if INLINE in tags:
            return " " + " ".join(rendered) + " "
        return "\n\n" + "\n\n".join(rendered) + "\n\n"

    def _own_attachment_url(self, name: str) -> str:
        element = etree.Element(RI_ATTACHMENT)
        return self._attachment_url(element, name)

    def _page_images(self, page_id: str | None, known: Mapping[str, str]) -> list[tuple[str, str, int]]:
        """The image attachments of a page: from the resolver's metadata, else the known names that look like images."""
        resolver = self.context.resolver
        stored: Sequence[StoredAttachment] | None = None
        if resolver is not None and page_id:
            if page_id != self.context.page_id:
                self._depend(Dependency(ATTACHMENTS, page_id))
            stored = resolver.attachments(page_id)
        if stored is None:
            return [(name, url, 0) for name, url in known.items() if _IMAGE_NAME.search(name)]
        images = []
        for attachment in stored:
            media = (attachment.media_type or "").lower()
            if media.startswith("image/") or (not media and _IMAGE_NAME.search(attachment.title)):
                name = attachment.title
                url = attachment.download_url or known.get(name) or self._own_attachment_url(name)
                images.append((name, url, 0))
        return images

    def _content_by_label(self, params: Mapping[str, etree._Element], tags: frozenset[str]) -> str:
        resolver = self.context.resolver
        cql = param_text(params.get("cql"))
        labels = _names(first_param(params, "labels", "label", ""), split_spaces=True)
        spaces = _names(first_param(params, "spaces", "space"), split_spaces=True)
        if cql:
            labels = labels or _cql_values(_CQL_LABEL, cql)
            spaces = spaces or _cql_values(_CQL_SPACE, cql)
        match_all = param_text(params.get("operator")).upper() == "AND" or (" and label" in cql.lower())
        if resolver is None or not labels:
            return ""
        required = [label.lstrip("+") for label in labels if not label.startswith("-")]
        excluded = {label[1:].casefold() for label in labels if label.startswith("-")}
        found: dict[str, tuple[StoredPage, set[str]]] = {}
        for label in [*required, *excluded]:
            self._depend(Dependency(LABEL, label.casefold()))
        for label in required:
            for page in resolver.labelled(label):
                found.setdefault(page.page_id, (page, set()))[1].add(label.casefold())
        for label in excluded:
            for page in resolver.labelled(label):
                found.pop(page.page_id, None)
        wanted_spaces = self._space_filter(spaces)
        pages = [
            page
            for page, matched in found.values()
            if (not match_all or len(matched) == len({label.casefold() for label in required}))
            and (wanted_spaces is None or page.space_key in wanted_spaces)
            and not (_flag(params.get("excludecurrent")) and page.page_id == self.context.page_id)
        ]
        sort = param_text(params.get("sort")).lower()
        if sort == "title":
            pages.sort(key=lambda page: page.title.casefold())
        elif sort == "creation":
            pages.sort(key=lambda page: page.created_at)
        elif sort:
            pages.sort(key=lambda page: page.modified_at)
        else:  # no sort: newest change first, and "reverse" is ignored (as documented)
            pages.sort(key=lambda page: page.modified_at, reverse=True)
        if sort and _flag(params.get("reverse")):
            pages.reverse()
        limit = _int(first_param(params, "max", "maxresults")) or 15
        pages = pages[: min(limit, self.context.limits.max_listed_pages)]
        lines = ["- " + self._link_to(page) for page in pages]
        title = param_text(params.get("title"))
        rendered = _list(lines, tags)
        if title and rendered and INLINE not in tags:
            return f"\n\n**{escape_text(title)}**\n\n" + rendered.lstrip("\n")
        return rendered

    def _space_filter(self, spaces: list[str]) -> set[str] | None:
        keys: set[str] = set()
        for space in spaces:
            space = space.lstrip("+")
            lowered = space.lower()
            if lowered in ("@all", "*", "@global", "@personal", "@favorite", "@favourite"):
                return None
            if lowered in ("@self", "currentspace()") and self.context.space_key:
                keys.add(self.context.space_key)
            elif space and not space.startswith("-"):
                keys.add(space)
        return keys or None


def param_text(param: etree._Element | None) -> str:
    """A macro parameter's text, whitespace collapsed ("" when absent)."""
    if param is None:
        return ""
    return " ".join("".join(param.itertext()).split())


def first_param(params: Mapping[str, etree._Element], *names: str) -> etree._Element | None:
    """The first of ``names`` that the macro has (an element without children is falsy, so ``or`` would skip it)."""
    for name in names:
        found = params.get(name)
        if found is not None:
            return found
    return None


def _flag(param: etree._Element | None) -> bool:
    return param_text(param).lower() == "true"


def _int(param: etree._Element | None) -> int | None:
    text = param_text(param)
    return int(text) if text.isdigit() else None


def _names(param: etree._Element | None, *, split_spaces: bool = False) -> list[str]:
    """File names or labels of a parameter: ``ri:attachment`` elements, or comma-separated text."""
    if param is None:
        return []
    attached = [a.get(RI_FILENAME) or "" for a in param.iter(RI_ATTACHMENT)]
    if attached:
        return [name for name in attached if name]
    text = "".join(param.itertext())
    parts = _LIST_SPLIT.split(text) if split_spaces else text.split(",")
    return [part.strip() for part in parts if part.strip()]


def _cql_values(pattern: re.Pattern[str], cql: str) -> list[str]:
    values: list[str] = []
    for match in pattern.finditer(cql):
        for quoted, single, bare in _CQL_VALUE.findall(match.group(2)):
            value = quoted or single or bare
            if value and value.lower() != "in":
                values.append(value)
    return values


def _find_excerpt(root: etree._Element, name: str) -> etree._Element | None:
    first = None
    for macro in root.iter(*_AC_EXCERPT_MACROS):
        if (macro.get(AC_NAME) or "").strip().lower() != "excerpt":
            continue
        params = {(p.get(AC_NAME) or "").lower(): param_text(p) for p in macro if p.tag == AC_PARAMETER}
        if name and params.get("name", "").casefold() == name:
            return macro
        if first is None:
            first = macro
    return first


# A tree listing reads ahead the children of at most this many times the pages it may list (see _read_levels).
_TREE_READ_FACTOR = 4


def _read_levels(
    resolver: ReferenceResolver,
    root_id: str,
    depth: int,
    first: int | None,
    order: Callable[[Sequence[StoredPage]], list[StoredPage]],
    budget: int,
) -> None:
    """Ask a tree's children level by level, one :meth:`~ReferenceResolver.prefetch_children` per level.

    The listing then walks the tree depth first from the resolver's cache: a store answers a level in one read rather
    than a query per page. The pages a depth-first listing of ``budget`` pages shows are, on each level, the first
    ones in the level's order, so a level reads the children of at most ``budget`` pages. In all, reads stop at
    :data:`_TREE_READ_FACTOR` times the pages the listing itself may ask about (a deep tree, wide on every level): a
    page the listing reaches beyond them is looked up on its own.
    """
    frontier = [root_id]
    left = _TREE_READ_FACTOR * budget + 1
    for level in range(depth):
        frontier = frontier[: min(budget, left)] if level else frontier
        if not frontier:
            break
        resolver.prefetch_children(frontier)
        left -= len(frontier)
        if level == depth - 1:
            break
        below: list[str] = []
        for parent_id in frontier:
            pages = order(resolver.children(parent_id))
            if level == 0 and first is not None and first > 0:
                pages = pages[:first]
            below.extend(page.page_id for page in pages)
            if len(below) >= budget:
                break
        frontier = below


def _tree_order(sort: str, reverse: bool) -> Callable[[Sequence[StoredPage]], list[StoredPage]]:
    def natural(page: StoredPage) -> tuple[int, int, str]:
        return (page.position is None, page.position or 0, page.title.casefold())

    key: Callable[[StoredPage], Any]
    if sort == "title":
        key = lambda page: page.title.casefold()  # noqa: E731 - one-line keys
    elif sort == "creation":
        key = lambda page: page.created_at  # noqa: E731
    elif sort == "modified":
        key = lambda page: page.modified_at  # noqa: E731
    else:  # natural, position, bitwise: the manual order
        key = natural

    def order(pages: Sequence[StoredPage]) -> list[StoredPage]:
        return sorted(pages, key=lambda page: (key(page), page.page_id), reverse=reverse)

    return order


def _block(text: str, tags: frozenset[str]) -> str:
    return as_block(text, tags) if text else ""


def _list(lines: list[str], tags: frozenset[str]) -> str:
    if not lines:
        return ""
    if INLINE in tags:
        return " " + " ".join(line.strip().removeprefix("- ") for line in lines) + " "
    body = "\n".join(lines)
    return "\n" + body + "\n" if LI in tags else "\n\n" + body + "\n\n"
