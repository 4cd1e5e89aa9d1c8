"""Readers during a sync: a changed page never shows up without chunks, with a mix of versions, or without vectors.

A reader thread searches in a loop and, in one statement (one snapshot), counts per changed page its live chunks,
the live chunks lacking a vector of the active model, and the chunk sets they come from. Meanwhile a writer thread
edits pages in the sandbox and runs sync → Markdown → chunks → embeddings for the space, several rounds.
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict

from benchmarks.relevance import ingest_server, sandbox_client, sync_space_stages
from confluence_pipeline.confluence.sync import sync_space
from confluence_pipeline.embed.local import LocalEmbedder
from confluence_pipeline.search import search
from confluence_pipeline.stages import StageSettings, chunk_space, convert_space
from confluence_pipeline.store.db import connect

SPACE = "ENG"
ROUNDS = 3

_SNAPSHOT = """
    SELECT p.page_id,
           count(c.chunk_id) FILTER (WHERE c.is_live),
           count(c.chunk_id) FILTER (WHERE c.is_live AND NOT EXISTS (
               SELECT 1 FROM embeddings e
               WHERE e.model = (SELECT model FROM embedding_models WHERE state = 'active')
                 AND e.content_hash = c.content_hash)),
           count(DISTINCT c.source_hash) FILTER (WHERE c.is_live),
           min(c.source_hash) FILTER (WHERE c.is_live)
    FROM pages p LEFT JOIN chunks c ON c.source = 'confluence' AND c.document_id = p.page_id
    WHERE p.page_id = ANY(%s)
    GROUP BY p.page_id"""


def _edited_body(server, page_id: str, round_no: int) -> str:
    page = server.corpus.page(page_id)
    return server.corpus.body(page) + (
        f"<h2>Rollout note {round_no}</h2><p>Round {round_no} of the concurrency test changed this page "
        f"({uuid.uuid4().hex[:8]}): drain the canary before promoting.</p>"
    )


def test_readers_never_see_a_changed_page_without_chunks_or_vectors(make_sandbox, db_url: str) -> None:
    server = make_sandbox(pages=150, seed=4)
    provider = LocalEmbedder(log_selection=False)
    ingest_server(db_url, server, provider)
    with connect(db_url, autocommit=True) as conn:
        changed = [
            row[0]
            for row in conn.execute(
                """SELECT p.page_id FROM pages p WHERE p.space_key = %s AND p.status = 'current'
                     AND EXISTS (SELECT 1 FROM chunks c WHERE c.document_id = p.page_id AND c.is_live)
                   ORDER BY p.page_id LIMIT 40""",
                (SPACE,),
            )
        ]
    assert len(changed) >= 20
    titles = [server.corpus.page(p).title for p in changed[:5]]

    writer_done = threading.Event()
    reader_started = threading.Event()
    violations: list[str] = []
    failures: list[BaseException] = []
    live_sets: dict[str, set[str]] = defaultdict(set)
    counts = {"snapshots": 0, "searches": 0}

    def reader() -> None:
        try:
            with connect(db_url, autocommit=True) as conn:
                while True:
                    done = writer_done.is_set()  # one more pass after the writer finished
                    for page_id, live, unembedded, sets, source_hash in conn.execute(_SNAPSHOT, (changed,)):
                        if live == 0:
                            violations.append(f"page {page_id} had no live chunk")
                        if unembedded:
                            violations.append(f"page {page_id} had {unembedded} live chunk(s) without a vector")
                        if sets > 1:
                            violations.append(f"page {page_id} mixed {sets} chunk sets")
                        live_sets[page_id].add(source_hash)
                    counts["snapshots"] += 1
                    results = search(conn, titles[counts["searches"] % len(titles)], provider, k=5)
                    assert results, "search found nothing during the sync"
                    counts["searches"] += 1
                    reader_started.set()
                    if done:
                        return
        except BaseException as exc:  # reported in the main thread
            failures.append(exc)
            reader_started.set()

    def writer() -> None:
        try:
            reader_started.wait(30)
            client = sandbox_client(server)
            with connect(db_url, autocommit=True) as conn:
                for round_no in range(1, ROUNDS + 1):
                    server.set_clock(advance_s=120)
                    for page_id in changed:
                        server.edit_page(page_id, body=_edited_body(server, page_id, round_no))
                    sync_space_stages(conn, client, SPACE, provider)
        except BaseException as exc:
            failures.append(exc)
        finally:
            writer_done.set()

    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert violations == []
    # The reader really overlapped the replacements: it saw pages go from one chunk set to the next.
    assert counts["snapshots"] > ROUNDS
    assert sum(len(hashes) > 1 for hashes in live_sets.values()) >= len(changed) // 2
    with connect(db_url, autocommit=True) as conn:
        final = conn.execute(
            """SELECT count(DISTINCT c.document_id) FROM chunks c
               WHERE c.document_id = ANY(%s) AND c.is_live AND c.text LIKE %s""",
            (changed, f"%Round {ROUNDS} of the concurrency test%"),
        ).fetchone()[0]
    assert final == len(changed)


def test_a_reverted_edit_never_brings_back_the_abandoned_version(make_sandbox, db_url: str) -> None:
    server = make_sandbox(pages=40, seed=3)
    provider = LocalEmbedder(log_selection=False)
    ingest_server(db_url, server, provider)
    client = sandbox_client(server)
    settings = StageSettings(workers=1)
    with connect(db_url, autocommit=True) as conn:
        page_id = conn.execute(
            """SELECT p.page_id FROM pages p WHERE p.space_key = %s AND p.status = 'current'
                 AND EXISTS (SELECT 1 FROM chunks c WHERE c.document_id = p.page_id AND c.is_live)
               ORDER BY p.page_id LIMIT 1""",
            (SPACE,),
        ).fetchone()[0]
        original = server.corpus.body(server.corpus.page(page_id))
        # Version B is synced and chunked, but its embedding fails (here: the stage does not run), so it stays pending.
        server.set_clock(advance_s=120)
        server.edit_page(page_id, body=original + "<h2>Short-lived</h2><p>This paragraph was reverted.</p>")
        sync_space(conn, client, SPACE)
        convert_space(conn, SPACE, settings)
        chunk_space(conn, SPACE, settings)
        # The author reverts to A; the next run converts A again, finds A's live chunks, and embeds what is pending.
        server.set_clock(advance_s=120)
        server.edit_page(page_id, body=original)
        sync_space_stages(conn, client, SPACE, provider)
        live_hashes = {
            row[0]
            for row in conn.execute("SELECT source_hash FROM chunks WHERE document_id = %s AND is_live", (page_id,))
        }
        markdown_hash = conn.execute(
            "SELECT markdown_hash FROM page_markdown WHERE page_id = %s", (page_id,)
        ).fetchone()[0]
        live_text = conn.execute(
            "SELECT string_agg(text, ' ') FROM chunks WHERE document_id = %s AND is_live", (page_id,)
        ).fetchone()[0]
    assert "This paragraph was reverted" not in live_text
    assert live_hashes == {markdown_hash}
