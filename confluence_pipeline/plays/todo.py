"""Play ToDo List pages: "<Play id> ToDo List" under Project TODO, linked from Project TODO and the Play's Play DB row.

Idempotent from end to end: the page is looked up by title before it is created (and again when a create's
response is lost), and each link is added only when its page does not link there yet. Running it twice creates
nothing and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.errors import ConfluenceBadRequest, ConfluenceUnavailable
from confluence_pipeline.plays.playdb import links_to, page_link_markup, plan_todo_link
from confluence_pipeline.plays.settings import PLAY_ID, PlaySettings, PlaySettingsError
from confluence_pipeline.plays.tables import find_section, require_well_formed, scan_elements, text
from confluence_pipeline.plays.writeback import Edit, PageEditResult, PageSnapshot, audit, edit_page, read_page
from confluence_pipeline.store import plays as store

TODO_SECTION = "Play ToDo Lists"


def todo_title(play_id: str) -> str:
    """The title of a Play's ToDo List page."""
    return f"{play_id} ToDo List"


def todo_list_body(play_id: str) -> str:
    """The first version of a ToDo List page: a short note and a task list to fill in."""
    tasks = ("Agree the Play's goal for the quarter", "Book the kick-off with the account team", "Plan the pilot")
    items = "".join(
        f"<ac:task><ac:task-id>{n}</ac:task-id><ac:task-status>incomplete</ac:task-status>"
        f"<ac:task-body>{text(task)}</ac:task-body></ac:task>"
        for n, task in enumerate(tasks, start=1)
    )
    return (
        f"<p>Detailed tasks of {text(play_id)}. This page is linked from Project TODO and from the Play's row in "
        f"the Play DB.</p><ac:task-list>{items}</ac:task-list>"
    )


def add_todo_link(storage: str, title: str, *, what: str) -> str | None:
    """Add a link to ``title`` to the page's "Play ToDo Lists" list (made at the end when missing).

    Returns:
        The new body, or None when the page links to ``title`` already.
    """
    require_well_formed(storage, what)
    if links_to(storage, title):
        return None
    item = f"<li><p>{page_link_markup(title)}</p></li>"
    elements = scan_elements(storage)
    section = find_section(storage, elements, TODO_SECTION)
    if section is None:
        new = storage + f"<h2>{text(TODO_SECTION)}</h2><ul>{item}</ul>"
    else:
        heading, end = section
        lists = [el for el in elements if el.name in ("ul", "ol") and el.depth == heading.depth]
        lists = [el for el in lists if heading.end <= el.start < end]
        if lists:
            at = lists[0].inner_end
            new = storage[:at] + item + storage[at:]
        else:
            new = storage[:end] + f"<ul>{item}</ul>" + storage[end:]
    require_well_formed(new, f"{what} after the edit")
    return new


@dataclass(frozen=True)
class TodoResult:
    """What :func:`create_todo_page` did.

    Attributes:
        play_id: the Play.
        title: the ToDo List's title.
        page_id: its page id.
        created: whether this call created it (also when the create's response was lost and the page found after).
        todo_link: outcome of the link on Project TODO (``written``, ``unchanged``, ``already_applied``).
        play_db_link: outcome of the link in the Play DB row.
    """

    play_id: str
    title: str
    page_id: str
    created: bool
    todo_link: str
    play_db_link: str

    @property
    def changed(self) -> bool:
        """Whether anything was created or written."""
        return self.created or "written" in (self.todo_link, self.play_db_link)

    def metadata(self) -> dict[str, Any]:
        """Plain values for reports and Dagster metadata."""
        return {
            "play_id": self.play_id,
            "title": self.title,
            "page_id": self.page_id,
            "created": self.created,
            "project_todo_link": self.todo_link,
            "play_db_link": self.play_db_link,
        }


