"""A local Confluence for development, tests and benchmarks: a deterministic corpus served over REST v1.

- :func:`generate_corpus` builds the content (spaces, page trees, versions, bodies, attachments, labels).
- :class:`SandboxServer` serves it like Confluence Cloud or Data Center, with an admin API under ``/_sandbox/``.
- ``python -m confluence_sandbox serve`` runs it on its own.
"""

from confluence_sandbox.corpus import Corpus, CorpusError, generate_corpus
from confluence_sandbox.server import DEFAULT_EMAIL, DEFAULT_TOKEN, SandboxServer

__all__ = ["DEFAULT_EMAIL", "DEFAULT_TOKEN", "Corpus", "CorpusError", "SandboxServer", "generate_corpus"]
