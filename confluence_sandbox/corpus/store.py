"""The corpus: its state, reads, bodies, search-test helpers and writes in one object."""

from __future__ import annotations

from confluence_sandbox.corpus.content import CorpusContent
from confluence_sandbox.corpus.queries import CorpusQueries
from confluence_sandbox.corpus.writes import CorpusWrites


class Corpus(CorpusWrites, CorpusQueries, CorpusContent):
    """The sandbox's content. Reads and writes go through :attr:`lock` (an ``RLock``) when threads share it."""
