"""Search filters: predicates on the page, applied inside both halves of the query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SearchFilters:
    """Optional predicates applied inside both halves of the query.

    Attributes:
        space_key: only pages of this space.
        label: only pages carrying this label.
        under_page_id: only pages below this page (its descendants, not the page itself).
    """

    space_key: str | None = None
    label: str | None = None
    under_page_id: str | None = None


def filters_sql(filters: SearchFilters) -> tuple[str, str, dict[str, Any]]:
    """The halves' FROM tail and WHERE clause for the filters, with their parameters.

    Without filters the halves read chunks alone: a live chunk's page is current (a page that stops being current
    loses its chunks in the same transaction), and the final join checks it again. Joining pages for every candidate
    of the text half would cost an index probe per chunk, or a scan of pages when the planner prefers a hash join.

    Returns:
        ``(join, where, params)``: a ``JOIN pages p`` clause (or ""), the predicate over ``c`` (chunks) and ``p``,
        and the named parameters it uses.
    """
    params: dict[str, Any] = {}
    clauses = ["p.status = 'current'"]
    if filters.space_key:
        clauses.append("p.space_key = %(space)s")
        params["space"] = filters.space_key
    if filters.label:
        clauses.append("p.labels @> ARRAY[%(label)s]::text[]")
        params["label"] = filters.label
    if filters.under_page_id:
        clauses.append("p.path LIKE %(path)s")
        params["path"] = f"%/{filters.under_page_id}/%"
    if len(clauses) == 1:
        return "", "c.is_live", params
    return " JOIN pages p ON p.page_id = c.document_id", " AND ".join(["c.is_live", *clauses]), params
