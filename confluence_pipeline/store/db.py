"""Connections to the pipeline's PostgreSQL database."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql

from confluence_pipeline.lib.redact import redact_url

log = logging.getLogger(__name__)


class DatabaseError(RuntimeError):
    """The database cannot be used as configured; the message says what to change."""


def connect(url: str, *, autocommit: bool = False, vector: bool = True) -> psycopg.Connection:
    """Open a psycopg 3 connection, with pgvector's types registered.

    Args:
        url: libpq connection string (``DATABASE_URL``).
        autocommit: open in autocommit mode.
        vector: register the ``vector`` type (needs the extension to exist already).

    Raises:
        DatabaseError: the server cannot be reached or refuses the login; the message omits the password.
    """
    try:
        conn = psycopg.connect(url, autocommit=autocommit)
    except psycopg.OperationalError as exc:
        # libpq's message can quote the connection string; never let a password through.
        detail = redact_url(str(exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
        raise DatabaseError(
            f"cannot connect to PostgreSQL at {redact_url(url)}: {detail}. "
            "Check DATABASE_URL, or unset it to use the embedded local server."
        ) from None
    if vector:
        try:
            register_vector(conn)
        except psycopg.ProgrammingError:
            conn.close()
            raise DatabaseError(missing_vector_message()) from None
    return conn


@contextmanager
def connection(url: str, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """Context manager around :func:`connect` that always closes the connection."""
    conn = connect(url, autocommit=autocommit)
    try:
        yield conn
    finally:
        conn.close()


def missing_vector_message() -> str:
    """The operator-facing explanation for a server without the pgvector extension."""
    return (
        "the PostgreSQL server has no 'vector' extension (pgvector). Install pgvector on the server "
        "(e.g. the postgresql-17-pgvector package, or a pgvector-enabled image) and run "
        "'CREATE EXTENSION vector;' as a superuser in the database, or unset DATABASE_URL to use the "
        "embedded server, which ships pgvector."
    )


# A write this large, and larger than what the table held at its last ANALYZE (so that it at least doubles the table),
# is followed by one. The planner scales a table's row count to its current size by itself (its pages times the rows
# per page the statistics saw), so statistics that saw half the rows still plan right; what goes wrong is statistics
# of none, or of a small fraction. A first load of several spaces then analyzes each table once or twice, not once a
# space (an ANALYZE of 48k chunks costs about a second of the server's CPU).
_ANALYZE_MIN_ROWS = 1000
_ANALYZE_SHARE = 1.0


def analyze_after_load(conn: psycopg.Connection, table: str, rows: int) -> bool:
    """ANALYZE ``table`` after a write of ``rows`` rows that the planner's statistics do not know of yet.

    Autovacuum analyzes a table some time after it grew, but the stages query what they just wrote at once: with
    statistics that still count a few rows where there are thousands, the planner picks nested loops that rescan
    whole indexes (an anti-join over ``search_vectors`` took 4 s instead of 6 ms on a first sync). Returns True
    when the table was analyzed.
    """
    if rows < _ANALYZE_MIN_ROWS:
        return False
    known = conn.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", (table,)).fetchone()
    if known is None or rows <= max(known[0], 0) * _ANALYZE_SHARE:
        return False
    try:
        with conn.transaction():
            # A vacuum of the table (autovacuum's anti-wraparound one does not yield) would hold ANALYZE for as
            # long as it runs: the statistics are a help, not worth a stalled stage.
            conn.execute("SET LOCAL lock_timeout = '2s'")
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
    except psycopg.errors.LockNotAvailable:
        log.info("ANALYZE %s skipped: a vacuum or another ANALYZE holds the table", table)
        return False
    return True
