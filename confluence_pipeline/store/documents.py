"""Markdown, chunks and embeddings: the derived tables, each drained from the rows its upstream changed.

Functions here expect an autocommit connection: each `with conn.transaction()` is then a real transaction, so a
batch that committed stays committed whatever happens to the run afterwards.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from psycopg.types.json import Jsonb

from confluence_pipeline.convert.chunking import Chunk
from confluence_pipeline.convert.reader import READER_TEXT_VERSION
from confluence_pipeline.store.db import analyze_after_load
from confluence_pipeline.store.fts import fts_document
from confluence_pipeline.store.hnsw import HnswSettings, build_memory_mb, hnsw_index_sql
from confluence_pipeline.store.references import STALE_DEPENDENCIES

SOURCE = "confluence"
_PENDING = "AND NOT c.is_live"


@dataclass(frozen=True)
class PendingPage:
    """A current page whose Markdown is missing or older than its body."""

    page_id: str
    space_key: str
    title: str
    body_storage: str
    content_hash: str
    mentions: list[str]
    attachments: list[dict[str, Any]]


@dataclass(frozen=True)
class PendingMarkdown:
    """A page whose chunks were not cut from its current Markdown yet."""

    page_id: str
    title: str
    markdown: str
    markdown_hash: str


def sha256(text: str) -> str:
    """Hex SHA-256 of ``text``."""
    return hashlib.sha256(text.encode()).hexdigest()


def space_lock(conn: psycopg.Connection, space_key: str) -> None:
    """Serialise work on one space across runs (transaction-scoped advisory lock)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"space:{space_key}",))


def _pages_needing_markdown(where: str) -> str:
    """The query of the current pages ``where`` picks whose Markdown is missing, cut from an older body, or stale."""
    return f"""SELECT p.page_id, p.space_key, p.title, p.body_storage, p.content_hash, p.mentions, p.attachments
               FROM pages p LEFT JOIN page_markdown m ON m.page_id = p.page_id
               WHERE {where} AND p.status = 'current'
                 AND (m.page_id IS NULL OR m.source_hash <> p.content_hash OR {STALE_DEPENDENCIES})"""


def iter_pages_needing_markdown(
    conn: psycopg.Connection, space_key: str, batch_size: int
) -> Iterator[list[PendingPage]]:
    """Yield batches of current pages of a space whose Markdown is missing or stale.

    Stale: the page's content moved, or something its Markdown shows from other pages did (an included page, its
    children, ...; see :mod:`confluence_pipeline.store.references`). Uses keyset pagination on page id with a fresh
    query per batch, so the caller may commit between batches.
    """
    after = ""
    while True:
        rows = conn.execute(
            _pages_needing_markdown("p.space_key = %s AND p.page_id > %s") + " ORDER BY p.page_id LIMIT %s",
            (space_key, after, batch_size),
        ).fetchall()
        if not rows:
            return
        yield [PendingPage(*row) for row in rows]
        after = rows[-1][0]


def pages_needing_markdown(conn: psycopg.Connection, page_ids: Sequence[str]) -> list[PendingPage]:
    """The pages among ``page_ids`` whose Markdown is missing or stale (see :func:`iter_pages_needing_markdown`)."""
    rows = conn.execute(
        _pages_needing_markdown("p.page_id = ANY(%s)") + " ORDER BY p.page_id", (list(page_ids),)
    ).fetchall()
    return [PendingPage(*row) for row in rows]


