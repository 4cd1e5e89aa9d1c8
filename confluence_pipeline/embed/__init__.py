"""Embedding providers: OpenAI (or any OpenAI-compatible server) and a local offline embedder."""

from confluence_pipeline.embed.base import EmbeddingError, EmbeddingProvider, EmbedStats, l2_normalize
from confluence_pipeline.embed.factory import EmbeddingSettings, build_provider

__all__ = [
    "EmbedStats",
    "EmbeddingError",
    "EmbeddingProvider",
    "EmbeddingSettings",
    "build_provider",
    "l2_normalize",
]
