"""Content that lives on other pages, read from the store for the converter; and the dependency edges it leaves.

:class:`StoreResolver` answers the converter's :class:`~confluence_pipeline.convert.resolve.ReferenceResolver`
questions (the page an ``include`` names, a page's children, attachments, labelled pages, a space's home page) with
small indexed queries, cached for the resolver's life. Converting a page records what it asked as dependencies;
:func:`save_dependencies` stores them as edges in ``page_dependencies`` with the state each had
(``conversion_dependency_state`` of migration 0005), and sets ``page_markdown.deps_hash`` over them. A page's Markdown
is stale when that hash over the *current* states differs (:data:`STALE_DEPENDENCIES`), so editing, moving or
trashing a page makes exactly the pages that show it convert again, and an unchanged store converts nothing.

Conversions that use a resolver should run in one ``REPEATABLE READ`` transaction together with
:func:`dependency_states` (see :func:`read_snapshot`): the content and the states then come from the same snapshot, so
a change committed in between is seen as a change by the next run instead of being lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from confluence_pipeline.convert.resolve import Dependency, PageRef, StoredAttachment, StoredPage

# Pages a resolver reads for one listing (children of one page, pages with one label): a bound on work and memory;
# the converter lists at most ``ResolveLimits.max_listed_pages`` of them.
MAX_LISTED_ROWS = 2000

# A page's edges hashed with a state expression; compared with page_markdown.deps_hash.
_HASH = "md5(string_agg(d.kind || E'\\t' || d.target || E'\\t' || {state}, E'\\n' ORDER BY d.kind, d.target))"
SEEN_HASH = _HASH.format(state="d.seen")
CURRENT_HASH = _HASH.format(state="conversion_dependency_state(d.kind, d.target)")

STALE_DEPENDENCIES = f"""(m.deps_hash IS NOT NULL AND m.deps_hash IS DISTINCT FROM
    (SELECT {CURRENT_HASH} FROM page_dependencies d WHERE d.page_id = p.page_id))"""
"""SQL predicate over ``pages p`` and ``page_markdown m``: a dependency of the page changed since its conversion."""

_PAGE_COLUMNS = (
    "p.page_id, p.space_key, p.title, p.parent_id, p.metadata ->> 'position', p.created_at, p.version_at, p.web_url"
)


def _iso(value: Any) -> str:
    return value.isoformat() if value is not None else ""


def _listed(row: Sequence[Any]) -> StoredPage:
    position = row[4]
    return StoredPage(
        page_id=row[0], space_key=row[1], title=row[2], parent_id=row[3],
        position=int(position) if position not in (None, "") and str(position).lstrip("-").isdigit() else None,
        created_at=_iso(row[5]), modified_at=_iso(row[6]), web_url=row[7],
    )  # fmt: skip


class StoreResolver:
    """A :class:`~confluence_pipeline.convert.resolve.ReferenceResolver` over the pipeline's store.

    Answers are cached per instance: create one per batch (or per command), not per process.
    """

    def __init__(self, conn: psycopg.Connection) -> None:
        """Read through ``conn`` (any transaction state; see :func:`read_snapshot` for consistent reads)."""
        self._conn = conn
        self._pages: dict[Dependency, StoredPage | None] = {}
        self._children: dict[str, tuple[StoredPage, ...]] = {}
        self._attachments: dict[str, tuple[StoredAttachment, ...] | None] = {}
        self._labelled: dict[str, tuple[StoredPage, ...]] = {}
        self._homes: dict[str, str | None] = {}

    def page(self, ref: PageRef) -> StoredPage | None:
        """The current page ``ref`` names, with its body, attachments and mentioned users' names."""
        key = ref.dependency()
        if key in self._pages:
            return self._pages[key]
        columns = f"{_PAGE_COLUMNS}, p.body_storage, p.attachments, p.mentions"
        if ref.content_id:
            row = self._conn.execute(
                f"SELECT {columns} FROM pages p WHERE p.page_id = %s AND p.status = 'current'", (ref.content_id,)
            ).fetchone()
        else:
            row = self._conn.execute(
                f"""SELECT {columns} FROM pages p WHERE p.status = 'current' AND p.space_key = %s
                      AND lower(p.title) = lower(%s) ORDER BY p.page_id LIMIT 1""",
                (ref.space_key or "", " ".join((ref.title or "").split())),
            ).fetchone()
        page = None
        if row is not None:
            listed = _listed(row)
            mentions = list(row[10] or [])
            users: dict[str, str] = {}
            if mentions:
                users = dict(
                    self._conn.execute(
                        "SELECT user_ref, display_name FROM users WHERE user_ref = ANY(%s)", (mentions,)
                    ).fetchall()
                )
            attachments = {a["title"]: a["download_url"] for a in row[9] or [] if a.get("download_url")}
            page = StoredPage(
                page_id=listed.page_id, space_key=listed.space_key, title=listed.title, parent_id=listed.parent_id,
                position=listed.position, created_at=listed.created_at, modified_at=listed.modified_at,
                web_url=listed.web_url, body_storage=row[8], attachments=attachments, users=users,
            )  # fmt: skip
        self._pages[key] = page
        return page

    def children(self, page_id: str) -> Sequence[StoredPage]:
        """The current direct children of a page."""
        if page_id not in self._children:
            rows = self._conn.execute(
                f"""SELECT {_PAGE_COLUMNS} FROM pages p WHERE p.parent_id = %s AND p.status = 'current'
                    ORDER BY p.page_id LIMIT %s""",
                (page_id, MAX_LISTED_ROWS),
            ).fetchall()
            self._children[page_id] = tuple(_listed(row) for row in rows)
        return self._children[page_id]

    def prefetch_children(self, page_ids: Iterable[str]) -> None:
        """Read the current children of many pages in one query, for :meth:`children` to answer from the cache.

        Tree listings would otherwise cost a query per listed page: about one per page converted on the benchmark's
        real-size corpus (4,991 for 3,933 pages; 623 reads with this).
        """
        wanted = sorted({page_id for page_id in page_ids if page_id and page_id not in self._children})
        if not wanted:
            return
        rows = self._conn.execute(
            f"""SELECT * FROM (
                    SELECT {_PAGE_COLUMNS},
                           row_number() OVER (PARTITION BY p.parent_id ORDER BY p.page_id) AS listed
                    FROM pages p WHERE p.parent_id = ANY(%s) AND p.status = 'current') t
                WHERE listed <= %s ORDER BY parent_id, page_id""",
            (wanted, MAX_LISTED_ROWS),
        ).fetchall()
        found: dict[str, list[StoredPage]] = {page_id: [] for page_id in wanted}
        for row in rows:
            found[row[3]].append(_listed(row))
        for page_id, children in found.items():
            self._children[page_id] = tuple(children)

    def attachments(self, page_id: str) -> Sequence[StoredAttachment] | None:
        """A current page's attachments (None when the page is not stored as current)."""
        if page_id not in self._attachments:
            row = self._conn.execute(
                "SELECT attachments FROM pages WHERE page_id = %s AND status = 'current'", (page_id,)
            ).fetchone()
            self._attachments[page_id] = (
                None
                if row is None
                else tuple(
                    StoredAttachment(a.get("title", ""), a.get("media_type"), a.get("download_url")) for a in row[0]
                )
            )
        return self._attachments[page_id]

    def labelled(self, label: str) -> Sequence[StoredPage]:
        """The current pages carrying ``label``."""
        label = label.casefold()
        if label not in self._labelled:
            rows = self._conn.execute(
                f"""SELECT {_PAGE_COLUMNS} FROM pages p WHERE p.status = 'current' AND p.labels @> ARRAY[%s]
                    ORDER BY p.page_id LIMIT %s""",
                (label, MAX_LISTED_ROWS),
            ).fetchall()
            self._labelled[label] = tuple(_listed(row) for row in rows)
        return self._labelled[label]

    def home_page_id(self, space_key: str) -> str | None:
        """The space's home page id, as the space listing gave it."""
        if space_key not in self._homes:
            row = self._conn.execute("SELECT homepage_id FROM spaces WHERE space_key = %s", (space_key,)).fetchone()
            self._homes[space_key] = row[0] if row else None
        return self._homes[space_key]


