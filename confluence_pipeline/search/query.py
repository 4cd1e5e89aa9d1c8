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


def embed_query(query: str, provider: EmbeddingProvider | None) -> np.ndarray | None:
    """The query's vector from ``provider``, or None without one (no vector half).

    Search embeds before it opens its transaction (a remote provider makes a network call, which must not hold a
    transaction open) and learns the active model inside it: :func:`serves` then tells whether the vector counts.
    """
    return provider.embed([query])[0] if provider is not None else None


def serves(provider: EmbeddingProvider | None, model: tuple[str, int] | None) -> bool:
    """Whether ``provider`` embeds with the active ``model``, so that its query vectors compare with the stored ones.

    A provider for another model (a switch went live meanwhile) would give vectors from another space, or of another
    length: comparing them with the stored ones would rank at random, so the vector half is skipped instead.
    """
    return provider is not None and model is not None and provider.model == model[0]
