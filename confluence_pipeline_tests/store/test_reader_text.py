"""Chunks keep their links; what is embedded and indexed for full text is what a reader reads (no destinations).

Runs the real stages on the embedded PostgreSQL, embedding through the OpenAI client against the loopback fake
OpenAI server, which records every input it receives.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from confluence_pipeline.convert.reader import READER_TEXT_VERSION, reader_text
from confluence_pipeline.embed.openai_provider import OpenAIEmbedder
from confluence_pipeline.stages import StageSettings, chunk_space, convert_space, embed_space
from confluence_sandbox.openai_server import FakeOpenAIServer

from .test_conversion_deps import Wiki

KEY = "sk-test-local-0123456789abcdef"
SETTINGS = StageSettings(workers=1, site_url="https://wiki.example.com")
LINKED = (
    '<h2>Runbook</h2><p>See the <ac:link><ri:page ri:content-title="Escalation policy" /></ac:link> and the '
    '<a href="https://status.vendor.io/incidents?id=42">vendor status page</a>.</p>'
    '<p><ac:image ac:alt="topology"><ri:url ri:value="https://cdn.images.net/topology.png" /></ac:image></p>'
    '<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[curl https://api.internal.net/health]]>'
    "</ac:plain-text-body></ac:structured-macro>"
)
PLAIN = "<h2>Plain</h2><p>Nothing linked here, only words about capybara herding.</p>"
# Words found only in the link and image destinations (the code block's URL is code, and stays).
DESTINATION_WORDS = {"wiki", "display", "vendor.io", "io", "incidents", "cdn", "images", "png"}


@pytest.fixture
def openai() -> Iterator[tuple[FakeOpenAIServer, OpenAIEmbedder]]:
    with FakeOpenAIServer(api_key=KEY, dimensions=32) as server:
        embedder = OpenAIEmbedder(api_key=KEY, base_url=server.base_url, dimensions=32, timeout_s=10.0)
        yield server, embedder
        embedder.close()


def _run(conn: psycopg.Connection, embedder: OpenAIEmbedder) -> None:
    convert_space(conn, "ENG", SETTINGS)
    chunk_space(conn, "ENG", SETTINGS)
    embed_space(conn, "ENG", [embedder], SETTINGS)


def _sent(server: FakeOpenAIServer) -> list[str]:
    return [text for request in server.requests if request.status == 200 for text in request.texts or ()]


def test_embedding_input_and_full_text_hold_no_link_destinations_while_the_stored_text_keeps_them(
    conn: psycopg.Connection, openai: tuple[FakeOpenAIServer, OpenAIEmbedder]
) -> None:
    server, embedder = openai
    wiki = Wiki(conn)
    wiki.put("1", "Operations", LINKED)
    _run(conn, embedder)
    text, tsv = conn.execute(
        "SELECT text, tsv::text FROM chunks WHERE document_id = '1' AND is_live AND text LIKE '%%Runbook%%'"
    ).fetchone()
    # Stored: Markdown with its links, for display and citation.
    assert "[Escalation policy](https://wiki.example.com/display/ENG/Escalation+policy)" in text
    assert "[vendor status page](https://status.vendor.io/incidents?id=42)" in text
    assert "![topology](https://cdn.images.net/topology.png)" in text
    # Embedded: link text and alt text, no destinations; code stays verbatim.
    (sent,) = [t for t in _sent(server) if "Runbook" in t]
    assert sent == reader_text(text)
    assert "See the Escalation policy and the vendor status page." in sent and "topology" in sent
    assert "https://wiki.example.com" not in sent and "status.vendor.io" not in sent and "cdn.images" not in sent
    assert "curl https://api.internal.net/health" in sent
    # Indexed for full text: the same words, none from a destination.
    lexemes = {part.split(":")[0].strip("'") for part in tsv.split()}
    assert {"escalation", "policy", "vendor", "status", "topology", "curl"} <= lexemes
    assert not DESTINATION_WORDS & lexemes


def test_chunks_cut_before_the_change_roll_over_page_by_page_like_a_model_switch(
    conn: psycopg.Connection, openai: tuple[FakeOpenAIServer, OpenAIEmbedder]
) -> None:
    server, embedder = openai
    wiki = Wiki(conn)
    wiki.put("1", "Operations", LINKED)
    wiki.put("2", "Plain", PLAIN)
    _run(conn, embedder)
    # Make the store look as it did before: chunks keyed and indexed by their raw text, with vectors for those keys.
    conn.execute(
        """INSERT INTO embeddings (model, content_hash, embedding)
           SELECT e.model, encode(sha256(convert_to(c.text, 'UTF8')), 'hex'), e.embedding
           FROM chunks c JOIN embeddings e ON e.content_hash = c.content_hash ON CONFLICT DO NOTHING"""
    )
    conn.execute(
        """DELETE FROM embeddings e USING chunks c WHERE e.content_hash = c.content_hash
             AND c.content_hash <> encode(sha256(convert_to(c.text, 'UTF8')), 'hex')"""
    )
    conn.execute(
        """UPDATE chunks SET input_version = 1, content_hash = encode(sha256(convert_to(text, 'UTF8')), 'hex'),
                  tsv = to_tsvector('simple', text), chunk_id = replace(chunk_id, ':v2:', ':')"""
    )
    legacy = dict(conn.execute("SELECT chunk_id, content_hash FROM chunks WHERE is_live").fetchall())
    server.reset()

    assert chunk_space(conn, "ENG", SETTINGS).processed == 2  # every page is cut again, once
    assert chunk_space(conn, "ENG", SETTINGS).processed == 0
    # Until a page's new chunks have their vectors, its old ones serve.
    assert dict(conn.execute("SELECT chunk_id, content_hash FROM chunks WHERE is_live").fetchall()) == legacy
    embed_space(conn, "ENG", [embedder], SETTINGS)
    # Only texts that read differently were embedded again: the chunk with links, not the plain page.
    sent = _sent(server)
    assert sent and all("Runbook" in text for text in sent) and not any("capybara" in text for text in sent)
    rows = conn.execute("SELECT DISTINCT input_version FROM chunks WHERE is_live").fetchall()
    assert rows == [(READER_TEXT_VERSION,)]
    tsv = conn.execute("SELECT string_agg(tsv::text, ' ') FROM chunks WHERE is_live AND document_id = '1'").fetchone()
    assert "'display'" not in tsv[0] and "'escalation'" in tsv[0]
