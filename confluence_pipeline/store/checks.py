"""Consistency checks over the store, as plain SQL: what the Dagster asset checks report, testable without Dagster.

Each check counts the rows that break one invariant and names a few of them:

* :func:`pages_without_live_chunks`: every current page has at least one live (searchable) chunk;
* :func:`live_chunks_without_embeddings`: every live chunk has a vector for the active model, in the table the
  vector half of search reads (``search_vectors``);
* :func:`chunks_of_inactive_pages`: no chunk, live or pending, belongs to a page that is not current (deleted,
  archived, trashed, moved) or to no page at all;
* :func:`vectors_with_wrong_dimensions`: every vector of the active model has the model's number of dimensions.

Checks take an optional space key (the asset partition); without one they cover the whole store. Each returns a
:class:`CheckOutcome` whose ``metadata()`` is what the asset check attaches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from confluence_pipeline.store.documents import SOURCE, active_model

SAMPLE_SIZE = 5


@dataclass(frozen=True)
class CheckOutcome:
    """The result of one check.

    Attributes:
        name: the check's name.
        passed: True when no row breaks the invariant.
        failures: how many rows break it.
        checked: how many rows were examined.
        sample_ids: up to :data:`SAMPLE_SIZE` offending ids (page or chunk ids), smallest first.
        description: one line saying what was checked, for people reading the result.
        details: more counts, by kind.
    """

    name: str
    passed: bool
    failures: int
    checked: int
    sample_ids: list[str]
    description: str
    details: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """Plain-typed metadata for Dagster (counts, sample ids, details)."""
        return {
            "failures": self.failures,
            "checked": self.checked,
            "sample_ids": ", ".join(self.sample_ids) if self.sample_ids else "none",
            **self.details,
        }


def _space_clause(space_key: str | None, alias: str = "p") -> tuple[str, tuple[Any, ...]]:
    if space_key is None:
        return "", ()
    return f" AND {alias}.space_key = %s", (space_key,)


def pages_without_live_chunks(conn: psycopg.Connection, space_key: str | None = None) -> CheckOutcome:
    """Current pages with no live chunk: pages that search cannot find.

    A page whose first chunk set is still pending (not embedded yet) counts too: run the embedding asset.
    """
    where, params = _space_clause(space_key)
    row = conn.execute(
        f"""SELECT count(*) FILTER (WHERE NOT has_live),
                   (array_agg(page_id ORDER BY page_id) FILTER (WHERE NOT has_live))[1:{SAMPLE_SIZE}],
                   count(*),
                   count(*) FILTER (WHERE NOT has_live AND has_pending)
            FROM (SELECT p.page_id,
                         EXISTS (SELECT 1 FROM chunks c WHERE c.source = %s AND c.document_id = p.page_id
                                 AND c.is_live) AS has_live,
                         EXISTS (SELECT 1 FROM chunks c WHERE c.source = %s AND c.document_id = p.page_id
                                 AND NOT c.is_live) AS has_pending
                  FROM pages p WHERE p.status = 'current'{where}) t""",
        (SOURCE, SOURCE, *params),
    ).fetchone()
    failures, sample, checked, pending = row
    return CheckOutcome(
        name="current_pages_have_live_chunks",
        passed=failures == 0,
        failures=failures,
        checked=checked,
        sample_ids=list(sample or []),
        description="every current page has at least one live chunk",
        details={"pages_only_pending": pending},
    )


def live_chunks_without_embeddings(conn: psycopg.Connection, space_key: str | None = None) -> CheckOutcome:
    """Live chunks with no vector for the active model: chunks the vector half of search cannot find."""
    model = active_model(conn)
    where, params = _space_clause(space_key)
    if model is None:
        # Nothing was embedded yet; then nothing may be live either.
        row = conn.execute(
            f"""SELECT count(*), (array_agg(c.chunk_id ORDER BY c.chunk_id))[1:{SAMPLE_SIZE}], count(*)
                FROM chunks c JOIN pages p ON p.page_id = c.document_id
                WHERE c.source = %s AND c.is_live{where}""",
            (SOURCE, *params),
        ).fetchone()
    else:
        row = conn.execute(
            f"""SELECT count(*) FILTER (WHERE NOT embedded),
                       (array_agg(chunk_id ORDER BY chunk_id) FILTER (WHERE NOT embedded))[1:{SAMPLE_SIZE}],
                       count(*)
                FROM (SELECT c.chunk_id, e.content_hash IS NOT NULL AND v.content_hash IS NOT NULL AS embedded
                      FROM chunks c JOIN pages p ON p.page_id = c.document_id
                      -- Joins on the two primary keys (one row or none each), not EXISTS in the select list, which
                      -- runs two subqueries per chunk: half the time on a 55k-chunk space.
                      LEFT JOIN embeddings e ON e.model = %s AND e.content_hash = c.content_hash
                      LEFT JOIN search_vectors v ON v.model = %s AND v.source = c.source
                           AND v.document_id = c.document_id AND v.content_hash = c.content_hash
                      WHERE c.source = %s AND c.is_live{where}) t""",
            (model[0], model[0], SOURCE, *params),
        ).fetchone()
    failures, sample, checked = row
    return CheckOutcome(
        name="live_chunks_have_embeddings",
        passed=failures == 0,
        failures=failures,
        checked=checked,
        sample_ids=list(sample or []),
        description="every live chunk has an embedding for the active model",
        details={"active_model": model[0] if model else "none"},
    )


def chunks_of_inactive_pages(conn: psycopg.Connection, space_key: str | None = None) -> CheckOutcome:
    """Chunks (live or pending) whose page is not current, or that have no page row at all.

    Chunks without a page row have no space, so they are counted only when the whole store is checked.
    """
    where, params = _space_clause(space_key)
    row = conn.execute(
        f"""SELECT count(*) FILTER (WHERE c.is_live), count(*) FILTER (WHERE NOT c.is_live),
                   (array_agg(c.chunk_id ORDER BY c.chunk_id))[1:{SAMPLE_SIZE}],
                   (array_agg(DISTINCT p.page_id))[1:{SAMPLE_SIZE}]
            FROM chunks c JOIN pages p ON p.page_id = c.document_id
            WHERE c.source = %s AND p.status <> 'current'{where}""",
        (SOURCE, *params),
    ).fetchone()
    live, pending, sample, pages = row
    orphans, orphan_sample = 0, []
    if space_key is None:
        orphans, orphan_sample = conn.execute(
            f"""SELECT count(*), (array_agg(c.chunk_id ORDER BY c.chunk_id))[1:{SAMPLE_SIZE}] FROM chunks c
                WHERE c.source = %s AND NOT EXISTS (SELECT 1 FROM pages p WHERE p.page_id = c.document_id)""",
            (SOURCE,),
        ).fetchone()
    checked = conn.execute(
        f"SELECT count(*) FROM chunks c JOIN pages p ON p.page_id = c.document_id WHERE c.source = %s{where}",
        (SOURCE, *params),
    ).fetchone()[0]
    failures = live + pending + orphans
    return CheckOutcome(
        name="no_chunks_for_inactive_pages",
        passed=failures == 0,
        failures=failures,
        checked=checked + orphans,
        sample_ids=(list(sample or []) + list(orphan_sample or []))[:SAMPLE_SIZE],
        description="no chunk belongs to a deleted, archived or trashed page",
        details={
            "live_chunks": live,
            "pending_chunks": pending,
            "orphan_chunks": orphans,
            "inactive_page_ids": ", ".join(sorted(pages or [])) or "none",
        },
    )


def vectors_with_wrong_dimensions(conn: psycopg.Connection, space_key: str | None = None) -> CheckOutcome:
    """Vectors of the active model whose length differs from the model's registered dimensions.

    With a space key, only the vectors that the space's chunks use are read (each vector is read in full, so the
    whole-store check costs a scan of every vector of the model).
    """
    model = active_model(conn)
    if model is None:
        return CheckOutcome(
            name="vector_dimensions_match",
            passed=True,
            failures=0,
            checked=0,
            sample_ids=[],
            description="every vector of the active model has the configured number of dimensions",
            details={"active_model": "none", "dimensions": 0},
        )
    name, dims = model
    if space_key is None:
        source = "SELECT e.content_hash, e.embedding FROM embeddings e WHERE e.model = %s"
        params: tuple[Any, ...] = (name,)
    else:
        source = """SELECT e.content_hash, e.embedding FROM embeddings e
                    WHERE e.model = %s AND e.content_hash IN (
                        SELECT c.content_hash FROM chunks c JOIN pages p ON p.page_id = c.document_id
                        WHERE c.source = %s AND p.space_key = %s)"""
        params = (name, SOURCE, space_key)
    failures, sample, checked = conn.execute(
        f"""SELECT count(*) FILTER (WHERE vector_dims(embedding) <> %s),
                   (array_agg(content_hash ORDER BY content_hash)
                        FILTER (WHERE vector_dims(embedding) <> %s))[1:{SAMPLE_SIZE}],
                   count(*)
            FROM ({source}) v""",
        (dims, dims, *params),
    ).fetchone()
    return CheckOutcome(
        name="vector_dimensions_match",
        passed=failures == 0,
        failures=failures,
        checked=checked,
        sample_ids=list(sample or []),
        description="every vector of the active model has the configured number of dimensions",
        details={"active_model": name, "dimensions": dims},
    )


ALL_CHECKS = (
    pages_without_live_chunks,
    live_chunks_without_embeddings,
    chunks_of_inactive_pages,
    vectors_with_wrong_dimensions,
)


def run_all(conn: psycopg.Connection, space_key: str | None = None) -> list[CheckOutcome]:
    """Run every check for one space (or the whole store)."""
    return [check(conn, space_key) for check in ALL_CHECKS]
