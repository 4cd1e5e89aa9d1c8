"""The provider interface shared by every embedder, its statistics, its error type and small helpers."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from confluence_pipeline.lib.redact import scrub_secrets

__all__ = [
    "EmbedStats",
    "EmbeddingError",
    "EmbeddingProvider",
    "l2_normalize",
]


class EmbeddingError(RuntimeError):
    """An embedding provider failed in a way the caller cannot fix by retrying right away.

    The message names the setting to change (``OPENAI_API_KEY``, ``EMBEDDING_MODEL``, ...) and never contains a
    secret: it is scrubbed on construction.

    Attributes:
        setting: The environment variable most likely to fix the problem, if any.
        status: The HTTP status that caused the failure, if any.
        attempts: How many requests were made for the failing batch.
        retryable: True when the same call may succeed later unchanged (rate limits, outages, network). Callers
            keep the work pending for the next run in that case.
    """

    def __init__(
        self,
        message: str,
        *,
        setting: str | None = None,
        status: int | None = None,
        attempts: int = 1,
        retryable: bool = False,
        secrets: Iterable[str | None] = (),
    ) -> None:
        super().__init__(scrub_secrets(message, secrets))
        self.setting = setting
        self.status = status
        self.attempts = attempts
        self.retryable = retryable


@dataclass
class EmbedStats:
    """Counters of one provider instance, safe to update from several threads.

    Attributes:
        requests: Embedding calls made. For remote providers every HTTP request counts, retries included.
        retries: Requests that repeated an earlier failed one.
        inputs: Texts embedded successfully.
        tokens: Tokens embedded successfully (cl100k count for OpenAI; lexical terms for the local embedder).
        truncated: Inputs cut to the model's input limit before sending.
        seconds: Wall-clock seconds spent inside ``embed``.
    """

    requests: int = 0
    retries: int = 0
    inputs: int = 0
    tokens: int = 0
    truncated: int = 0
    seconds: float = 0.0

    def __post_init__(self) -> None:
        # Not a dataclass field, so asdict() and copies of the counters keep working.
        self._lock: threading.Lock = threading.Lock()

    def add(
        self,
        *,
        requests: int = 0,
        retries: int = 0,
        inputs: int = 0,
        tokens: int = 0,
        truncated: int = 0,
        seconds: float = 0.0,
    ) -> None:
        """Add to the counters atomically.

        Args:
            requests: Requests to add.
            retries: Retries to add.
            inputs: Inputs to add.
            tokens: Tokens to add.
            truncated: Truncated inputs to add.
            seconds: Seconds to add.
        """
        with self._lock:
            self.requests += requests
            self.retries += retries
            self.inputs += inputs
            self.tokens += tokens
            self.truncated += truncated
            self.seconds += seconds

    def snapshot(self) -> dict[str, int | float]:
        """Return a consistent copy of the counters, e.g. for Dagster metadata.

        Returns:
            A dict with keys requests, retries, inputs, tokens, truncated and seconds.
        """
        with self._lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "inputs": self.inputs,
                "tokens": self.tokens,
                "truncated": self.truncated,
                "seconds": round(self.seconds, 6),
            }

    def reset(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            self.requests = self.retries = self.inputs = self.tokens = self.truncated = 0
            self.seconds = 0.0


@runtime_checkable
class EmbeddingProvider(Protocol):
    """What the pipeline needs from an embedder.

    Attributes:
        provider_name: ``"openai"`` or ``"local"``; goes into logs and asset metadata.
        model: Model name; embeddings are stored under (content hash, model).
        dimensions: Length of every returned vector.
        stats: Running counters for this instance.
    """

    provider_name: str
    model: str
    dimensions: int
    stats: EmbedStats

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts, preserving order.

        Args:
            texts: The texts to embed.

        Returns:
            float32 array of shape (len(texts), dimensions) with L2-normalised rows.

        Raises:
            EmbeddingError: The provider failed; the message names the setting to fix.
        """
        ...

    def describe(self) -> dict[str, Any]:
        """Describe the provider for logs and metadata, without secrets.

        Returns:
            A JSON-serialisable dict with at least provider, model and dimensions.
        """
        ...


def l2_normalize(rows: np.ndarray) -> np.ndarray:
    """Scale each row to unit Euclidean length.

    Args:
        rows: A 2-D array. It is converted to float32; a float32 C-contiguous input is normalised in place.

    Returns:
        The float32 array with unit-length rows. All-zero rows stay zero because they have no direction.
    """
    out = np.ascontiguousarray(rows, dtype=np.float32)
    if out.ndim != 2:
        raise ValueError(f"expected a 2-D array, got shape {out.shape}")
    norms = np.sqrt(np.einsum("ij,ij->i", out, out, dtype=np.float64))
    norms[norms == 0.0] = 1.0
    out /= norms[:, None].astype(np.float32)
    return out
