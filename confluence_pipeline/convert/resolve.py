"""Macros whose content lives on other pages: what the converter asks, and an in-memory answer.

``include``, ``excerpt-include``, ``children``, ``pagetree``, ``gallery`` and ``contentbylabel`` show readers content
that is not in the page body: another page's text, the page tree, attachments, pages with a label. The converter
asks a :class:`ReferenceResolver` for it. It never imports the store: the pipeline's stage builds a
:class:`PageIndex` from the database (``confluence_pipeline.store.references``) and passes it in the
:class:`~confluence_pipeline.convert.context.ConvertContext`; the fidelity benchmark builds one from fixture pages.
Without a resolver, the macros render as links to their source (or nothing when they name none).

Every question the converter asks is recorded as a :class:`Dependency` in the conversion's result, so the pipeline
can store the edge and convert the page again when what it depends on changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

# Kinds of dependency edges (the store computes each one's current state, see migration 0005).
PAGE = "page"  # target "SPACE:Title": the current page with that title in that space
PAGE_ID = "page-id"  # target "123": the page with that id
TREE = "tree"  # target "123": the descendants of page 123 (ids, titles, parents, positions)
TREE_MODIFIED = "tree-modified"  # the same, and their modification times (a tree sorted by them)
LABEL = "label"  # target "name": the current pages with that label
ATTACHMENTS = "attachments"  # target "123": page 123's attachments
HOME = "home"  # target "SPACE": the space's home page

_RESOLVED_MACRO = re.compile(
    r"""ac:name\s*=\s*["'](?:include|include-page|excerpt-include|children|pagetree|gallery|contentbylabel)["']"""
)


_CHILDREN_MACRO = re.compile(r"""ac:name\s*=\s*["']children["']""")


def lists_children(storage: str) -> bool:
    """Whether a body has a ``children`` macro, which lists the page's own children unless it names another page."""
    return _CHILDREN_MACRO.search(storage) is not None


def needs_resolver(storage: str) -> bool:
    """Whether a body uses a macro whose content lives elsewhere (a cheap text test, no parse).

    Args:
        storage: the page body in storage format.

    Returns:
        True when converting it may ask a :class:`ReferenceResolver`.
    """
    return bool(_RESOLVED_MACRO.search(storage))


@dataclass(frozen=True, slots=True)
class Dependency:
    """One thing a conversion read from outside the page body.

    Attributes:
        kind: one of :data:`PAGE`, :data:`PAGE_ID`, :data:`TREE`, :data:`TREE_MODIFIED`, :data:`LABEL`,
            :data:`ATTACHMENTS`, :data:`HOME`.
        target: what was looked up, in the kind's own form (see the constants).
    """

    kind: str
    target: str


@dataclass(frozen=True, slots=True)
class PageRef:
    """How a macro names a page: by id (``ri:content-id``), or by title in a space (``ri:content-title``)."""

    title: str | None = None
    space_key: str | None = None
    content_id: str | None = None

    def dependency(self) -> Dependency:
        """The dependency edge of looking this page up."""
        if self.content_id:
            return Dependency(PAGE_ID, self.content_id)
        return Dependency(PAGE, f"{self.space_key or ''}:{self.title or ''}")

    def describe(self) -> str:
        """Name the reference for warnings: ``page 123`` or ``"Title" in space ENG``."""
        if self.content_id:
            return f"page {self.content_id}"
        return f'"{self.title}" in space {self.space_key or "(unknown)"}'


@dataclass(frozen=True, slots=True)
class StoredAttachment:
    """An attachment as the store describes it."""

    title: str
    media_type: str | None = None
    download_url: str | None = None


@dataclass(frozen=True)
class StoredPage:
    """A stored current page: enough to link it, list it, sort it, and (with a body) render it.

    Attributes:
        page_id: the page id.
        space_key: its space.
        title: its title.
        parent_id: its direct parent, None at the top of the space.
        position: its manual position among its siblings (None when Confluence gave none).
        created_at: ISO-8601 creation time (sorts as text).
        modified_at: ISO-8601 time of its current version.
        web_url: its address, when known (else the converter builds a display URL).
        body_storage: its storage-format body (only pages fetched as include or excerpt sources carry one).
        attachments: its attachments' file names → download URLs.
        users: display names of the users its body mentions.
    """

    page_id: str
    space_key: str
    title: str
    parent_id: str | None = None
    position: int | None = None
    created_at: str = ""
    modified_at: str = ""
    web_url: str | None = None
    body_storage: str | None = None
    attachments: Mapping[str, str] = field(default_factory=dict)
    users: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class ReferenceResolver(Protocol):
    """What the converter may ask about content outside the page. Unknown things are None or empty, never errors."""

    def page(self, ref: PageRef) -> StoredPage | None:
        """The current page ``ref`` names (with its body when it was fetched as a source), or None."""
        ...

    def children(self, page_id: str) -> Sequence[StoredPage]:
        """The current direct children of a page, in any order."""
        ...

    def prefetch_children(self, page_ids: Iterable[str]) -> None:
        """A hint: :meth:`children` of these pages will be asked for next (a store reads them in one go)."""
        ...

    def attachments(self, page_id: str) -> Sequence[StoredAttachment] | None:
        """A page's attachments, or None when the page is unknown."""
        ...

    def labelled(self, label: str) -> Sequence[StoredPage]:
        """The current pages carrying ``label``, in any order."""
        ...

    def home_page_id(self, space_key: str) -> str | None:
        """The id of a space's home page, or None."""
        ...


