"""The texts the embedding stage reads: every chunk text of a space without a vector for the model, once.

The batches page through a list taken in one scan, so the stage can commit between them; a text that gains its
vector meanwhile (another run embedding the same text) is not read again.
"""

from __future__ import annotations

import numpy as np
import psycopg

from confluence_pipeline.convert.reader import reader_text
from confluence_pipeline.stages import chunk_space, convert_space
from confluence_pipeline.store import documents as docs
from confluence_pipeline_tests.store.wiki import PROVIDER, SETTINGS, Wiki


def pending_space(conn: psycopg.Connection, pages: int) -> Wiki:
    """A space whose pages are chunked but not embedded, two sections (two chunk texts) a page."""
    wiki = Wiki(conn)
    for page in range(1, pages + 1):
        escalation = "<h2>Escalation</h2><p>Page the on-call engineer, then the incident commander.</p>"
        wiki.put(str(page), f"Runbook {page}", f"<h2>Step {page}</h2><p>Restart worker {page} safely.</p>{escalation}")
    convert_space(conn, "ENG", SETTINGS)
    chunk_space(conn, "ENG", SETTINGS)
    docs.register_model(conn, PROVIDER.model, PROVIDER.provider_name, PROVIDER.dimensions)
    return wiki


def unembedded(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute(
        """SELECT DISTINCT c.content_hash FROM chunks c
           WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.model = %s AND e.content_hash = c.content_hash)""",
        (PROVIDER.model,),
    ).fetchall()
    return {row[0] for row in rows}


def test_every_text_without_a_vector_comes_once_in_bounded_ordered_batches(conn: psycopg.Connection) -> None:
    pending_space(conn, 12)
    expected = unembedded(conn)
    batches = list(docs.iter_unembedded(conn, "ENG", PROVIDER.model, 5, pending_only=True))

    hashes = [content_hash for batch in batches for content_hash, _ in batch]
    assert len(hashes) == len(set(hashes)) == len(expected) > 12
    assert set(hashes) == expected
    assert hashes == sorted(hashes)
    assert all(len(batch) <= 5 for batch in batches)
    for batch in batches:
        for content_hash, text in batch:
            assert docs.sha256(reader_text(text)) == content_hash


def test_a_text_embedded_while_the_batches_are_read_is_not_read_again(conn: psycopg.Connection) -> None:
    pending_space(conn, 12)
    batches = docs.iter_unembedded(conn, "ENG", PROVIDER.model, 4, pending_only=True)
    first = next(batches)
    # Another run embeds every text not read yet, save the last one: the rest of the list is skipped.
    rest = sorted(unembedded(conn) - {content_hash for content_hash, _ in first})
    vectors = np.ones((len(rest) - 1, PROVIDER.dimensions), dtype=np.float32)
    with conn.transaction():
        docs.save_embeddings(conn, PROVIDER.model, rest[:-1], vectors)

    assert [content_hash for batch in batches for content_hash, _ in batch] == rest[-1:]


def test_nothing_to_embed_reads_nothing(conn: psycopg.Connection) -> None:
    wiki = pending_space(conn, 3)
    wiki.run()
    assert list(docs.iter_unembedded(conn, "ENG", PROVIDER.model, 5, pending_only=True)) == []
    assert list(docs.iter_unembedded(conn, "ENG", PROVIDER.model, 5)) == []
