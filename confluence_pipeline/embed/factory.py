"""Embedding settings from the environment, and the choice of provider they imply."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Final, Literal, cast

from confluence_pipeline.embed.base import EmbeddingError, EmbeddingProvider
from confluence_pipeline.lib.redact import redact_userinfo

__all__ = ["EmbeddingSettings", "build_provider", "provider_for_model"]

log = logging.getLogger(__name__)

ProviderChoice = Literal["auto", "openai", "local"]
_PROVIDERS: Final = ("auto", "openai", "local")
_SECRET_FIELDS: Final = frozenset({"api_key"})


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
        max_input_tokens: Inputs longer than this are truncated before sending.
        timeout_s: Timeout of one HTTP request.
        organization: OpenAI organization id, for keys that belong to several.
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EmbeddingSettings:
        """Read settings from environment variables; unset or empty variables keep their defaults.

        Reads OPENAI_API_KEY, OPENAI_BASE_URL, EMBEDDING_PROVIDER, EMBEDDING_MODEL, EMBEDDING_DIMENSIONS,
        EMBEDDING_BATCH_SIZE, EMBEDDING_MAX_BATCH_TOKENS, EMBEDDING_CONCURRENCY, EMBEDDING_MAX_RETRIES and
        EMBEDDING_LOCAL_DIMENSIONS.

        Args:
            environ: Mapping to read instead of ``os.environ`` (tests).

        Returns:
            The settings.

        Raises:
            EmbeddingError: A variable holds an invalid value; the message names it.
        """
        env = os.environ if environ is None else environ

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def integer(name: str, default: int, minimum: int) -> int:
            raw = text(name)
            if raw is None:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise EmbeddingError(f"{name} must be an integer, got {raw!r}", setting=name) from None
            if value < minimum:
                raise EmbeddingError(f"{name} must be ≥ {minimum}, got {value}", setting=name)
            return value

        defaults = cls()
        provider = (text("EMBEDDING_PROVIDER") or "auto").lower()
        return cls(
            provider=cast(ProviderChoice, provider),
            api_key=text("OPENAI_API_KEY"),
            base_url=text("OPENAI_BASE_URL"),
            model=text("EMBEDDING_MODEL") or defaults.model,
            dimensions=integer("EMBEDDING_DIMENSIONS", defaults.dimensions, 1),
            batch_size=integer("EMBEDDING_BATCH_SIZE", defaults.batch_size, 1),
            max_batch_tokens=integer("EMBEDDING_MAX_BATCH_TOKENS", defaults.max_batch_tokens, 1),
            concurrency=integer("EMBEDDING_CONCURRENCY", defaults.concurrency, 1),
            max_retries=integer("EMBEDDING_MAX_RETRIES", defaults.max_retries, 0),
            local_dimensions=integer("EMBEDDING_LOCAL_DIMENSIONS", defaults.local_dimensions, 16),
        )

    @property
    def resolved_provider(self) -> Literal["openai", "local"]:
        """The provider ``build_provider`` will create: ``auto`` picks OpenAI when a key or base URL is set."""
        if self.provider == "auto":
            return "openai" if (self.api_key or self.base_url) else "local"
        return self.provider


def build_provider(settings: EmbeddingSettings) -> EmbeddingProvider:
    """Create the embedder the settings ask for.

    Args:
        settings: The embedding settings, e.g. from ``EmbeddingSettings.from_env()``.

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
