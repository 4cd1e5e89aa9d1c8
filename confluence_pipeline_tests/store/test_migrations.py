from pathlib import Path

import psycopg
import pytest

from confluence_pipeline.convert.chunking import Chunk
from confluence_pipeline.search.vector import vector_half
from confluence_pipeline.store import documents as docs
from confluence_pipeline.store.db import connect
from confluence_pipeline.store.migrate import MIGRATIONS_DIR, MigrationError, apply_migrations, load_migrations


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {row[0] for row in rows}


def test_applies_all_migrations_and_creates_the_tables(empty_db: str) -> None:
    applied = apply_migrations(empty_db)
    assert applied == [m.name for m in load_migrations()]
    assert {"spaces", "pages", "page_markdown", "chunks", "embeddings", "schema_migrations"} <= _tables(empty_db)
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("SELECT extname FROM pg_extension WHERE extname = 'vector'").fetchone()


def test_running_twice_changes_nothing(empty_db: str) -> None:
    apply_migrations(empty_db)
    with psycopg.connect(empty_db) as conn:
        before = conn.execute("SELECT version, checksum, applied_at FROM schema_migrations ORDER BY 1").fetchall()
    assert apply_migrations(empty_db) == []
    with psycopg.connect(empty_db) as conn:
        after = conn.execute("SELECT version, checksum, applied_at FROM schema_migrations ORDER BY 1").fetchall()
    assert before == after


def _copy_migrations(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    target.mkdir()
    for path in MIGRATIONS_DIR.glob("*.sql"):
        (target / path.name).write_text(path.read_text())
    return target


def test_an_edited_applied_migration_is_refused_by_name(empty_db: str, tmp_path: Path) -> None:
    directory = _copy_migrations(tmp_path)
    apply_migrations(empty_db, directory)
    first = sorted(directory.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited later\n")
    with pytest.raises(MigrationError, match=first.name):
        apply_migrations(empty_db, directory)


def test_new_migration_applies_after_existing_ones(empty_db: str, tmp_path: Path) -> None:
    directory = _copy_migrations(tmp_path)
    apply_migrations(empty_db, directory)
    (directory / "9999_extra.sql").write_text("CREATE TABLE extra (id int);")
    assert apply_migrations(empty_db, directory) == ["9999_extra.sql"]
    assert "extra" in _tables(empty_db)


def test_a_failing_migration_leaves_earlier_ones_applied_and_is_not_recorded(empty_db: str, tmp_path: Path) -> None:
    directory = _copy_migrations(tmp_path)
    (directory / "9998_ok.sql").write_text("CREATE TABLE ok_table (id int);")
    (directory / "9999_broken.sql").write_text("CREATE TABLE broken (id int); SELECT * FROM no_such_table;")
    with pytest.raises(psycopg.errors.UndefinedTable):
        apply_migrations(empty_db, directory)
    tables = _tables(empty_db)
    assert "ok_table" in tables and "broken" not in tables
    with psycopg.connect(empty_db) as conn:
        versions = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    assert 9998 in versions and 9999 not in versions


def test_misnamed_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_bad.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"1_bad\.sql"):
        load_migrations(tmp_path)


def test_full_precision_hnsw_indexes_are_rebuilt_on_half_precision_with_their_parameters(
    empty_db: str, tmp_path: Path
) -> None:
    directory = _copy_migrations(tmp_path)
    (directory / "0010_hnsw_halfvec.sql").unlink()
    apply_migrations(empty_db, directory)
    name = docs.vector_index_name("it's-a-model")
    with connect(empty_db, autocommit=True) as conn:
        docs.register_model(conn, "it's-a-model", "test", 3)
        conn.execute(
            """INSERT INTO search_vectors (model, source, document_id, content_hash, embedding)
               SELECT 'it''s-a-model', 'confluence', 'p' || i, 'h' || i, ARRAY[1, i, 2 * i]::vector
               FROM generate_series(1, 50) i"""
        )
        # What ensure_vector_index built before the migration.
        conn.execute(
            f"CREATE INDEX {name} ON search_vectors USING hnsw ((embedding::vector(3)) vector_cosine_ops) "
            "WITH (m = 8, ef_construction = 40) WHERE model = 'it''s-a-model'"
        )
    assert apply_migrations(empty_db) == ["0010_hnsw_halfvec.sql"]
    with connect(empty_db, autocommit=True) as conn:
        (definition,) = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", (name,)).fetchone()
        assert "halfvec(3)) halfvec_cosine_ops" in definition and "::vector" not in definition
        assert "m='8', ef_construction='40'" in definition and "model = 'it''s-a-model'" in definition
        assert conn.execute("SELECT count(*) FROM search_vectors").fetchone()[0] == 50
        statement = vector_half(conn, ("it's-a-model", 3), "true")
        with conn.transaction():
            for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                conn.execute(f"SET LOCAL {setting} = off")
            plan = conn.execute("EXPLAIN " + statement, {"qvec": [1.0, 2.0, 3.0], "candidates": 5}).fetchall()
        assert f"Index Scan using {name}" in "\n".join(row[0] for row in plan)


def test_a_chunk_row_of_a_few_kilobytes_stays_whole_and_uncompressed(empty_db: str) -> None:
    apply_migrations(empty_db)
    # A real-size chunk: about 1.8 KB of text and a 2.6 KB tsvector, over the default 2 KB target.
    text = "Title\n\n" + " ".join(f"word{i % 40} step{i}" for i in range(130))
    chunk = Chunk(index=0, section_title="Title", text=text, token_count=400, content_hash="h")

    def stored(conn: psycopg.Connection, table: str) -> tuple[str | None, str | None, int]:
        """The text's and tsvector's compression, and how many values of the table live in its TOAST table."""
        row = conn.execute(f"SELECT pg_column_compression(text), pg_column_compression(tsv) FROM {table}").fetchone()
        toast = conn.execute("SELECT reltoastrelid::regclass::text FROM pg_class WHERE oid = %s::regclass", (table,))
        return row[0], row[1], conn.execute(f"SELECT count(*) FROM {toast.fetchone()[0]}").fetchone()[0]

    with connect(empty_db, autocommit=True) as conn:
        with conn.transaction():
            docs.stage_chunks(conn, [("page-1", "source-hash", [chunk])])
        assert stored(conn, "chunks") == (None, None, 0)
        assert conn.execute("SELECT text FROM chunks").fetchone()[0] == text
        # Under the default target, the same row would have sent its tsvector to the TOAST table.
        conn.execute("CREATE TEMP TABLE default_target AS SELECT * FROM chunks WITH NO DATA")
        conn.execute("INSERT INTO default_target SELECT * FROM chunks")
        assert stored(conn, "default_target")[2] > 0