def save_markdown(conn: psycopg.Connection, rows: Sequence[tuple[str, str, str, list[str]]]) -> int:
    """Upsert (page_id, source_hash, markdown, warnings) rows; returns rows whose Markdown changed."""
    if not rows:
        return 0
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO page_markdown (page_id, source_hash, markdown, markdown_hash, warnings)
               VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (page_id) DO UPDATE SET source_hash = EXCLUDED.source_hash, markdown = EXCLUDED.markdown,
                   markdown_hash = EXCLUDED.markdown_hash, warnings = EXCLUDED.warnings, converted_at = now()
               WHERE page_markdown.source_hash IS DISTINCT FROM EXCLUDED.source_hash
                  OR page_markdown.markdown_hash IS DISTINCT FROM EXCLUDED.markdown_hash""",
            [(page_id, source, md, sha256(md), Jsonb(warnings)) for page_id, source, md, warnings in rows],
        )
        return cur.rowcount if cur.rowcount >= 0 else len(rows)


def iter_markdown_needing_chunks(
    conn: psycopg.Connection, space_key: str, batch_size: int
) -> Iterator[list[PendingMarkdown]]:
    """Yield batches of pages whose chunks were not cut from their current Markdown (live or pending).

    Chunks cut under an older :data:`~confluence_pipeline.convert.reader.READER_TEXT_VERSION` count as not cut.
    """
    after = ""
    while True:
        rows = conn.execute(
            """SELECT p.page_id, p.title, m.markdown, m.markdown_hash
               FROM pages p JOIN page_markdown m ON m.page_id = p.page_id
               WHERE p.space_key = %s AND p.status = 'current' AND p.page_id > %s
                 AND m.source_hash = p.content_hash
                 AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.source = %s AND c.document_id = p.page_id
                                 AND c.source_hash = m.markdown_hash AND c.input_version = %s)
               ORDER BY p.page_id LIMIT %s""",
            (space_key, after, SOURCE, READER_TEXT_VERSION, batch_size),
        ).fetchall()
        if not rows:
            return
        yield [PendingMarkdown(*row) for row in rows]
        after = rows[-1][0]


def chunk_id(document_id: str, source_hash: str, index: int) -> str:
    """Stable chunk id: the same Markdown (and reader-text version) always yields the same ids."""
    return f"{SOURCE}:{document_id}:{source_hash[:16]}:v{READER_TEXT_VERSION}:{index}"


def stage_chunks(
    conn: psycopg.Connection,
    documents: Sequence[tuple[str, str, Sequence[Chunk]]],
    fts_documents: Sequence[Sequence[str]] | None = None,
) -> int:
    """Write new chunk sets as pending (not yet searchable), replacing older pending sets of the same documents.

    Args:
        conn: connection; the caller owns the transaction.
        documents: (document_id, source_hash, chunks) per document.
        fts_documents: per document, ``fts_document(chunk.embedding_input)`` of each chunk, when the caller computed
            them already (in worker processes); computed here otherwise.

    Returns:
        The number of chunks written.
    """
    if not documents:
        return 0
    conn.execute(
        "DELETE FROM chunks WHERE source = %s AND document_id = ANY(%s) AND NOT is_live",
        (SOURCE, [doc_id for doc_id, _, _ in documents]),
    )
    conn.execute(
        """CREATE TEMP TABLE IF NOT EXISTS chunk_load (
               chunk_id text, document_id text, source_hash text, chunk_index integer, section_title text,
               text text, token_count integer, content_hash text, fts text)
           WITH (toast_tuple_target = 8160) ON COMMIT DELETE ROWS"""
    )  # rows whole, as in chunks (migration 0011): a value compressed here would stay compressed there
    count = 0
    with conn.cursor().copy(
        "COPY chunk_load (chunk_id, document_id, source_hash, chunk_index, section_title, text, token_count, "
        "content_hash, fts) FROM STDIN"
    ) as copy:
        for position, (doc_id, source_hash, chunks) in enumerate(documents):
            texts = (
                fts_documents[position]
                if fts_documents is not None
                else [fts_document(chunk.embedding_input) for chunk in chunks]
            )
            for chunk, fts in zip(chunks, texts, strict=True):
                copy.write_row(
                    (
                        chunk_id(doc_id, source_hash, chunk.index), doc_id, source_hash, chunk.index,
                        chunk.section_title, chunk.text, chunk.token_count, chunk.content_hash, fts,
                    )
                )  # fmt: skip
                count += 1
    # A live set cut from the same Markdown (a re-run after a crash) already exists: keep it, skip the copy.
    # The page's filter columns go with the chunks, for filtered full-text search (a trigger keeps them in step).
    conn.execute(
        """INSERT INTO chunks (chunk_id, source, document_id, source_hash, chunk_index, section_title, text,
                               token_count, content_hash, is_live, tsv, input_version, space_key, labels, path)
           SELECT l.chunk_id, %s, l.document_id, l.source_hash, l.chunk_index, l.section_title, l.text,
                  l.token_count, l.content_hash, false, to_tsvector('simple', l.fts), %s,
                  p.space_key, COALESCE(p.labels, '{}'), p.path
           FROM chunk_load l LEFT JOIN pages p ON p.page_id = l.document_id
           ON CONFLICT (chunk_id) DO NOTHING""",
        (SOURCE, READER_TEXT_VERSION),
    )
    return count


def iter_unembedded(
    conn: psycopg.Connection, space_key: str, model: str, batch_size: int, *, pending_only: bool = False
) -> Iterator[list[tuple[str, str]]]:
    """Yield batches of (content_hash, text) of a space's chunks that have no embedding for ``model``.

    ``text`` is the stored chunk text; embed its :func:`~confluence_pipeline.convert.reader.reader_text`, whose hash
    ``content_hash`` is.

    With ``pending_only``, only chunks waiting to go live are considered: enough for the active model, whose
    vectors every live chunk already has (a page goes live only then), and cheap when nothing changed.

    One scan of the space's chunks lists the hashes to embed, in a temporary table of the session; the batches
    then page through that list (the caller may commit between them). A query per batch over the chunks scanned
    and sorted every pending chunk of the space each time: quadratic in the size of a first sync (0.27 s a batch
    at 17k pending chunks, against 4 ms). Hashes that gain an embedding meanwhile (another run of the same texts)
    are skipped when their batch is read.
    """
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS unembedded_hashes (content_hash text PRIMARY KEY)")
    conn.execute("TRUNCATE unembedded_hashes")
    conn.execute(
        f"""INSERT INTO unembedded_hashes
            SELECT DISTINCT c.content_hash FROM chunks c JOIN pages p ON p.page_id = c.document_id
            WHERE c.source = %s AND p.space_key = %s {_PENDING if pending_only else ""}
              AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.model = %s AND e.content_hash = c.content_hash)""",
        (SOURCE, space_key, model),
    )
    after = ""
    while True:
        rows = conn.execute(
            """SELECT t.content_hash, c.text
               FROM (SELECT content_hash FROM unembedded_hashes WHERE content_hash > %s
                     ORDER BY content_hash LIMIT %s) t
               CROSS JOIN LATERAL (SELECT c.text FROM chunks c
                                   WHERE c.content_hash = t.content_hash AND c.source = %s LIMIT 1) c
               WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.model = %s AND e.content_hash = t.content_hash)
               ORDER BY t.content_hash""",
            (after, batch_size, SOURCE, model),
        ).fetchall()
        if not rows:
            # The batch's hashes may all be gone or embedded by now while later ones are not: look past them.
            last = conn.execute(
                "SELECT max(content_hash) FROM (SELECT content_hash FROM unembedded_hashes WHERE content_hash > %s "
                "ORDER BY content_hash LIMIT %s) t",
                (after, batch_size),
            ).fetchone()[0]
            if last is None:
                return
            after = last
            continue
        yield [(row[0], row[1]) for row in rows]
        after = rows[-1][0]


def save_embeddings(conn: psycopg.Connection, model: str, hashes: Sequence[str], vectors: np.ndarray) -> int:
    """Bulk-write embeddings with binary COPY; an embedding that already exists is kept (idempotent)."""
    if not hashes:
        return 0
    conn.execute(
        """CREATE TEMP TABLE IF NOT EXISTS embedding_load (content_hash text, embedding vector)
           ON COMMIT DELETE ROWS"""
    )
    with conn.cursor().copy("COPY embedding_load (content_hash, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["text", "vector"])
        for content_hash, vector in zip(hashes, vectors, strict=True):
            copy.write_row((content_hash, vector))
    cur = conn.execute(
        """INSERT INTO embeddings (model, content_hash, embedding)
           SELECT %s, content_hash, embedding FROM embedding_load ON CONFLICT DO NOTHING""",
        (model,),
    )
    return cur.rowcount


def discard_stale_pending(conn: psycopg.Connection, space_key: str) -> int:
    """Delete pending chunk sets that were not cut from their page's current Markdown.

    Such a set is abandoned work, e.g. an edit whose embedding failed and that was then reverted: it must never go
    live, and its texts need no vectors.

    Returns:
        The number of chunks deleted.
    """
    cur = conn.execute(
        """DELETE FROM chunks c USING pages p
           WHERE c.source = %s AND NOT c.is_live AND p.page_id = c.document_id AND p.space_key = %s
             AND NOT EXISTS (SELECT 1 FROM page_markdown m
                             WHERE m.page_id = c.document_id AND m.markdown_hash = c.source_hash
                               AND m.source_hash = p.content_hash)""",
        (SOURCE, space_key),
    )
    return cur.rowcount


def promote_ready_documents(conn: psycopg.Connection, space_key: str, models: Sequence[str]) -> int:
    """Make pending chunk sets searchable once every chunk in them has an embedding for every one of ``models``.

    ``models`` holds the model being built and, during a model switch, the one search still serves, so a page
    that goes live is searchable under both. In one transaction: a document's old live chunks are deleted and its
    pending ones go live, so a reader never sees the page with no chunks, a mix of old and new, or chunks without
    embeddings.

    Returns:
        The number of documents promoted.
    """
    wanted = sorted(set(models))
    with conn.transaction():
        space_lock(conn, space_key)
        discard_stale_pending(conn, space_key)
        ready = [
            row[0]
            for row in conn.execute(
                """SELECT c.document_id FROM chunks c JOIN pages p ON p.page_id = c.document_id
                   JOIN page_markdown m ON m.page_id = c.document_id AND m.markdown_hash = c.source_hash
                   WHERE c.source = %s AND NOT c.is_live AND p.space_key = %s AND p.status = 'current'
                   GROUP BY c.document_id
                   HAVING bool_and((SELECT count(*) FROM embeddings e
                                    WHERE e.model = ANY(%s) AND e.content_hash = c.content_hash) = %s)""",
                (SOURCE, space_key, wanted, len(wanted)),
            ).fetchall()
        ]
        if not ready:
            return 0
        conn.execute("DELETE FROM chunks WHERE source = %s AND document_id = ANY(%s) AND is_live", (SOURCE, ready))
        conn.execute("UPDATE chunks SET is_live = true WHERE source = %s AND document_id = ANY(%s)", (SOURCE, ready))
        # Shared with activate_if_complete: the model read here stays the one search serves until this commits.
        conn.execute("SELECT pg_advisory_xact_lock_shared(hashtext('embedding_models'))")
        model = active_model(conn)
        added = save_search_vectors(conn, model[0], ready) if model is not None and model[0] in wanted else 0
    analyze_after_load(conn, "search_vectors", added)
    return len(ready)


def save_search_vectors(conn: psycopg.Connection, model: str, document_ids: Sequence[str] | None = None) -> int:
    """Add the search rows of live chunks for ``model``: one per (page, text), with the page's filter columns.

    Rows that exist are kept (an edit keeps the rows, and the index entries, of the texts it did not change); rows
    of texts a page no longer holds went with their chunks (a trigger on ``chunks``). The caller owns the
    transaction, in which the chunks went live.

    Args:
        conn: connection.
        model: the model search serves (its vectors must exist for every live chunk concerned).
        document_ids: only these documents' chunks; every live chunk when None (a model switch).

    Returns:
        The number of rows added.
    """
    only = "AND c.document_id = ANY(%(docs)s)" if document_ids is not None else ""
    cur = conn.execute(
        f"""INSERT INTO search_vectors (model, source, document_id, content_hash, space_key, labels, path, embedding)
            SELECT DISTINCT ON (c.document_id, c.content_hash)
                   e.model, c.source, c.document_id, c.content_hash, p.space_key, p.labels, p.path, e.embedding
            FROM chunks c JOIN pages p ON p.page_id = c.document_id
            JOIN embeddings e ON e.model = %(model)s AND e.content_hash = c.content_hash
            WHERE c.source = %(source)s AND c.is_live {only}
            ON CONFLICT DO NOTHING""",
        {"model": model, "source": SOURCE, "docs": list(document_ids or [])},
    )
    return cur.rowcount


_SLUG = re.compile(r"[^a-z0-9]+")


def vector_index_name(model: str) -> str:
    """Name of the partial HNSW index for one model."""
    digest = hashlib.sha1(model.encode()).hexdigest()[:10]
    return f"search_vectors_hnsw_{_SLUG.sub('_', model.lower())[:24]}_{digest}"


class ModelMismatch(RuntimeError):
    """The store holds vectors for this model name with another dimension count."""


def register_model(conn: psycopg.Connection, model: str, provider: str, dimensions: int) -> str:
    """Record an embedding model; the first model becomes active. Its index comes from :func:`ensure_vector_index`.

    Returns:
        The model's state (``active`` or ``building``).

    Raises:
        ModelMismatch: the model is known with other dimensions.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('embedding_models'))")
        row = conn.execute("SELECT dimensions, state FROM embedding_models WHERE model = %s", (model,)).fetchone()
        if row is not None:
            if row[0] != dimensions:
                raise ModelMismatch(
                    f"embedding model {model} is stored with {row[0]} dimensions but EMBEDDING_DIMENSIONS={dimensions}"
                    "; set it back, or use a new EMBEDDING_MODEL name for the new size"
                )
            return row[1]
        has_active = conn.execute("SELECT 1 FROM embedding_models WHERE state = 'active'").fetchone()
        state = "building" if has_active else "active"
        conn.execute(
            """INSERT INTO embedding_models (model, provider, dimensions, state, activated_at)
               VALUES (%s, %s, %s, %s, CASE WHEN %s = 'active' THEN now() END)""",
            (model, provider, dimensions, state, state),
        )
    return state


