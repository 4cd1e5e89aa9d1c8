"""What embedding and full-text indexing are fed per 1,000 real-size pages, with and without link destinations.

The stored chunk text keeps Markdown links for display and citation; what is embedded and indexed for full text is
:attr:`~confluence_pipeline.convert.chunking.Chunk.embedding_input`: the link text without its destination. This
measures both on the sandbox's real-size pages (bodies built from the real Cloud pages, see
:mod:`confluence_sandbox.real_bodies`), converted with a site URL and cut with the default chunk settings:

* the share of the stored chunks' characters that are link and image destinations;
* cl100k tokens sent to the embedding model per 1,000 pages, before (the stored text) and after (the reader text).

``python -m benchmarks.reader_tokens [--pages N]``; ``make bench`` prints it too.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from confluence_pipeline.convert.chunking import chunk_markdown
from confluence_pipeline.convert.context import ConvertContext
from confluence_pipeline.convert.storage import convert_storage
from confluence_pipeline.convert.tokens import count_tokens
from confluence_sandbox.corpus import generate_corpus

SITE = "https://example.atlassian.net/wiki"


@dataclass(frozen=True)
class ReaderTokens:
    """Chunks and what they feed the embedder, over ``pages`` pages."""

    pages: int
    chunks: int
    stored_chars: int
    reader_chars: int
    stored_tokens: int
    reader_tokens: int

    @property
    def destination_share(self) -> float:
        """Share of the stored text's characters that the reader text leaves out (link and image destinations)."""
        return 1 - self.reader_chars / self.stored_chars if self.stored_chars else 0.0

    def per_thousand(self, tokens: int) -> int:
        """Tokens per 1,000 pages."""
        return round(tokens * 1000 / self.pages) if self.pages else 0


def measure(pages: int = 1000, seed: int = 11) -> ReaderTokens:
    """Convert and chunk ``pages`` real-size sandbox pages and count what each text feeds the embedder.

    Args:
        pages: how many pages of the real-size corpus (current pages with bodies) to take.
        seed: corpus seed.

    Returns:
        The counts.
    """
    corpus = generate_corpus(pages, seed, profile="real", include_fixtures=False)
    taken = chunks = stored_chars = reader_chars = stored_tokens = reader_tokens = 0
    for page in corpus.pages(statuses=("current",)):
        # Attachments resolve to download URLs, as the pipeline's conversion gives them.
        files = {a.title: f"{SITE}/download/attachments/{page.id}/{quote(a.title)}" for a in corpus.attachments(page)}
        context = ConvertContext(
            page_id=str(page.id), page_title=page.title, space_key=page.space_key, base_url=SITE, attachments=files
        )
        markdown = convert_storage(corpus.body(page), context).markdown
        for chunk in chunk_markdown(markdown, title=page.title):
            reader = chunk.embedding_input
            chunks += 1
            stored_chars += len(chunk.text)
            reader_chars += len(reader)
            stored_tokens += chunk.token_count
            reader_tokens += count_tokens(reader)
        taken += 1
        if taken == pages:
            break
    return ReaderTokens(taken, chunks, stored_chars, reader_chars, stored_tokens, reader_tokens)


def format_figures(figures: ReaderTokens) -> str:
    """The figures as text."""
    before, after = figures.per_thousand(figures.stored_tokens), figures.per_thousand(figures.reader_tokens)
    change = after / before - 1 if before else 0.0
    return (
        f"embedding input on {figures.pages:,} real-size pages ({figures.chunks:,} chunks):\n"
        f"  link and image destinations: {figures.destination_share:.1%} of the stored chunks' characters\n"
        f"  tokens per 1,000 pages:      {before:,} with destinations (stored text) -> {after:,} embedded "
        f"({change:+.1%})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reader_tokens", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    print(format_figures(measure(args.pages, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