@contextmanager
def read_snapshot(conn: psycopg.Connection) -> Iterator[StoreResolver]:
    """A resolver reading one consistent snapshot: a read-only ``REPEATABLE READ`` transaction on ``conn``.

    Call :func:`dependency_states` inside the block, so the states match what the conversions read.
    """
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield StoreResolver(conn)


def dependency_states(conn: psycopg.Connection, dependencies: Iterable[Dependency]) -> dict[Dependency, str]:
    """The current state of each dependency (``conversion_dependency_state``), ``'missing'`` for what is gone."""
    unique = sorted(set(dependencies), key=lambda d: (d.kind, d.target))
    if not unique:
        return {}
    rows = conn.execute(
        """SELECT k, t, conversion_dependency_state(k, t) FROM unnest(%s::text[], %s::text[]) AS u(k, t)""",
        ([d.kind for d in unique], [d.target for d in unique]),
    ).fetchall()
    return {Dependency(kind, target): state for kind, target, state in rows}


def save_dependencies(
    conn: psycopg.Connection, page_ids: Sequence[str], edges: Mapping[str, Mapping[Dependency, str]]
) -> None:
    """Replace the dependency edges of ``page_ids`` and set their ``deps_hash`` (NULL for pages without edges).

    Args:
        conn: connection; the caller owns the transaction (the one that saves the pages' Markdown).
        page_ids: every page converted in the batch, with or without dependencies.
        edges: page id → {dependency: state seen when it was converted}.
    """
    if not page_ids:
        return
    ids = list(page_ids)
    conn.execute("DELETE FROM page_dependencies WHERE page_id = ANY(%s)", (ids,))
    rows = [(page_id, d.kind, d.target, seen) for page_id, deps in edges.items() for d, seen in deps.items()]
    if rows:
        with conn.cursor().copy("COPY page_dependencies (page_id, kind, target, seen) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    conn.execute(
        f"""UPDATE page_markdown m SET deps_hash = h.hash
            FROM (SELECT i.page_id, (SELECT {SEEN_HASH} FROM page_dependencies d WHERE d.page_id = i.page_id) AS hash
                  FROM unnest(%s::text[]) AS i(page_id)) h
            WHERE m.page_id = h.page_id AND m.deps_hash IS DISTINCT FROM h.hash""",
        (ids,),
    )