def ensure_vector_index(
    conn: psycopg.Connection, model: str, dimensions: int, hnsw: HnswSettings | None = None
) -> bool:
    """Create the model's partial HNSW index (cosine) on ``search_vectors`` if missing; True when it was built now.

    Dimensions differ per model, so the index is on a cast to the model's own ``vector(N)``; search casts the same
    way so the planner can use it. ``hnsw`` holds the build parameters (default: pgvector's; the stages pass
    ``StageSettings.hnsw``, see :mod:`confluence_pipeline.store.hnsw`).
    """
    name = vector_index_name(model)
    if conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None:
        return False
    with conn.transaction():
        memory = vector_index_build_memory(conn, model, dimensions, hnsw)
        conn.execute("SELECT set_config('maintenance_work_mem', %s, true)", (f"{memory}MB",))
        conn.execute(hnsw_index_sql(name, model, dimensions, hnsw))
    return True


def vector_index_build_memory(
    conn: psycopg.Connection, model: str, dimensions: int, hnsw: HnswSettings | None = None
) -> int:
    """``maintenance_work_mem`` (MB) a build of the model's index gets: what its graph needs (see build_memory_mb)."""
    configured = conn.execute("SELECT pg_size_bytes(current_setting('maintenance_work_mem'))").fetchone()[0]
    rows = count_search_vectors(conn, model)
    return build_memory_mb(rows, dimensions, (hnsw or HnswSettings()).m, configured // 1048576)


def _bulk_load_lock(model: str) -> str:
    return f"vector-bulk-load:{model}"


def begin_bulk_load(conn: psycopg.Connection, model: str) -> None:
    """Announce a bulk load of the model's vectors: a session-level shared lock, held until :func:`end_bulk_load`.

    Several runs (one per space) may bulk-load at once; while any of them holds the lock, no run builds the index
    (:func:`build_vector_index`), so that it is built once, by the last loader to finish, instead of once per space.
    Waits while a build is in progress. The caller then drops the index with :func:`drop_vector_index`.
    """
    conn.execute("SELECT pg_advisory_lock_shared(hashtext(%s))", (_bulk_load_lock(model),))


def end_bulk_load(conn: psycopg.Connection, model: str) -> None:
    """Release the lock taken by :func:`begin_bulk_load` (closing the connection releases it too)."""
    conn.execute("SELECT pg_advisory_unlock_shared(hashtext(%s))", (_bulk_load_lock(model),))


@contextmanager
def one_index_build(
    conn: psycopg.Connection, model: str, dimensions: int, hnsw: HnswSettings | None = None
) -> Iterator[None]:
    """Hold off the model's index builds while the block loads several spaces, then build the index once.

    The block counts as a bulk load (:func:`begin_bulk_load`): runs inside it that drop the index for a large load
    leave the rebuild to this one, which builds over every space's rows at the end. Spaces synced one after another
    would otherwise rebuild the whole index once per large space.
    """
    begin_bulk_load(conn, model)
    try:
        yield
    finally:
        end_bulk_load(conn, model)
        build_vector_index(conn, model, dimensions, hnsw)


def build_vector_index(conn: psycopg.Connection, model: str, dimensions: int, hnsw: HnswSettings | None = None) -> bool:
    """Build the active model's HNSW index if it is missing, unless another session is still bulk-loading the model.

    That session builds the index when its load ends, over every row loaded meanwhile. A model being built gets its
    rows and index when it is activated (:func:`activate_if_complete`). Returns True when the index was built now.
    """
    if conn.execute("SELECT to_regclass(%s)", (vector_index_name(model),)).fetchone()[0] is not None:
        return False
    active = conn.execute("SELECT 1 FROM embedding_models WHERE model = %s AND state = 'active'", (model,)).fetchone()
    if active is None:
        return False
    key = _bulk_load_lock(model)
    if not conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (key,)).fetchone()[0]:
        return False
    try:
        return ensure_vector_index(conn, model, dimensions, hnsw)
    finally:
        conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))