@dataclass(frozen=True)
class ResolveLimits:
    """Bounds of macro resolution (see ``PipelineResource`` for the settings that set them).

    Attributes:
        include_depth: how many levels of ``include`` are followed (1: an included page's own includes are links).
        include_max_chars: characters of included Markdown per page, all includes together.
        max_listed_pages: pages listed by one ``children``/``pagetree``/``contentbylabel`` macro, and images by one
            ``gallery``.
        max_tree_depth: levels a ``children``/``pagetree`` listing descends at most.
    """

    include_depth: int = 1
    include_max_chars: int = 20_000
    max_listed_pages: int = 200
    max_tree_depth: int = 10


def _title_key(space_key: str | None, title: str | None) -> tuple[str, str]:
    return (space_key or "", " ".join((title or "").split()).casefold())


class PageIndex:
    """A :class:`ReferenceResolver` over pages held in memory: a snapshot the pipeline loads from its store.

    Plain data only, so it pickles to the worker processes that convert pages.
    """

    def __init__(
        self,
        pages: Iterable[StoredPage] = (),
        *,
        attachments: Mapping[str, Sequence[StoredAttachment]] | None = None,
        labels: Mapping[str, Iterable[str]] | None = None,
        homes: Mapping[str, str] | None = None,
    ) -> None:
        """Index pages by id, by (space, title) and by parent.

        Args:
            pages: the pages the snapshot knows (sources with bodies, tree members, labelled pages).
            attachments: page id → its attachments (pages missing here have unknown attachments).
            labels: page id → its labels.
            homes: space key → home page id.
        """
        self._by_id: dict[str, StoredPage] = {}
        self._by_title: dict[tuple[str, str], StoredPage] = {}
        self._children: dict[str, list[StoredPage]] = {}
        self._labelled: dict[str, list[StoredPage]] = {}
        self._attachments = {key: tuple(value) for key, value in (attachments or {}).items()}
        self._homes = dict(homes or {})
        for page in pages:
            self.add(page)
        for page_id, names in (labels or {}).items():
            page = self._by_id.get(page_id)
            if page is not None:
                for name in names:
                    self._labelled.setdefault(name.casefold(), []).append(page)

    def add(self, page: StoredPage) -> None:
        """Add a page, or replace the stored one with the same id (a copy with a body wins over one without)."""
        known = self._by_id.get(page.page_id)
        if known is not None:
            if known.body_storage is not None and page.body_storage is None:
                return
            siblings = self._children.get(known.parent_id or "", [])
            self._children[known.parent_id or ""] = [p for p in siblings if p.page_id != page.page_id]
        self._by_id[page.page_id] = page
        key = _title_key(page.space_key, page.title)
        if key not in self._by_title or self._by_title[key].page_id == page.page_id:
            self._by_title[key] = page
        if page.parent_id:
            self._children.setdefault(page.parent_id, []).append(page)

    def page(self, ref: PageRef) -> StoredPage | None:
        """See :meth:`ReferenceResolver.page`."""
        if ref.content_id:
            return self._by_id.get(ref.content_id)
        return self._by_title.get(_title_key(ref.space_key, ref.title))

    def children(self, page_id: str) -> Sequence[StoredPage]:
        """See :meth:`ReferenceResolver.children`."""
        return tuple(self._children.get(page_id, ()))

    def prefetch_children(self, page_ids: Iterable[str]) -> None:
        """See :meth:`ReferenceResolver.prefetch_children`: every page is in memory already."""

    def attachments(self, page_id: str) -> Sequence[StoredAttachment] | None:
        """See :meth:`ReferenceResolver.attachments`."""
        return self._attachments.get(page_id)

    def labelled(self, label: str) -> Sequence[StoredPage]:
        """See :meth:`ReferenceResolver.labelled`."""
        return tuple(self._labelled.get(label.casefold(), ()))

    def home_page_id(self, space_key: str) -> str | None:
        """See :meth:`ReferenceResolver.home_page_id`."""
        return self._homes.get(space_key)
