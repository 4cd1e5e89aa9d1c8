"""Reads and idempotent writes of spaces, pages, sync failures, users and site facts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import psycopg
from psycopg.types.json import Jsonb

from confluence_pipeline.confluence.models import PageRecord, SpaceRecord


def upsert_space(conn: psycopg.Connection, space: SpaceRecord) -> bool:
    """Insert or update a space row; returns True when something changed (no write otherwise)."""
    row = conn.execute(
        """INSERT INTO spaces (space_key, space_id, name, space_type, status, web_url, homepage_id)
           VALUES (%s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (space_key) DO UPDATE SET
               space_id = EXCLUDED.space_id, name = EXCLUDED.name, space_type = EXCLUDED.space_type,
               status = EXCLUDED.status, web_url = EXCLUDED.web_url, homepage_id = EXCLUDED.homepage_id,
               updated_at = now()
           WHERE (spaces.space_id, spaces.name, spaces.space_type, spaces.status, spaces.web_url,
                  spaces.homepage_id)
                 IS DISTINCT FROM
                 (EXCLUDED.space_id, EXCLUDED.name, EXCLUDED.space_type, EXCLUDED.status, EXCLUDED.web_url,
                  EXCLUDED.homepage_id)
           RETURNING space_key""",
        (space.key, space.space_id, space.name, space.space_type, space.status, space.web_url, space.homepage_id),
    ).fetchone()
    return row is not None


def mark_space_refreshed(conn: psycopg.Connection, space_key: str) -> None:
    """Record that the space's metadata was just fetched from Confluence (changed or not)."""
    conn.execute("UPDATE spaces SET refreshed_at = now() WHERE space_key = %s", (space_key,))


def fresh_space(conn: psycopg.Connection, space_key: str, hours: float) -> tuple[str, str, str] | None:
    """(name, type, status) of the stored space when its metadata was fetched less than ``hours`` ago, else None.

    A space marked missing is never fresh: it is asked about again on every run.
    """
    if hours <= 0:
        return None
    row = conn.execute(
        """SELECT name, space_type, status FROM spaces WHERE space_key = %s AND status <> 'missing'
                  AND refreshed_at > now() - make_interval(secs => %s)""",
        (space_key, hours * 3600),
    ).fetchone()
    return (row[0], row[1], row[2]) if row else None


def mark_space_status(conn: psycopg.Connection, space_key: str, status: str) -> bool:
    """Set a space's status (e.g. ``missing`` when it disappeared); True when it changed."""
    row = conn.execute(
        "UPDATE spaces SET status = %s, updated_at = now() WHERE space_key = %s AND status <> %s RETURNING 1",
        (status, space_key, status),
    ).fetchone()
    return row is not None


def tracked_spaces(conn: psycopg.Connection, keys: Iterable[str]) -> set[str]:
    """The subset of ``keys`` that are spaces the pipeline tracks."""
    keys = sorted(set(keys))
    if not keys:
        return set()
    return {row[0] for row in conn.execute("SELECT space_key FROM spaces WHERE space_key = ANY(%s)", (keys,))}


def get_watermark(conn: psycopg.Connection, space_key: str) -> datetime | None:
    """The space's watermark: the newest ``lastmodified`` whose page data is committed."""
    row = conn.execute("SELECT watermark FROM spaces WHERE space_key = %s", (space_key,)).fetchone()
    return row[0] if row else None


def record_sync(
    conn: psycopg.Connection,
    space_key: str,
    *,
    watermark: datetime | None,
    seconds: float,
    pages: int,
    requests: int,
) -> None:
    """Advance the watermark (never backwards) and store the sync's metrics."""
    conn.execute(
        """UPDATE spaces SET watermark = GREATEST(watermark, %s), last_sync_at = now(), last_sync_seconds = %s,
                  last_sync_pages = %s, last_sync_requests = %s, updated_at = now()
           WHERE space_key = %s""",
        (watermark, seconds, pages, requests, space_key),
    )


def known_versions(conn: psycopg.Connection, page_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
    """Map page id → (stored version number, stored status) for the ids that are stored."""
    if not page_ids:
        return {}
    rows = conn.execute(
        "SELECT page_id, version_number, status FROM pages WHERE page_id = ANY(%s)", (list(page_ids),)
    ).fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def failed_page_ids(conn: psycopg.Connection, space_key: str) -> list[str]:
    """Pages of the space that failed in an earlier run and must be tried again."""
    rows = conn.execute(
        "SELECT page_id FROM sync_failures WHERE space_key = %s ORDER BY page_id", (space_key,)
    ).fetchall()
    return [row[0] for row in rows]


def last_failure_time(conn: psycopg.Connection, space_key: str) -> datetime | None:
    """When a page of the space last failed (None when no failure is pending)."""
    row = conn.execute("SELECT max(last_failed_at) FROM sync_failures WHERE space_key = %s", (space_key,)).fetchone()
    return row[0]


def record_failures(conn: psycopg.Connection, space_key: str, failures: dict[str, str]) -> None:
    """Record pages that still failed after their retries (attempts count up across runs)."""
    conn.cursor().executemany(
        """INSERT INTO sync_failures (page_id, space_key, error, attempts) VALUES (%s, %s, %s, 1)
           ON CONFLICT (page_id) DO UPDATE SET error = EXCLUDED.error, attempts = sync_failures.attempts + 1,
               last_failed_at = now()""",
        [(page_id, space_key, error[:2000]) for page_id, error in failures.items()],
    )


_PAGE_COLUMNS = (
    "page_id, space_key, title, status, version_number, version_at, version_author, created_by, created_at, "
    "parent_id, ancestors, path, labels, attachments, web_url, jira_keys, mentions, metadata, body_storage, "
    "content_hash"
)


def upsert_pages(conn: psycopg.Connection, pages: Iterable[PageRecord]) -> int:
    """Write fetched pages; a row is rewritten only when its version, status or content moved.

    Pages that are no longer ``current`` get ``deleted_at`` and lose their chunks in the same transaction, so they
    leave search at once while the row stays for audit. Successfully written pages are cleared from
    ``sync_failures``. The caller owns the transaction.

    Returns:
        The number of rows inserted or changed.
    """
    rows = [
        (
            p.page_id, p.space_key, p.title, p.status, p.version_number, p.version_at, p.version_author,
            p.created_by, p.created_at, p.parent_id, Jsonb(p.ancestors), p.path, p.labels, Jsonb(p.attachments),
            p.web_url, p.jira_keys, p.mentions, Jsonb(p.metadata), p.body_storage, p.content_hash,
        )
        for p in pages
    ]  # fmt: skip
    if not rows:
        return 0
    changed: list[tuple[str, str]] = []
    with conn.cursor() as cur:
        cur.executemany(
            f"""INSERT INTO pages ({_PAGE_COLUMNS}, deleted_at)
                VALUES ({", ".join(["%s"] * 20)}, CASE WHEN %s = 'current' THEN NULL ELSE now() END)
                ON CONFLICT (page_id) DO UPDATE SET
                    space_key = EXCLUDED.space_key, title = EXCLUDED.title, status = EXCLUDED.status,
                    version_number = EXCLUDED.version_number, version_at = EXCLUDED.version_at,
                    version_author = EXCLUDED.version_author, created_by = EXCLUDED.created_by,
                    created_at = EXCLUDED.created_at, parent_id = EXCLUDED.parent_id,
                    ancestors = EXCLUDED.ancestors, path = EXCLUDED.path, labels = EXCLUDED.labels,
                    attachments = EXCLUDED.attachments, web_url = EXCLUDED.web_url, jira_keys = EXCLUDED.jira_keys,
                    mentions = EXCLUDED.mentions, metadata = EXCLUDED.metadata,
                    body_storage = EXCLUDED.body_storage, content_hash = EXCLUDED.content_hash,
                    fetched_at = now(),
                    deleted_at = CASE WHEN EXCLUDED.status = 'current' THEN NULL
                                      ELSE COALESCE(pages.deleted_at, now()) END
                WHERE (pages.version_number, pages.status, pages.content_hash, pages.path, pages.labels,
                       pages.space_key)
                      IS DISTINCT FROM
                      (EXCLUDED.version_number, EXCLUDED.status, EXCLUDED.content_hash, EXCLUDED.path,
                       EXCLUDED.labels, EXCLUDED.space_key)
                RETURNING page_id, status""",
            [(*row, row[3]) for row in rows],
            returning=True,
        )
        while True:
            result = cur.fetchone()
            if result is not None:
                changed.append((result[0], result[1]))
            if not cur.nextset():
                break
    gone = [page_id for page_id, status in changed if status != "current"]
    if gone:
        conn.execute("DELETE FROM chunks WHERE source = 'confluence' AND document_id = ANY(%s)", (gone,))
    conn.execute("DELETE FROM sync_failures WHERE page_id = ANY(%s)", ([row[0] for row in rows],))
    return len(changed)


def mark_pages_gone(conn: psycopg.Connection, page_ids: Sequence[str], status: str) -> int:
    """Mark pages archived/trashed/deleted/moved and remove their chunks, in the caller's transaction.

    The rows stay (with ``deleted_at``) for audit; a page that comes back is rewritten by the sync. A page that is
    gone is no longer retried as a failed page: there is nothing left to fetch.

    Returns:
        The number of rows whose status or ``deleted_at`` changed.
    """
    if not page_ids:
        return 0
    rows = conn.execute(
        """UPDATE pages SET status = %s, deleted_at = COALESCE(deleted_at, now())
           WHERE page_id = ANY(%s) AND (status <> %s OR deleted_at IS NULL) RETURNING page_id""",
        (status, list(page_ids), status),
    ).fetchall()
    conn.execute("DELETE FROM chunks WHERE source = 'confluence' AND document_id = ANY(%s)", (list(page_ids),))
    conn.execute("DELETE FROM sync_failures WHERE page_id = ANY(%s)", (list(page_ids),))
    return len(rows)


def current_page_ids(conn: psycopg.Connection, space_key: str) -> set[str]:
    """Ids of the pages stored as current in the space."""
    rows = conn.execute(
        "SELECT page_id FROM pages WHERE space_key = %s AND status = 'current'", (space_key,)
    ).fetchall()
    return {row[0] for row in rows}


def known_current_count(conn: psycopg.Connection, space_key: str) -> int:
    """How many current pages the store knows in the space: those stored, plus failed ones not stored as current.

    A page that keeps failing exists in Confluence although its row is missing; counting it keeps a comparison
    with Confluence's own count from asking for a reconciliation on every tick because of that page.
    """
    row = conn.execute(
        """SELECT (SELECT count(*) FROM pages WHERE space_key = %(space)s AND status = 'current')
                + (SELECT count(*) FROM sync_failures f WHERE f.space_key = %(space)s
                   AND NOT EXISTS (SELECT 1 FROM pages p WHERE p.page_id = f.page_id AND p.space_key = %(space)s
                                   AND p.status = 'current'))""",
        {"space": space_key},
    ).fetchone()
    return int(row[0]) if row else 0


def record_reconcile(conn: psycopg.Connection, space_key: str, *, listed: int, removed: int) -> None:
    """Store when the space was last reconciled and what that found."""
    conn.execute(
        """UPDATE spaces SET last_reconcile_at = now(), last_reconcile_listed = %s, last_reconcile_removed = %s,
                  updated_at = now()
           WHERE space_key = %s""",
        (listed, removed, space_key),
    )


def last_reconcile_time(conn: psycopg.Connection, space_key: str) -> datetime | None:
    """When the space was last reconciled (None: never)."""
    row = conn.execute("SELECT last_reconcile_at FROM spaces WHERE space_key = %s", (space_key,)).fetchone()
    return row[0] if row else None


def unknown_users(conn: psycopg.Connection, refs: Iterable[str]) -> list[str]:
    """The user refs that are not cached yet."""
    refs = sorted(set(refs))
    if not refs:
        return []
    known = {row[0] for row in conn.execute("SELECT user_ref FROM users WHERE user_ref = ANY(%s)", (refs,))}
    return [ref for ref in refs if ref not in known]


def save_users(conn: psycopg.Connection, names: dict[str, str]) -> None:
    """Cache user display names."""
    conn.cursor().executemany(
        """INSERT INTO users (user_ref, display_name) VALUES (%s, %s)
           ON CONFLICT (user_ref) DO UPDATE SET display_name = EXCLUDED.display_name, fetched_at = now()
           WHERE users.display_name <> EXCLUDED.display_name""",
        list(names.items()),
    )


def user_names(conn: psycopg.Connection, refs: Iterable[str]) -> dict[str, str]:
    """Display names for the given refs (those cached)."""
    refs = sorted(set(refs))
    if not refs:
        return {}
    return dict(conn.execute("SELECT user_ref, display_name FROM users WHERE user_ref = ANY(%s)", (refs,)).fetchall())


def get_site_info(conn: psycopg.Connection, key: str) -> str | None:
    """A cached fact about the site (e.g. ``timezone``)."""
    row = conn.execute("SELECT value FROM site_info WHERE key = %s", (key,)).fetchone()
    return row[0] if row else None


def set_site_info(conn: psycopg.Connection, key: str, value: str) -> None:
    """Cache a fact about the site."""
    conn.execute(
        """INSERT INTO site_info (key, value) VALUES (%s, %s)
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, fetched_at = now()
           WHERE site_info.value <> EXCLUDED.value""",
        (key, value),
    )


REMOVED = "removed"
"""Space status of a space taken out of the pipeline (``confluence-pipeline spaces remove``)."""


def mark_space_removed(conn: psycopg.Connection, space_key: str) -> None:
    """Record that a space was taken out of the pipeline, so that discovery does not add it back.

    Its pages stay (and stay searchable) until they are purged. A space that was never synced gets a placeholder row;
    adding the space again and syncing it overwrites the row with Confluence's metadata.
    """
    conn.execute(
        """INSERT INTO spaces (space_key, name, space_type, status) VALUES (%s, %s, 'global', %s)
           ON CONFLICT (space_key) DO UPDATE SET status = EXCLUDED.status, updated_at = now()
           WHERE spaces.status <> EXCLUDED.status""",
        (space_key, space_key, REMOVED),
    )


def removed_space_keys(conn: psycopg.Connection) -> set[str]:
    """Keys of the spaces taken out of the pipeline."""
    return {row[0] for row in conn.execute("SELECT space_key FROM spaces WHERE status = %s", (REMOVED,))}


def purge_space(conn: psycopg.Connection, space_key: str) -> int:
    """Delete a space's pages, Markdown, chunks and failures, in the caller's transaction; returns pages deleted.

    The space's row stays, marked removed and without a watermark, so that discovery does not add the space back and
    a later ``spaces add`` syncs it in full. Embeddings are keyed by text hash and shared across pages; they stay.
    """
    conn.execute(
        """DELETE FROM chunks WHERE source = 'confluence'
           AND document_id IN (SELECT page_id FROM pages WHERE space_key = %s)""",
        (space_key,),
    )
    deleted = conn.execute("DELETE FROM pages WHERE space_key = %s", (space_key,)).rowcount
    conn.execute("DELETE FROM sync_failures WHERE space_key = %s", (space_key,))
    mark_space_removed(conn, space_key)
    conn.execute(
        """UPDATE spaces SET watermark = NULL, last_sync_at = NULL, last_reconcile_at = NULL, updated_at = now()
           WHERE space_key = %s""",
        (space_key,),
    )
    return deleted