def drop_vector_index(conn: psycopg.Connection, model: str) -> None:
    """Drop the model's HNSW index (on ``search_vectors``) before a bulk load; :func:`ensure_vector_index` rebuilds it.

    Inserting into an HNSW index costs far more per row than building it at once (measured here: 272 rows/s
    incrementally, against 12,600 rows/s for the COPY alone), so a large load goes live without it.
    """
    conn.execute(f"DROP INDEX IF EXISTS {vector_index_name(model)}")


def count_search_vectors(conn: psycopg.Connection, model: str) -> int:
    """How many search rows (page, text) the store holds for ``model``: the size of its HNSW index."""
    return conn.execute("SELECT count(*) FROM search_vectors WHERE model = %s", (model,)).fetchone()[0]


def count_pending_search_vectors(conn: psycopg.Connection, space_key: str, model: str) -> int:
    """How many search rows for ``model`` the space's pending chunks will add when they go live."""
    return conn.execute(
        f"""SELECT count(*) FROM (SELECT DISTINCT c.document_id, c.content_hash
                                   FROM chunks c JOIN pages p ON p.page_id = c.document_id
                                   WHERE c.source = %s AND p.space_key = %s {_PENDING}) t
            WHERE NOT EXISTS (SELECT 1 FROM search_vectors v WHERE v.model = %s AND v.source = %s
                                AND v.document_id = t.document_id AND v.content_hash = t.content_hash)""",
        (SOURCE, space_key, model, SOURCE),
    ).fetchone()[0]


