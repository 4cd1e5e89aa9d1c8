"""The corpus's pages, spaces and users in memory, the indexes over them, and the reads they answer."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from confluence_sandbox.corpus.model import (
    _SERVICE_USER_INDEX,
    ALL_USERS,
    EPOCH,
    FLAVORS,
    KIND_FIXTURE,
    PROFILES,
    STATUSES,
    CorpusError,
    Page,
    Space,
    User,
)


class CorpusIndex:
    """The corpus's state and indexes, with the reads and the index upkeep its other parts share."""

    def __init__(self, *, seed: int, flavor: str, timezone: str, profile: str = "synthetic") -> None:
        if flavor not in FLAVORS:
            raise ValueError(f"flavor must be one of {FLAVORS}, not {flavor!r}")
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
        self.profile = profile
        ZoneInfo(timezone)  # fail early on an unknown zone
        self.seed = seed
        self.flavor = flavor
        self.timezone = timezone
        self.epoch = EPOCH
        self.users: tuple[User, ...] = ALL_USERS
        self.spaces: dict[str, Space] = {}
        self.lock = threading.RLock()
        self.generation = 0
        self._pages: dict[int, Page] = {}
        self._children: dict[int, list[int]] = {}
        self._roots: dict[str, list[int]] = {}
        self._space_pages: dict[str, set[int]] = {}
        self._titles: dict[str, dict[str, int]] = {}
        self._label_ids: dict[str, int] = {}
        self._fixtures: dict[int, Any] = {}
        self._body_cache: OrderedDict[tuple[int, int, int], str] = OrderedDict()
        self._users_by_ref: dict[str, int] = {}
        for i, u in enumerate(self.users):
            for ref in (u.username, u.account_id, u.user_key, u.email):
                self._users_by_ref[ref] = i

    # --- reading -------------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._pages)

    def page(self, page_id: int | str) -> Page | None:
        """Return a page by id (any status), or None when it does not exist (or was purged)."""
        try:
            return self._pages.get(int(page_id))
        except (TypeError, ValueError):
            return None

    def pages(self, *, space_key: str | None = None, statuses: Iterable[str] | None = None) -> list[Page]:
        """Return pages ordered by id, optionally of one space and with the given statuses."""
        with self.lock:
            ids = self._space_pages.get(space_key, set()) if space_key is not None else self._pages.keys()
            wanted = set(statuses) if statuses is not None else None
            out = [self._pages[i] for i in ids if wanted is None or self._pages[i].status in wanted]
        out.sort(key=lambda p: p.id)
        return out

    def page_ids(self, space_key: str | None = None) -> list[int]:
        """Return the ids of the pages of one space (or all), unordered, for scanning."""
        if space_key is None:
            return list(self._pages)
        return list(self._space_pages.get(space_key, ()))

    def space_keys_ci(self) -> dict[str, str]:
        """Map case-folded space keys to space keys."""
        return {k.casefold(): k for k in self.spaces}

    def ancestors(self, page: Page) -> list[Page]:
        """Return the page's ancestors, root first and direct parent last."""
        chain: list[Page] = []
        seen = {page.id}
        parent_id = page.parent_id
        while parent_id is not None and parent_id not in seen:
            parent = self._pages.get(parent_id)
            if parent is None:
                break
            chain.append(parent)
            seen.add(parent_id)
            parent_id = parent.parent_id
        chain.reverse()
        return chain

    def children(self, page_id: int, statuses: Iterable[str] = ("current",)) -> list[Page]:
        """Return a page's child pages in position order."""
        wanted = set(statuses)
        kids = [self._pages[i] for i in self._children.get(page_id, ()) if self._pages[i].status in wanted]
        kids.sort(key=lambda p: (p.position, p.id))
        return kids

    def has_children(self, page_id: int) -> bool:
        """Whether a page has any child page (any status)."""
        return bool(self._children.get(page_id))

    def space_home(self, space_key: str) -> Page | None:
        """Return a space's homepage."""
        space = self.spaces.get(space_key)
        if space is None or space.homepage_id is None:
            return None
        return self._pages.get(space.homepage_id)

    def page_by_title(self, space_key: str, title: str) -> Page | None:
        """Return the (non-trashed) page with this title in a space (titles are unique per space, any case)."""
        page_id = self._titles.get(space_key, {}).get(title.casefold())
        return self._pages.get(page_id) if page_id is not None else None

    def user_at(self, index: int) -> User:
        """Return the user at an index of :attr:`users`."""
        return self.users[index]

    def find_user(self, ref: str) -> User | None:
        """Find a user by username, account id, user key or email."""
        index = self._users_by_ref.get(ref)
        return self.users[index] if index is not None else None

    def label_id(self, name: str) -> int:
        """Return the id of a label (labels are global; ids are stable within a corpus)."""
        with self.lock:
            if name not in self._label_ids:
                self._label_ids[name] = 3_000_000 + 17 * len(self._label_ids)
            return self._label_ids[name]

    def is_fixture(self, page: Page) -> bool:
        """Whether a page is one of the bundled real pages."""
        return page.topic == KIND_FIXTURE

    def _jira_key(self, page: Page) -> str:
        return f"{self.spaces[page.space_key].jira_project}-{1000 + page.ordinal}"

    def summary(self) -> dict[str, Any]:
        """Return counts of pages per space and status, and the spaces' metadata."""
        with self.lock:
            spaces = []
            for space in self.spaces.values():
                counts = dict.fromkeys(STATUSES, 0)
                for i in self._space_pages.get(space.key, ()):
                    counts[self._pages[i].status] += 1
                spaces.append(
                    {"key": space.key, "name": space.name, "type": space.type, "status": space.status, "pages": counts}
                )
            totals = dict.fromkeys(STATUSES, 0)
            for p in self._pages.values():
                totals[p.status] += 1
        return {
            "seed": self.seed,
            "flavor": self.flavor,
            "timezone": self.timezone,
            "pages": len(self._pages),
            "by_status": totals,
            "spaces": spaces,
        }

    def snapshot(self) -> tuple[Any, ...]:
        """Return all metadata (spaces, users, pages, labels) as plain tuples, for comparing corpora."""
        with self.lock:
            return (
                tuple(
                    (s.key, s.name, s.id, s.type, s.status, s.homepage_id, s.created_ms) for s in self.spaces.values()
                ),
                self.users,
                tuple(self._pages[i].key() for i in sorted(self._pages)),
                tuple(sorted(self._label_ids.items())),
            )

    # --- index upkeep (generation and writes; the public writes take the lock) --------------------------------

    def _index(self, page: Page) -> None:
        self._pages[page.id] = page
        self._space_pages.setdefault(page.space_key, set()).add(page.id)
        if page.parent_id is None:
            self._roots.setdefault(page.space_key, []).append(page.id)
        else:
            self._children.setdefault(page.parent_id, []).append(page.id)
        if page.status != "trashed":
            self._titles.setdefault(page.space_key, {})[page.title.casefold()] = page.id
        for label in page.labels:
            if label not in self._label_ids:
                self.label_id(label)

    def _unlink(self, page: Page) -> None:
        if page.parent_id is None:
            roots = self._roots.get(page.space_key, [])
            if page.id in roots:
                roots.remove(page.id)
        else:
            kids = self._children.get(page.parent_id, [])
            if page.id in kids:
                kids.remove(page.id)
            if not kids:
                self._children.pop(page.parent_id, None)

    def _link(self, page: Page) -> None:
        if page.parent_id is None:
            self._roots.setdefault(page.space_key, []).append(page.id)
        else:
            self._children.setdefault(page.parent_id, []).append(page.id)

    def _changed(self) -> None:
        self.generation += 1

    def _require(self, page_id: int | str) -> Page:
        page = self.page(page_id)
        if page is None:
            raise CorpusError(404, f"No content found with id : {page_id}")
        return page

    def _user_index(self, author: str | None) -> int:
        if author is None:
            return _SERVICE_USER_INDEX
        index = self._users_by_ref.get(author)
        if index is None:
            raise CorpusError(400, f"Unknown user {author!r}")
        return index

    def _check_title(self, space_key: str, title: str, page_id: int | None) -> None:
        if not title or not title.strip():
            raise CorpusError(400, "A page title must not be empty")
        if len(title) > 255:
            raise CorpusError(400, "A page title must be at most 255 characters")
        owner = self._titles.get(space_key, {}).get(title.casefold())
        if owner is not None and owner != page_id:
            raise CorpusError(
                400,
                f"A page with this title already exists: A page already exists with the title "
                f"{title} in the space with key {space_key}",
            )

    def _next_id(self) -> int:
        # Never below 1,000,001: the Play space's fixed ids sit under it.
        return max(max(self._pages, default=0), 1_000_000) + 1 + (len(self._pages) % 7)
