"""Store functions behind deletion reconciliation, on the embedded PostgreSQL."""

from __future__ import annotations

import psycopg

from confluence_pipeline.store import pages as store


def _page(conn: psycopg.Connection, page_id: str, space: str = "ENG", status: str = "current") -> None:
    conn.execute(
        """INSERT INTO pages (page_id, space_key, title, status, version_number, version_at, path, body_storage,
                              content_hash)
           VALUES (%s, %s, %s, %s, 1, now(), '/', '<p/>', 'h')""",
        (page_id, space, f"Page {page_id}", status),
    )
    conn.execute(
        """INSERT INTO chunks (chunk_id, document_id, source_hash, chunk_index, section_title, text, token_count,
                               content_hash, is_live, tsv)
           VALUES (%s, %s, 'h', 0, 't', 'x', 1, 'h', true, ''::tsvector)""",
        (f"c{page_id}", page_id),
    )


def _setup(conn: psycopg.Connection) -> None:
    for key in ("ENG", "OPS"):
        conn.execute(
            "INSERT INTO spaces (space_key, name, space_type, status) VALUES (%s, %s, 'global', 'current')", (key, key)
        )
    for page_id in ("1", "2", "3"):
        _page(conn, page_id)
    _page(conn, "4", status="trashed")
    _page(conn, "5", space="OPS")


def test_marking_pages_gone_drops_chunks_and_pending_retries_in_one_go(conn: psycopg.Connection) -> None:
    _setup(conn)
    store.record_failures(conn, "ENG", {"2": "HTTP 500", "9": "HTTP 500"})
    with conn.transaction():
        assert store.mark_pages_gone(conn, ["1", "2"], "trashed") == 2
    rows = conn.execute("SELECT page_id, status, deleted_at IS NOT NULL FROM pages ORDER BY page_id").fetchall()
    assert rows[:2] == [("1", "trashed", True), ("2", "trashed", True)]
    assert conn.execute("SELECT document_id FROM chunks ORDER BY 1").fetchall() == [("3",), ("4",), ("5",)]
    assert store.failed_page_ids(conn, "ENG") == ["9"]
    with conn.transaction():
        assert store.mark_pages_gone(conn, ["1"], "trashed") == 0  # nothing changed the second time
        assert store.mark_pages_gone(conn, ["1"], "deleted") == 1  # a purge after the trash updates the status


def test_current_pages_and_the_known_count_of_a_space(conn: psycopg.Connection) -> None:
    _setup(conn)
    assert store.current_page_ids(conn, "ENG") == {"1", "2", "3"}
    assert store.known_current_count(conn, "ENG") == 3
    # A page that keeps failing exists in Confluence: it counts once, whether or not an older row is stored.
    store.record_failures(conn, "ENG", {"3": "HTTP 500", "8": "HTTP 500"})
    assert store.known_current_count(conn, "ENG") == 4
    assert store.known_current_count(conn, "OPS") == 1


def test_reconcile_time_is_recorded_per_space(conn: psycopg.Connection) -> None:
    _setup(conn)
    assert store.last_reconcile_time(conn, "ENG") is None
    store.record_reconcile(conn, "ENG", listed=3, removed=1)
    row = conn.execute(
        "SELECT last_reconcile_at IS NOT NULL, last_reconcile_listed, last_reconcile_removed FROM spaces "
        "WHERE space_key = 'ENG'"
    ).fetchone()
    assert row == (True, 3, 1)
    assert store.last_reconcile_time(conn, "OPS") is None