def activate_if_complete(
    conn: psycopg.Connection, model: str, dimensions: int, hnsw: HnswSettings | None = None
) -> bool:
    """Switch search to ``model`` once it covers every live chunk; returns True when it switched.

    In one transaction: the model's search rows are written for every live chunk and its HNSW index is built over
    them at once (far cheaper than row by row), then it becomes active, and the retired model's rows and index go.
    Promotions wait meanwhile (they read the active model under the same lock), so no page goes live with rows for
    the old model only. Searches go on, on the old model, until the commit.

    Args:
        conn: an autocommit connection.
        model: the model being built.
        dimensions: its vector size.
        hnsw: the index's build parameters.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('embedding_models'))")
        state = conn.execute("SELECT state FROM embedding_models WHERE model = %s", (model,)).fetchone()
        if state is None or state[0] == "active":
            return False
        missing = conn.execute(
            """SELECT 1 FROM chunks c WHERE c.is_live AND NOT EXISTS
                   (SELECT 1 FROM embeddings e WHERE e.model = %s AND e.content_hash = c.content_hash) LIMIT 1""",
            (model,),
        ).fetchone()
        if missing:
            return False
        # A model being built has no index (build_vector_index waits for its activation); one left from elsewhere
        # would take the rows one by one. Building one takes a lock that holds off writes only, not searches.
        drop_vector_index(conn, model)
        save_search_vectors(conn, model)
        ensure_vector_index(conn, model, dimensions, hnsw)
        retired = [
            row[0]
            for row in conn.execute(
                "UPDATE embedding_models SET state = 'retired' WHERE state = 'active' RETURNING model"
            ).fetchall()
        ]
        conn.execute("UPDATE embedding_models SET state = 'active', activated_at = now() WHERE model = %s", (model,))
    # After the switch, so that searches on the old model were not held up by the drop's lock meanwhile; the index
    # first: rows deleted under an HNSW index are left to a costly vacuum of the graph.
    with conn.transaction():
        for old in retired:
            drop_vector_index(conn, old)
        conn.execute("DELETE FROM search_vectors WHERE model = ANY(%s)", (retired,))
    return True


# The model search serves: one row, or none before anything was embedded.
ACTIVE_MODEL_SQL = "SELECT model, dimensions FROM embedding_models WHERE state = 'active'"


def active_model(conn: psycopg.Connection) -> tuple[str, int] | None:
    """(model, dimensions) that search serves, or None before anything was embedded."""
    row = conn.execute(ACTIVE_MODEL_SQL).fetchone()
    return (row[0], row[1]) if row else None
