"""Embedding settings (built by the Dagster resource, ``defs/resources.py``) and the choice of provider they imply."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, fields, replace
from typing import Final, Literal

from confluence_pipeline.embed.base import EmbeddingError, EmbeddingProvider
from confluence_pipeline.lib.redact import redact_userinfo
from confluence_pipeline.store.hnsw import MAX_DIMENSIONS

__all__ = ["EmbeddingSettings", "build_provider", "provider_for_model"]

log = logging.getLogger(__name__)

ProviderChoice = Literal["auto", "openai", "local"]
_PROVIDERS: Final = ("auto", "openai", "local")
_SECRET_FIELDS: Final = frozenset({"api_key"})
# Each numeric field: the variable that sets it and its least valid value.
_MINIMUMS: Final = {
    "dimensions": ("EMBEDDING_DIMENSIONS", 1),
    "batch_size": ("EMBEDDING_BATCH_SIZE", 1),
    "max_batch_tokens": ("EMBEDDING_MAX_BATCH_TOKENS", 1),
    "concurrency": ("EMBEDDING_CONCURRENCY", 1),
    "max_retries": ("EMBEDDING_MAX_RETRIES", 0),
    "local_dimensions": ("EMBEDDING_LOCAL_DIMENSIONS", 16),
    "max_input_tokens": ("EMBEDDING_MAX_INPUT_TOKENS", 1),
}
# Vector sizes the search index takes (pgvector's HNSW over halfvec); a larger model could store vectors but never
# build its index, so it is refused before anything is embedded.
_DIMENSION_FIELDS: Final = ("dimensions", "local_dimensions")


@dataclass(frozen=True)
class EmbeddingSettings:
    """Which embedder to use and how to drive it.

    Attributes:
        provider: ``auto`` (OpenAI when a key or base URL is set, else local), ``openai`` or ``local``
            (``EMBEDDING_PROVIDER``).
        api_key: OpenAI key (``OPENAI_API_KEY``); masked in ``repr``.
        base_url: API root of an OpenAI-compatible server (``OPENAI_BASE_URL``), e.g. ``http://localhost:11434/v1``.
        model: Embedding model for the OpenAI provider (``EMBEDDING_MODEL``).
        dimensions: Vector length for the OpenAI provider (``EMBEDDING_DIMENSIONS``).
        batch_size: Most inputs per request (``EMBEDDING_BATCH_SIZE``).
        max_batch_tokens: Most tokens per request (``EMBEDDING_MAX_BATCH_TOKENS``).
        concurrency: Requests in flight at once (``EMBEDDING_CONCURRENCY``).
        max_retries: Retries of a failed request (``EMBEDDING_MAX_RETRIES``).
        local_dimensions: Vector length of the local offline embedder (``EMBEDDING_LOCAL_DIMENSIONS``).
        max_input_tokens: Inputs longer than this are truncated before sending (``EMBEDDING_MAX_INPUT_TOKENS``).
        timeout_s: Timeout of one HTTP request (``EMBEDDING_TIMEOUT_S``).
        organization: OpenAI organization id, for keys that belong to several (``OPENAI_ORG_ID``).

    Raises:
        EmbeddingError: on construction, when a value is invalid; the message and ``setting`` name the variable.
    """

    provider: ProviderChoice = "auto"
    api_key: str | None = None
    base_url: str | None = None
    model: str = "text-embedding-3-small"
    dimensions: int = 1536
    batch_size: int = 256
    max_batch_tokens: int = 250_000
    concurrency: int = 4
    max_retries: int = 6
    local_dimensions: int = 384
    max_input_tokens: int = 8191
    timeout_s: float = 60.0
    organization: str | None = None

    def __post_init__(self) -> None:
        if self.provider not in _PROVIDERS:
            raise EmbeddingError(
                f"EMBEDDING_PROVIDER must be one of {', '.join(_PROVIDERS)}, got {self.provider!r}",
                setting="EMBEDDING_PROVIDER",
            )
        for name, (variable, minimum) in _MINIMUMS.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise EmbeddingError(f"{variable} must be an integer, got {value!r}", setting=variable)
            if value < minimum:
                raise EmbeddingError(f"{variable} must be ≥ {minimum}, got {value}", setting=variable)
            if name in _DIMENSION_FIELDS and value > MAX_DIMENSIONS:
                raise EmbeddingError(
                    f"{variable}={value} is more than the {MAX_DIMENSIONS:,} dimensions the search index (pgvector's "
                    f"HNSW) takes; set it to {MAX_DIMENSIONS:,} or fewer (OpenAI's text-embedding-3 models shorten "
                    "their vectors to the size asked for)",
                    setting=variable,
                )
        if self.timeout_s <= 0:
            variable = "EMBEDDING_TIMEOUT_S"
            raise EmbeddingError(f"{variable} must be > 0, got {self.timeout_s}", setting=variable)

    def __repr__(self) -> str:
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in _SECRET_FIELDS and value:
                shown.append(f"{item.name}='***'")
            elif item.name == "base_url" and value:
                shown.append(f"{item.name}={redact_userinfo(value)!r}")
            else:
                shown.append(f"{item.name}={value!r}")
        return f"EmbeddingSettings({', '.join(shown)})"

    @property
    def resolved_provider(self) -> Literal["openai", "local"]:
        """The provider ``build_provider`` will create: ``auto`` picks OpenAI when a key or base URL is set."""
        if self.provider == "auto":
            return "openai" if (self.api_key or self.base_url) else "local"
        return self.provider


def build_provider(settings: EmbeddingSettings) -> EmbeddingProvider:
    """Create the embedder the settings ask for.

    Args:
        settings: The embedding settings, e.g. from ``EmbeddingsResource.settings()``.

    Returns:
        An ``OpenAIEmbedder`` or a ``LocalEmbedder``. Both log which provider runs; ``describe()`` says it too.

    Raises:
        EmbeddingError: OpenAI was requested without a key or base URL, or a setting is invalid.
    """
    choice = settings.resolved_provider
    if choice == "local":
        from confluence_pipeline.embed.local import LocalEmbedder

        if settings.provider == "auto":
            log.info("EMBEDDING_PROVIDER=auto and neither OPENAI_API_KEY nor OPENAI_BASE_URL is set")
        try:
            return LocalEmbedder(settings.local_dimensions)
        except ValueError as err:
            raise EmbeddingError(str(err), setting="EMBEDDING_LOCAL_DIMENSIONS") from None

    if not settings.api_key and not settings.base_url:
        raise EmbeddingError(
            "EMBEDDING_PROVIDER=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server that needs "
            "no key); unset EMBEDDING_PROVIDER to fall back to the local offline embedder",
            setting="OPENAI_API_KEY",
        )
    from confluence_pipeline.embed.openai_provider import OpenAIEmbedder

    return OpenAIEmbedder(
        api_key=settings.api_key,
        base_url=settings.base_url,
        model=settings.model,
        dimensions=settings.dimensions,
        batch_size=settings.batch_size,
        max_batch_tokens=settings.max_batch_tokens,
        max_input_tokens=settings.max_input_tokens,
        concurrency=settings.concurrency,
        max_retries=settings.max_retries,
        timeout_s=settings.timeout_s,
        organization=settings.organization,
    )


_LOCAL_MODEL = re.compile(r"^local-hash-v1-(\d+)$")


def provider_for_model(settings: EmbeddingSettings, model: str, dimensions: int) -> EmbeddingProvider:
    """A provider that produces vectors for a stored ``model``, e.g. the one search still serves during a switch.

    Local models are recognised by name (``local-hash-v1-<dims>``); any other model is asked of the configured
    OpenAI-compatible endpoint with the stored dimensions.

    Raises:
        EmbeddingError: the model is remote and no key or base URL is configured.
    """
    local = _LOCAL_MODEL.match(model)
    if local:
        return build_provider(replace(settings, provider="local", local_dimensions=int(local.group(1))))
    return build_provider(replace(settings, provider="openai", model=model, dimensions=dimensions))
