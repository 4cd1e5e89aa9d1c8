"""Hybrid search over the live chunks: query embedding, full text, vector similarity, reciprocal rank fusion.

``search(conn, query, provider, ...)`` is the entry point; :func:`~.query.query_provider` gives the provider of the
model search serves.
"""

from confluence_pipeline.search.filters import SearchFilters
from confluence_pipeline.search.hybrid import MODES, SearchMode, SearchResult, SearchSettings, search
from confluence_pipeline.search.query import query_provider

__all__ = ["MODES", "SearchFilters", "SearchMode", "SearchResult", "SearchSettings", "query_provider", "search"]
