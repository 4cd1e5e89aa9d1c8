"""Planner statistics follow large loads: the stages query what they just wrote, before autovacuum analyzes it.

With a table's statistics still counting none of thousands of new rows, the planner chose a nested loop that rescanned
an index per row (an anti-join over ``search_vectors`` took 4 s instead of 6 ms on a first sync).
"""

from __future__ import annotations

import psycopg

from confluence_pipeline.store.db import analyze_after_load
from confluence_pipeline_tests.store.wiki import Wiki


def known_rows(conn: psycopg.Connection, table: str) -> float:
    return conn.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", (table,)).fetchone()[0]


def fill(conn: psycopg.Connection, start: int, count: int) -> None:
    conn.execute(
        """INSERT INTO spaces (space_key, name, space_type, status)
           SELECT 'S' || n, 'Space ' || n, 'global', 'current' FROM generate_series(%s::int, %s::int) n""",
        (start, start + count - 1),
    )


def test_a_large_write_is_analyzed_a_small_one_is_not(conn: psycopg.Connection) -> None:
    conn.execute("ALTER TABLE spaces SET (autovacuum_enabled = false)")
    fill(conn, 1, 10)
    assert not analyze_after_load(conn, "spaces", 10)
    assert known_rows(conn, "spaces") < 0  # never analyzed

    fill(conn, 11, 5990)
    assert analyze_after_load(conn, "spaces", 5990)
    assert known_rows(conn, "spaces") == 6000

    # Small against what the statistics know already: left to autovacuum.
    fill(conn, 6001, 1000)
    assert not analyze_after_load(conn, "spaces", 1000)
    assert known_rows(conn, "spaces") == 6000


def test_a_write_is_analyzed_when_it_more_than_doubles_what_the_statistics_saw(conn: psycopg.Connection) -> None:
    # The planner scales row counts to a table's current size; statistics of half the rows plan right. A first load of
    # several spaces then analyzes a table once or twice, not once a space.
    conn.execute("ALTER TABLE spaces SET (autovacuum_enabled = false)")
    fill(conn, 1, 2000)
    assert analyze_after_load(conn, "spaces", 2000)
    fill(conn, 2001, 2000)
    assert not analyze_after_load(conn, "spaces", 2000)
    assert known_rows(conn, "spaces") == 2000
    fill(conn, 4001, 4001)
    assert analyze_after_load(conn, "spaces", 4001)
    assert known_rows(conn, "spaces") == 8001


def test_unknown_table_is_not_an_error(conn: psycopg.Connection) -> None:
    assert not analyze_after_load(conn, "no_such_table", 5000)


def test_a_first_sync_leaves_statistics_for_its_chunks_and_search_rows(conn: psycopg.Connection) -> None:
    for table in ("chunks", "search_vectors", "embeddings", "page_markdown"):
        conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
    wiki = Wiki(conn)
    step = "Runbook step {n} explains the failover. "
    sections = "".join(f"<h2>Part {n}</h2><p>{step.format(n=n) * 6}</p>" for n in range(12))
    for page in range(1, 111):
        wiki.put(str(page), f"Runbook {page}", sections.replace("failover", f"failover of service {page}"))
    wiki.run()

    live = conn.execute("SELECT count(*) FROM chunks WHERE is_live").fetchone()[0]
    rows = conn.execute("SELECT count(*) FROM search_vectors").fetchone()[0]
    assert live >= 1000
    assert known_rows(conn, "chunks") >= live * 0.8
    assert known_rows(conn, "search_vectors") >= rows * 0.8
    assert known_rows(conn, "embeddings") > 0


def test_a_table_held_by_a_vacuum_is_skipped_not_waited_for(conn: psycopg.Connection, db_url: str) -> None:
    conn.execute("ALTER TABLE spaces SET (autovacuum_enabled = false)")
    fill(conn, 1, 2000)
    with psycopg.connect(db_url) as vacuum:
        # What a running VACUUM holds: ANALYZE would wait for it to finish.
        vacuum.execute("LOCK TABLE spaces IN SHARE UPDATE EXCLUSIVE MODE")
        assert not analyze_after_load(conn, "spaces", 2000)
    assert known_rows(conn, "spaces") < 0
    assert analyze_after_load(conn, "spaces", 2000)  # the connection goes on; the next large write analyzes
