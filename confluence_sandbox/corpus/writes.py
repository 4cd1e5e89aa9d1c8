"""The corpus's writes: create, edit, move, change status and purge pages, as Confluence does."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from confluence_sandbox.corpus.index import CorpusIndex
from confluence_sandbox.corpus.model import (
    _SERVICE_USER_INDEX,
    KIND_CREATED,
    STATUSES,
    CorpusError,
    Page,
)


class CorpusWrites(CorpusIndex):
    """Page writes; callers hold no lock, each method takes it."""

    def create_page(
        self,
        space_key: str,
        title: str,
        *,
        now_ms: int,
        parent_id: int | str | None = None,
        body: str | None = None,
        labels: Sequence[str] = (),
        author: str | None = None,
    ) -> Page:
        """Create a page (version 1 at ``now_ms``).

        Args:
            space_key: The space to create it in.
            title: A title unique in the space.
            now_ms: Creation time (epoch milliseconds).
            parent_id: The parent page; the space's homepage when omitted.
            body: Storage-format body; a short generated paragraph when omitted.
            labels: Labels to attach.
            author: Username, account id or user key of the creator (the sandbox service account by default).

        Returns:
            The new page.

        Raises:
            CorpusError: Unknown space or parent, or a duplicate title.
        """
        with self.lock:
            space = self.spaces.get(space_key)
            if space is None:
                raise CorpusError(404, f"No space with key : {space_key}")
            creator = self._user_index(author)
            parent: Page | None
            if parent_id is not None:
                parent = self._require(parent_id)
                if parent.space_key != space_key:
                    raise CorpusError(400, f"Parent page {parent.id} is not in space {space_key}")
                if parent.status == "trashed":
                    raise CorpusError(400, f"Parent page {parent.id} is in the trash")
            else:
                parent = self.space_home(space_key)
            self._check_title(space_key, title, None)
            page_id = self._next_id()
            siblings = self._children.get(parent.id, []) if parent is not None else self._roots.get(space_key, [])
            position = max((self._pages[i].position for i in siblings), default=-1) + 1
            page = Page(
                id=page_id,
                space_key=space_key,
                parent_id=parent.id if parent is not None else None,
                title=title,
                position=position,
                created_ms=now_ms,
                creator=creator,
                topic=KIND_CREATED,
                labels=tuple(label.strip().lower() for label in labels if label.strip()),
            )
            page.body_override = body if body is not None else f"<p>{escape(title, quote=False)}</p>"
            page.override_version = 1
            self._index(page)
            if space.homepage_id is None:
                space.homepage_id = page.id
            self._changed()
            return page

    def edit_page(
        self,
        page_id: int | str,
        *,
        now_ms: int,
        title: str | None = None,
        body: str | None = None,
        message: str = "",
        minor_edit: bool = False,
        author: str | None = None,
        expected_version: int | None = None,
    ) -> Page:
        """Make a new version of a page at ``now_ms``.

        Without ``body`` the page's text still changes: generated pages grow their change log and stored bodies
        get a revision note, so every version has a distinct body.

        Args:
            page_id: The page.
            now_ms: Time of the new version (epoch milliseconds).
            title: New title (unique in the space).
            body: New storage-format body.
            message: Version message.
            minor_edit: Whether the edit is minor.
            author: Username, account id or user key of the editor (the service account by default).
            expected_version: When given, the new version number the caller expects (Confluence's update rule:
                it must be the current version + 1, else 409).

        Returns:
            The page after the edit.

        Raises:
            CorpusError: Unknown page, a trashed page, a duplicate title or a stale version.
        """
        with self.lock:
            page = self._require(page_id)
            if page.status == "trashed":
                raise CorpusError(400, f"Cannot edit page {page.id}: it is in the trash")
            if expected_version is not None and expected_version != page.version + 1:
                raise CorpusError(409, f"Version must be incremented on update. Current version is: {page.version}")
            editor = self._user_index(author)
            if title is not None and title != page.title:
                self._check_title(page.space_key, title, page.id)
                self._titles.get(page.space_key, {}).pop(page.title.casefold(), None)
                page.title = title
                self._titles.setdefault(page.space_key, {})[title.casefold()] = page.id
            page.version += 1
            if body is not None:
                page.body_override = body
                page.override_version = page.version
            page.modified_ms = max(now_ms, page.created_ms)
            page.modifier = editor
            page.message = message
            page.minor_edit = minor_edit
            self._changed()
            return page

    def _bump(self, page: Page, now_ms: int, message: str) -> None:
        page.version += 1
        page.modified_ms = max(now_ms, page.created_ms)
        page.modifier = _SERVICE_USER_INDEX
        page.message = message
        page.minor_edit = True

    def move_page(
        self,
        page_id: int | str,
        *,
        now_ms: int,
        parent_id: int | str | None = None,
        space_key: str | None = None,
        bump_version: bool = False,
    ) -> Page:
        """Move a page (with its descendants) under another parent and/or into another space.

        As in Confluence, a move changes ancestors but not the version or ``lastmodified`` unless ``bump_version``.

        Args:
            page_id: The page to move.
            now_ms: Time of the move.
            parent_id: The new parent; the target space's homepage when only ``space_key`` is given.
            space_key: The target space (defaults to the new parent's space).
            bump_version: Also make a new version at ``now_ms``.

        Returns:
            The moved page.

        Raises:
            CorpusError: Unknown page/parent/space, or a move under the page itself or a descendant.
        """
        with self.lock:
            page = self._require(page_id)
            if parent_id is None and space_key is None:
                raise CorpusError(400, "Give parent_id and/or space")
            new_parent: Page | None = None
            if parent_id is not None:
                new_parent = self._require(parent_id)
                target_space = space_key or new_parent.space_key
                if new_parent.space_key != target_space:
                    raise CorpusError(400, f"Parent page {new_parent.id} is not in space {target_space}")
                if new_parent.id == page.id or any(a.id == page.id for a in self.ancestors(new_parent)):
                    raise CorpusError(400, "Cannot move a page under itself or one of its descendants")
            else:
                assert space_key is not None
                target_space = space_key
                if target_space not in self.spaces:
                    raise CorpusError(404, f"No space with key : {target_space}")
                new_parent = self.space_home(target_space)
                if new_parent is not None and new_parent.id == page.id:
                    new_parent = None
            if target_space not in self.spaces:
                raise CorpusError(404, f"No space with key : {target_space}")
            subtree = self._subtree(page)
            if target_space != page.space_key:
                for p in subtree:
                    self._check_title(target_space, p.title, None)
            self._unlink(page)
            for p in subtree:
                if p.space_key != target_space:
                    self._space_pages[p.space_key].discard(p.id)
                    self._titles.get(p.space_key, {}).pop(p.title.casefold(), None)
                    p.space_key = target_space
                    self._space_pages.setdefault(target_space, set()).add(p.id)
                    if p.status != "trashed":
                        self._titles.setdefault(target_space, {})[p.title.casefold()] = p.id
            page.parent_id = new_parent.id if new_parent is not None else None
            siblings = self._children.get(page.parent_id, []) if page.parent_id is not None else []
            page.position = max((self._pages[i].position for i in siblings), default=-1) + 1
            self._link(page)
            if bump_version:
                self._bump(page, now_ms, "Moved")
            self._changed()
            return page

    def _subtree(self, page: Page) -> list[Page]:
        out, stack = [], [page.id]
        while stack:
            current = self._pages[stack.pop()]
            out.append(current)
            stack.extend(self._children.get(current.id, ()))
        return out

    def set_status(
        self,
        page_id: int | str,
        status: str,
        *,
        now_ms: int,
        cascade: bool = False,
        bump_version: bool = False,
    ) -> list[Page]:
        """Set a page's status to ``current``, ``archived`` or ``trashed``.

        Trashing a page without ``cascade`` moves its children up to its parent, as Confluence does; restoring a
        trashed page puts it back under its old parent when that still exists.

        Args:
            page_id: The page.
            status: ``current``, ``archived`` or ``trashed``.
            now_ms: Time of the change (used only with ``bump_version``).
            cascade: Apply the status to all descendants too.
            bump_version: Also make a new version (so ``lastmodified`` moves).

        Returns:
            The pages whose status changed.

        Raises:
            CorpusError: Unknown page or status.
        """
        if status not in STATUSES:
            raise CorpusError(400, f"status must be one of {', '.join(STATUSES)}")
        with self.lock:
            page = self._require(page_id)
            targets = self._subtree(page) if cascade else [page]
            changed = []
            for p in targets:
                if p.status == status:
                    continue
                if status == "trashed" and not cascade and p.id == page.id:
                    for child_id in list(self._children.get(p.id, ())):
                        child = self._pages[child_id]
                        self._unlink(child)
                        child.parent_id = p.parent_id
                        self._link(child)
                if status == "trashed":
                    self._titles.get(p.space_key, {}).pop(p.title.casefold(), None)
                    p.restore_parent_id = p.parent_id
                elif p.status == "trashed":
                    self._check_title(p.space_key, p.title, p.id)
                    self._titles.setdefault(p.space_key, {})[p.title.casefold()] = p.id
                    old_parent = self._pages.get(p.restore_parent_id) if p.restore_parent_id else None
                    if old_parent is not None and old_parent.status != "trashed" and p.parent_id != old_parent.id:
                        self._unlink(p)
                        p.parent_id = old_parent.id
                        self._link(p)
                p.status = status
                if bump_version:
                    self._bump(p, now_ms, f"Status changed to {status}")
                changed.append(p)
            self._changed()
            return changed

    def delete_page(self, page_id: int | str, *, cascade: bool = False) -> list[int]:
        """Purge a page for good (later reads answer 404); children move up unless ``cascade`` purges them too.

        Args:
            page_id: The page.
            cascade: Also purge all descendants.

        Returns:
            The ids purged.

        Raises:
            CorpusError: Unknown page.
        """
        with self.lock:
            page = self._require(page_id)
            targets = self._subtree(page) if cascade else [page]
            if not cascade:
                for child_id in list(self._children.get(page.id, ())):
                    child = self._pages[child_id]
                    self._unlink(child)
                    child.parent_id = page.parent_id
                    self._link(child)
            for p in reversed(targets):
                self._unlink(p)
                self._children.pop(p.id, None)
                self._space_pages[p.space_key].discard(p.id)
                if self._titles.get(p.space_key, {}).get(p.title.casefold()) == p.id:
                    del self._titles[p.space_key][p.title.casefold()]
                del self._pages[p.id]
                space = self.spaces[p.space_key]
                if space.homepage_id == p.id:
                    space.homepage_id = None
            self._changed()
            return [p.id for p in targets]
