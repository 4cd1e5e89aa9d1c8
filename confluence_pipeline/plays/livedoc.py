"""A Play's Live doc: entries appended as things happen, each carrying its event id in a hidden anchor.

An entry is one paragraph that starts with an anchor macro named ``event-<event id>``. Anchors are invisible when the
page is viewed and survive editing, so the page itself says which events it holds: an event whose anchor is on the
page is never appended again, even when the write that put it there lost its response.

Entries go at the end of the page's "Timeline" section (any heading level, any case) when it has one, so sections
below it (open questions, links) stay below; otherwise at the end of the page (inside its last layout cell when the
page uses layouts).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from confluence_pipeline.plays.tables import Element, attr, find_section, require_well_formed, scan_elements, text

TIMELINE_HEADING = "timeline"


def marker(event_id: str) -> str:
    """The anchor name that marks an event's entry."""
    return f"event-{event_id}"


def anchor_markup(event_id: str) -> str:
    """The hidden anchor macro carrying an event id."""
    return (
        '<ac:structured-macro ac:name="anchor" ac:schema-version="1">'
        f'<ac:parameter ac:name="">{text(marker(event_id))}</ac:parameter></ac:structured-macro>'
    )


def has_marker(storage: str, event_id: str) -> bool:
    """Whether the page holds the entry (or the update) of this event."""
    return f">{text(marker(event_id))}</ac:parameter>" in storage


def entry_markup(
    event_id: str,
    label: str,
    title: str,
    *,
    when: datetime,
    tz: ZoneInfo,
    url: str | None = None,
    actor: str | None = None,
    extra: str | None = None,
) -> str:
    """One timeline entry: ``<date> · <label> · <title, linked> · <actor>`` after its hidden anchor."""
    what = f'<a href="{attr(url)}">{text(title)}</a>' if url else text(title)
    parts = [f"<strong>{when.astimezone(tz):%Y-%m-%d %H:%M}</strong>", text(label), what]
    if extra:
        parts.append(text(extra))
    if actor:
        parts.append(text(actor))
    return f"<p>{anchor_markup(event_id)}{' · '.join(parts)}</p>"


def _insertion_point(storage: str, elements: list[Element]) -> int:
    section = find_section(storage, elements, TIMELINE_HEADING)
    if section is not None:
        return section[1]
    cells = [el for el in elements if el.name == "ac:layout-cell"]
    if cells:
        return cells[-1].inner_end
    return len(storage)


def append_entry(storage: str, event_id: str, entry: str, *, what: str) -> str | None:
    """Add an entry to the page, unless the event's anchor is on it already.

    Args:
        storage: the page body as it is now in Confluence.
        event_id: the event (its anchor must be inside ``entry``).
        entry: the entry's markup (see :func:`entry_markup`).
        what: the page, for error messages.

    Returns:
        The new body, or None when the page holds the event already.
    """
    require_well_formed(storage, what)
    if has_marker(storage, event_id):
        return None
    at = _insertion_point(storage, scan_elements(storage))
    new = storage[:at] + entry + storage[at:]
    require_well_formed(new, f"{what} after the edit")
    return new


def update_entry(storage: str, event_id: str, of_event: str, addition: str, fallback: str, *, what: str) -> str | None:
    """Add to the entry of an earlier event (e.g. a signal's score), or append ``fallback`` when it is not there.

    Args:
        storage: the page body as it is now in Confluence.
        event_id: the updating event (its anchor must be inside ``addition`` and ``fallback``).
        of_event: the event whose entry to update.
        addition: inline markup added at the end of that entry.
        fallback: a whole entry, used when the page has no entry of ``of_event``.
        what: the page, for error messages.

    Returns:
        The new body, or None when the page holds this update already.
    """
    require_well_formed(storage, what)
    if has_marker(storage, event_id):
        return None
    needle = f">{text(marker(of_event))}</ac:parameter>"
    found = storage.find(needle) if of_event else -1
    if found < 0:
        return append_entry(storage, event_id, fallback, what=what)
    blocks = [el for el in scan_elements(storage) if el.name in ("p", "li") and el.inner_start <= found < el.inner_end]
    if not blocks:
        return append_entry(storage, event_id, fallback, what=what)
    block = blocks[-1]
    new = storage[: block.inner_end] + addition + storage[block.inner_end :]
    require_well_formed(new, f"{what} after the edit")
    return new
