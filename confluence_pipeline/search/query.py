"""Query embedding: the provider of the model search serves, and the query's vector.

Search must embed queries with the *active* model (the one whose vectors are live), which during a model switch is
not the configured one; the store never embeds queries.
"""

from __future__ import annotations

import numpy as np
import psycopg

from confluence_pipeline.embed.base import EmbeddingProvider
from confluence_pipeline.embed.factory import EmbeddingSettings, provider_for_model
from confluence_pipeline.store.documents import active_model


def query_provider(conn: psycopg.Connection, settings: EmbeddingSettings) -> EmbeddingProvider | None:
    """A provider for the model search serves (not necessarily the configured one, during a switch).

    Args:
        conn: pipeline database connection.
        settings: embedding settings (keys, endpoint, batching) to reach the served model with.

    Returns:
        The provider, or None while no model is active (nothing embedded yet: search is full-text only).

    Raises:
        EmbeddingError: the served model is remote and no key or base URL is configured; the message names it.
    """
    active = active_model(conn)
    if active is None:
        return None
    return provider_for_model(settings, active[0], active[1])


def embed_query(query: str, provider: EmbeddingProvider | None, model: tuple[str, int] | None) -> np.ndarray | None:
    """The query's vector, when ``provider`` embeds with the active ``model``; else None (no vector half).

    A provider for another model would give vectors from another space (or of another length): comparing them with
    the stored ones would rank at random, so the vector half is skipped instead.
    """
    if provider is None or model is None or provider.model != model[0]:
        return None
    return provider.embed([query])[0]