def dependants(conn: psycopg.Connection, page_id: str) -> list[str]:
    """Pages whose stored Markdown shows something of ``page_id`` directly (by id edges), for status and tests."""
    rows = conn.execute(
        """SELECT DISTINCT d.page_id FROM page_dependencies d
           WHERE (d.kind IN ('page-id', 'tree', 'tree-modified', 'attachments') AND d.target = %s)
              OR (d.kind = 'page' AND d.seen LIKE %s) ORDER BY 1""",
        (page_id, f"{page_id}:%"),
    ).fetchall()
    return [row[0] for row in rows]


def stale_dependant_spaces(conn: psycopg.Connection) -> dict[str, str]:
    """Spaces holding pages whose Markdown shows something that changed since, each with a marker of that state.

    A page of one space may show a page of another (an ``include`` across spaces): that space's own run converts it
    again, so the change sensor asks for one. The marker changes with every new change, so it can go in a run key.
    """
    rows = conn.execute(
        f"""SELECT p.space_key, md5(string_agg(p.page_id || ':' || m.deps_hash, ',' ORDER BY p.page_id))
            FROM pages p JOIN page_markdown m ON m.page_id = p.page_id
            WHERE p.status = 'current' AND m.source_hash = p.content_hash AND {STALE_DEPENDENCIES}
            GROUP BY p.space_key"""
    ).fetchall()
    return {row[0]: row[1][:16] for row in rows}
