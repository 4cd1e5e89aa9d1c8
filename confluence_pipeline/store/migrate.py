"""Numbered SQL migrations, applied in order and recorded with a checksum.

Each file ``NNNN_name.sql`` in ``store/migrations`` runs once, in its own transaction, and is recorded in
``schema_migrations`` with the SHA-256 of its text. Running the migrations again changes nothing. A file that was
edited after it was applied is refused, naming the file, because silently diverging schemas lose data.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from confluence_pipeline.store.db import DatabaseError, connect, missing_vector_message

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# One lock id for the whole project, so that concurrent runs (sensor + backfill) do not migrate twice.
_ADVISORY_LOCK = 7_294_311_020


class MigrationError(DatabaseError):
    """A migration cannot be applied safely."""


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the file's text."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Read the migration files in version order.

    Raises:
        MigrationError: a file is misnamed or two files share a version number.
    """
    migrations: list[Migration] = []
    seen: dict[int, str] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"migration file {path.name} must be named NNNN_lowercase_name.sql")
        version = int(match.group(1))
        if version in seen:
            raise MigrationError(f"migrations {seen[version]} and {path.name} share version {version}")
        seen[version] = path.name
        migrations.append(Migration(version=version, name=path.name, sql=path.read_text()))
    return migrations


def _ensure_vector(conn: psycopg.Connection) -> None:
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except (psycopg.errors.FeatureNotSupported, psycopg.errors.UndefinedFile, psycopg.errors.InsufficientPrivilege):
        available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone()
        if available:
            raise MigrationError(
                "the 'vector' extension is available but this user may not create it: run "
                "'CREATE EXTENSION vector;' once as a superuser in this database"
            ) from None
        raise MigrationError(missing_vector_message()) from None


def apply_migrations(url: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations to the database at ``url``.

    Args:
        url: the application database URL.
        directory: where the ``.sql`` files live.

    Returns:
        The names of the files applied by this call (empty when the schema was current).

    Raises:
        MigrationError: an applied file changed since, a file is misnamed, or pgvector is missing.
    """
    migrations = load_migrations(directory)
    applied_now: list[str] = []
    # Autocommit: each migration runs in a transaction of its own, so the ones before a failure stay applied.
    with connect(url, autocommit=True, vector=False) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_ADVISORY_LOCK,))
        try:
            _ensure_vector(conn)
            conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       version integer PRIMARY KEY,
                       name text NOT NULL,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            recorded = {
                row[0]: (row[1], row[2])
                for row in conn.execute("SELECT version, name, checksum FROM schema_migrations").fetchall()
            }
            for migration in migrations:
                if migration.version in recorded:
                    _name, checksum = recorded[migration.version]
                    if checksum != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.name} was edited after it was applied (recorded checksum "
                            f"{checksum[:12]}…, file now {migration.checksum[:12]}…). Restore the file and put the "
                            "change in a new, higher-numbered migration."
                        )
                    continue
                log.info("applying migration %s", migration.name)
                with conn.transaction():
                    conn.execute(migration.sql)
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
                applied_now.append(migration.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_ADVISORY_LOCK,))
    return applied_now