def find_page(client: ConfluenceClient, space_key: str, title: str) -> dict[str, Any] | None:
    """The current page with this exact title in a space, or None."""
    data = client.get_json(
        "rest/api/content",
        {"spaceKey": space_key, "title": title, "type": "page", "status": "current", "expand": "version,ancestors"},
    )
    for page in data.get("results") or []:
        if str(page.get("title", "")).casefold() == title.casefold():
            return page
    return None


def _create(client: ConfluenceClient, parent: PageSnapshot, title: str, play_id: str) -> tuple[str, str | None]:
    """Create the page unless it exists; returns its id and ``created``, ``already_applied`` or None (it existed)."""
    existing = find_page(client, parent.space_key or "", title)
    if existing is not None:
        return str(existing["id"]), None
    payload = {
        "type": "page",
        "title": title,
        "space": {"key": parent.space_key},
        "ancestors": [{"id": parent.page_id}],
        "body": {"storage": {"value": todo_list_body(play_id), "representation": "storage"}},
    }
    try:
        created = client.post_json("rest/api/content", payload)
    except (ConfluenceBadRequest, ConfluenceUnavailable):
        # A create whose response was lost: a retry meets "title already exists", or the retries ran out after the
        # page was made. Either way the page may be there now.
        again = find_page(client, parent.space_key or "", title)
        if again is None:
            raise
        return str(again["id"]), "already_applied"
    return str(created["id"]), "created"


def create_todo_page(
    conn: psycopg.Connection,
    client: ConfluenceClient,
    settings: PlaySettings,
    play_id: str,
    *,
    run_id: str | None = None,
) -> TodoResult:
    """Create "<Play id> ToDo List" under Project TODO and link it from Project TODO and the Play's Play DB row.

    Args:
        conn: the pipeline database (audit).
        client: the Confluence client.
        settings: Project TODO and Play DB page ids.
        play_id: the Play; it must have a row in the Play DB.
        run_id: the triggering run, for the audit.

    Returns:
        What was created and linked.

    Raises:
        PlaySettingsError: a page id is not set, or the Play id is malformed.
        PageStructureError: the Play DB has no ToDo column or no row for the Play.
        ConfluenceError: a request failed.
    """
    settings.validate(need=("todo", "play_db"))
    if not PLAY_ID.match(play_id or ""):
        raise PlaySettingsError(f"{play_id!r} is not a Play id (letters, digits, _ . -), e.g. EXT_Desk_D01")
    title = todo_title(play_id)
    play_db = read_page(client, settings.play_db_page_id)
    # Fails (no ToDo column, no row for the Play) before anything is created.
    plan_todo_link(play_db.storage, play_id, title, what=f"the Play DB page {play_db.page_id}")
    parent = read_page(client, settings.todo_page_id)
    page_id, outcome = _create(client, parent, title, play_id)
    created = outcome is not None
    if outcome is not None:
        store.record_page_write(
            conn,
            page_id=page_id,
            page_title=title,
            kind="todo_create",
            source=run_id,
            outcome=outcome,
            version_before=None,
            version_after=1,
            changes=[{"parent_id": parent.page_id}],
        )

    def link_on_todo(page: PageSnapshot) -> Edit:
        return Edit(add_todo_link(page.storage, title, what=f"Project TODO {page.page_id}"), [{"link": title}])

    def link_on_play_db(page: PageSnapshot) -> Edit:
        plan = plan_todo_link(page.storage, play_id, title, what=f"the Play DB page {page.page_id}")
        return Edit(plan.storage if plan.changed else None, [c.as_dict() for c in plan.changes])

    results: list[PageEditResult] = []
    for page, transform, kind in (
        (settings.todo_page_id, link_on_todo, "todo_link"),
        (settings.play_db_page_id, link_on_play_db, "play_db_todo_link"),
    ):
        result = edit_page(client, page, transform, message=f"Link {title}", conflict_retries=settings.conflict_retries)
        audit(conn, result, kind=kind, source=run_id, changes=result.sent_detail or [])
        results.append(result)
    return TodoResult(play_id, title, page_id, created, results[0].outcome, results[1].outcome)
