"""Embeddings from OpenAI or any OpenAI-compatible server (Ollama, vLLM, TEI, LiteLLM, ...) through the openai SDK.

Batches are bounded by input count and by tokens, inputs over the model's limit are truncated, batches run with
bounded concurrency (:mod:`~confluence_pipeline.embed.openai_batching`), and transient failures (429, 5xx, 408/409,
network) are retried here rather than inside the SDK (its own ``max_retries`` is 0) so that every request and retry
is counted and the server's rate-limit headers decide the wait (:mod:`~confluence_pipeline.embed.openai_retries`).
Responses are parsed from the raw JSON, accepting base64 or float vectors and ignoring fields only OpenAI sends, so
compatible servers work too.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import numpy as np
import openai
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_when_event_set,
)

from confluence_pipeline.embed.base import EmbeddingError, EmbedStats, l2_normalize
from confluence_pipeline.embed.openai_batching import Aborted, plan_batches, prepare_inputs, run_batches
from confluence_pipeline.embed.openai_retries import error_detail, is_transient, mentions_encoding, server_wait_s
from confluence_pipeline.lib.redact import scrub_secrets
from confluence_pipeline.lib.retry import wait_hint_or_backoff

__all__ = ["OpenAIEmbedder", "supports_dimensions_param"]

log = logging.getLogger(__name__)

OPENAI_BASE_URL: Final = "https://api.openai.com/v1"
# Sent when a compatible server needs no key: the SDK insists on one, and such servers ignore the header.
_NO_KEY_PLACEHOLDER: Final = "no-key-required"


def supports_dimensions_param(model: str) -> bool:
    """Tell whether a model accepts the ``dimensions`` request parameter.

    Args:
        model: The model name, possibly with a provider prefix such as ``openai/``.

    Returns:
        True for the text-embedding-3 family (and later OpenAI models named alike), False otherwise.
    """
    return "text-embedding-3" in model.lower()


class OpenAIEmbedder:
    """Embedding provider for OpenAI or any OpenAI-compatible ``/v1/embeddings`` endpoint.

    Attributes:
        provider_name: Always ``"openai"`` (also for compatible servers; ``describe()`` names the host).
        model: Model sent with every request.
        dimensions: Expected vector length; every response is checked against it.
        stats: Counters: every HTTP request (retries included), retries, inputs, tokens, truncated inputs.
    """

    provider_name: str = "openai"

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None = None,
        model: str = "text-embedding-3-small",
        dimensions: int = 1536,
        batch_size: int = 256,
        max_batch_tokens: int = 250_000,
        max_input_tokens: int = 8191,
        concurrency: int = 4,
        max_retries: int = 6,
        timeout_s: float = 60.0,
        organization: str | None = None,
        *,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_retry_wait_s: float = 60.0,
        encoding_format: Literal["base64", "float"] | None = None,
    ) -> None:
        """Configure the provider; no request is made until ``embed``.

        Args:
            api_key: API key (``OPENAI_API_KEY``). May be None only with a ``base_url`` whose server needs no key.
            base_url: API root of an OpenAI-compatible server, e.g. ``http://localhost:11434/v1``
                (``OPENAI_BASE_URL``). None means OpenAI itself; the environment is not consulted here.
            model: Embedding model (``EMBEDDING_MODEL``).
            dimensions: Vector length (``EMBEDDING_DIMENSIONS``). Sent to text-embedding-3 models, which shorten
                their vectors; for other models it must equal the model's native size.
            batch_size: Most inputs per request (``EMBEDDING_BATCH_SIZE``; OpenAI allows 2048).
            max_batch_tokens: Most tokens per request (``EMBEDDING_MAX_BATCH_TOKENS``; OpenAI allows 300,000).
            max_input_tokens: Longer inputs are truncated to this many tokens, with a warning.
            concurrency: Requests in flight at once (``EMBEDDING_CONCURRENCY``).
            max_retries: Retries after the first attempt of a batch (``EMBEDDING_MAX_RETRIES``).
            timeout_s: Timeout of one HTTP request, in seconds.
            organization: OpenAI organization id, if the key belongs to several.
            backoff_base_s: First back-off wait when the server gives no hint; doubles per retry, with jitter.
            backoff_max_s: Longest back-off wait when the server gives no hint.
            max_retry_wait_s: Longest wait honoured from ``retry-after`` or rate-limit reset headers.
            encoding_format: Force ``base64`` or ``float`` vectors. None asks for base64 (smaller, faster) and
                falls back to float for good if the server rejects base64.

        Raises:
            EmbeddingError: A setting is invalid; the message names it.
        """
        self._api_key = api_key or None
        _check(self._api_key is not None or base_url, "OpenAI needs an API key: set OPENAI_API_KEY", "OPENAI_API_KEY")
        _check(bool(model and model.strip()), "EMBEDDING_MODEL must not be empty", "EMBEDDING_MODEL")
        _check(
            _positive_int(dimensions), f"EMBEDDING_DIMENSIONS must be ≥ 1, got {dimensions!r}", "EMBEDDING_DIMENSIONS"
        )
        _check(
            _positive_int(batch_size), f"EMBEDDING_BATCH_SIZE must be ≥ 1, got {batch_size!r}", "EMBEDDING_BATCH_SIZE"
        )
        _check(
            _positive_int(max_batch_tokens),
            f"EMBEDDING_MAX_BATCH_TOKENS must be ≥ 1, got {max_batch_tokens!r}",
            "EMBEDDING_MAX_BATCH_TOKENS",
        )
        _check(_positive_int(max_input_tokens), f"max_input_tokens must be ≥ 1, got {max_input_tokens!r}", None)
        _check(
            _positive_int(concurrency),
            f"EMBEDDING_CONCURRENCY must be ≥ 1, got {concurrency!r}",
            "EMBEDDING_CONCURRENCY",
        )
        _check(
            isinstance(max_retries, int) and max_retries >= 0,
            f"EMBEDDING_MAX_RETRIES must be ≥ 0, got {max_retries!r}",
            "EMBEDDING_MAX_RETRIES",
        )
        _check(timeout_s > 0, f"timeout_s must be > 0, got {timeout_s!r}", None)
        if base_url:
            parts = urlsplit(base_url)
            _check(
                parts.scheme in ("http", "https") and bool(parts.hostname),
                "OPENAI_BASE_URL must be an http(s) URL such as http://localhost:11434/v1",
                "OPENAI_BASE_URL",
            )

        self.model = model.strip()
        self.dimensions = dimensions
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self.max_input_tokens = max_input_tokens
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.max_retry_wait_s = max_retry_wait_s
        self.stats = EmbedStats()

        self._base_url = base_url.rstrip("/") if base_url else OPENAI_BASE_URL
        self._is_openai = base_url is None or (urlsplit(self._base_url).hostname or "") == "api.openai.com"
        self._host = _host_of(self._base_url)
        # Starts sentences in messages; for compatible servers the host tells which OPENAI_BASE_URL was used.
        self._where = "OpenAI" if self._is_openai else f"The embedding server at {self._host}"
        if self._is_openai:
            # OpenAI's documented per-request limits; larger settings would only produce 400s mid-run.
            _check(
                batch_size <= 2048,
                f"EMBEDDING_BATCH_SIZE must be ≤ 2048 for OpenAI, got {batch_size}",
                "EMBEDDING_BATCH_SIZE",
            )
            _check(
                max_batch_tokens <= 300_000,
                f"EMBEDDING_MAX_BATCH_TOKENS must be ≤ 300000 for OpenAI, got {max_batch_tokens}",
                "EMBEDDING_MAX_BATCH_TOKENS",
            )
        self._send_dimensions = supports_dimensions_param(self.model)
        self._encoding: Literal["base64", "float"] = encoding_format or "base64"
        self._encoding_auto = encoding_format is None
        self._encoding_lock = threading.Lock()
        self._client = openai.OpenAI(
            api_key=self._api_key or _NO_KEY_PLACEHOLDER,
            base_url=self._base_url,
            organization=organization,
            max_retries=0,
            timeout=timeout_s,
        )
        log.info(
            "Embedding with OpenAI-compatible provider: model %s, %d dimensions, host %s",
            self.model,
            self.dimensions,
            self._host,
        )

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(model={self.model!r}, dimensions={self.dimensions}, host={self._host!r})"

    def __enter__(self) -> OpenAIEmbedder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    @property
    def base_url_host(self) -> str:
        """Host (and port) of the API root, safe to log."""
        return self._host

    def describe(self) -> dict[str, Any]:
        """Describe the provider for logs and Dagster metadata, without the key.

        Returns:
            provider, model, dimensions, base_url_host and the batching settings.
        """
        return {
            "provider": self.provider_name,
            "model": self.model,
            "dimensions": self.dimensions,
            "base_url_host": self._host,
            "batch_size": self.batch_size,
            "max_batch_tokens": self.max_batch_tokens,
            "concurrency": self.concurrency,
            "max_retries": self.max_retries,
        }

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts, preserving order, with batching, bounded concurrency and retries.

        Args:
            texts: The texts to embed. Empty strings are sent as a single space (OpenAI rejects empty input).

        Returns:
            float32 array of shape (len(texts), dimensions) with L2-normalised rows.

        Raises:
            EmbeddingError: A batch failed for good; ``retryable`` tells whether a later run may succeed unchanged.
        """
        started = time.perf_counter()
        try:
            if len(texts) == 0:
                return np.zeros((0, self.dimensions), dtype=np.float32)
            inputs = prepare_inputs(texts, self.max_input_tokens)
            if inputs.truncated:
                self._warn_truncated(inputs.truncated)
            spans = plan_batches(inputs.tokens, self.batch_size, self.max_batch_tokens)
            out = np.empty((len(inputs.texts), self.dimensions), dtype=np.float32)
            run_batches(inputs, spans, out, self._run_batch, self.concurrency)
            return out
        finally:
            self.stats.add(seconds=time.perf_counter() - started)

    def _warn_truncated(self, truncated: list[tuple[int, int]]) -> None:
        self.stats.add(truncated=len(truncated))
        longest = max(original for _, original in truncated)
        log.warning(
            "Truncated %d input(s) to the model's limit of %d tokens before embedding with %s "
            "(longest had %d tokens; positions %s). The cut text is not searchable by vector; lower the chunk "
            "size if this happens often.",
            len(truncated),
            self.max_input_tokens,
            self.model,
            longest,
            ", ".join(str(p) for p, _ in truncated[:10]) + (", …" if len(truncated) > 10 else ""),
        )

    def _run_batch(self, texts: list[str], tokens: list[int], abort: threading.Event) -> np.ndarray:
        """Embed one batch, retrying transient failures, and turn every failure into an EmbeddingError."""
        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries + 1) | stop_when_event_set(abort),
            # Jitter on the server's hint spreads the concurrent batches that all received the same Retry-After.
            wait=wait_hint_or_backoff(
                server_wait_s,
                base_s=self.backoff_base_s,
                max_s=self.backoff_max_s,
                max_hint_s=self.max_retry_wait_s,
                hint_jitter=0.1,
            ),
            retry=retry_if_exception(is_transient),
            before_sleep=self._log_retry,
            sleep=abort.wait,
            reraise=False,
        )
        try:
            for attempt in retrying:
                with attempt:
                    if abort.is_set():
                        raise Aborted()
                    retry = attempt.retry_state.attempt_number > 1
                    self.stats.add(requests=1, retries=int(retry))
                    vectors = self._request(texts)
        except RetryError as err:
            last = err.last_attempt
            raise self._exhausted(last.exception(), last.attempt_number, len(texts)) from None
        except openai.APIStatusError as err:
            raise self._rejected(err) from None
        except openai.OpenAIError as err:
            raise EmbeddingError(
                f"{self._where} failed: {type(err).__name__}: {err}. Check OPENAI_BASE_URL and OPENAI_API_KEY.",
                setting="OPENAI_BASE_URL",
                secrets=[self._api_key],
            ) from None
        self.stats.add(inputs=len(texts), tokens=sum(tokens))
        return vectors

    def _request(self, texts: list[str]) -> np.ndarray:
        """Send one request and parse its vectors."""
        encoding = self._encoding
        params: dict[str, Any] = {"model": self.model, "input": texts, "encoding_format": encoding}
        if self._send_dimensions:
            params["dimensions"] = self.dimensions
        try:
            raw = self._client.embeddings.with_raw_response.create(**params)
        except openai.BadRequestError as err:
            if not (encoding == "base64" and self._encoding_auto and mentions_encoding(err)):
                raise
            with self._encoding_lock:
                if self._encoding == "base64":
                    log.info("%s does not accept base64 embeddings; asking for float vectors instead", self._where)
                    self._encoding = "float"
            params["encoding_format"] = "float"
            self.stats.add(requests=1)
            raw = self._client.embeddings.with_raw_response.create(**params)
        return self._parse(raw.http_response.content, len(texts))

    def _parse(self, content: bytes, expected: int) -> np.ndarray:
        """Read vectors from a response body, accepting base64 or float lists and an optional ``index``."""
        try:
            payload = json.loads(content)
        except ValueError:
            raise EmbeddingError(
                f"{self._where} answered with something that is not JSON; check that OPENAI_BASE_URL is the API root "
                f"of an OpenAI-compatible server (usually ending in /v1)",
                setting="OPENAI_BASE_URL",
                secrets=[self._api_key],
            ) from None
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise EmbeddingError(
                f"{self._where} answered without a 'data' list; check that OPENAI_BASE_URL points at an "
                f"OpenAI-compatible /v1 API",
                setting="OPENAI_BASE_URL",
            )
        if len(data) != expected:
            raise EmbeddingError(
                f"{self._where} returned {len(data)} embeddings for {expected} inputs with model {self.model}; "
                f"lower EMBEDDING_BATCH_SIZE if the server caps batch sizes",
                setting="EMBEDDING_BATCH_SIZE",
            )
        rows = np.empty((expected, self.dimensions), dtype=np.float32)
        filled = np.zeros(expected, dtype=bool)
        for position, item in enumerate(data):
            vector = self._vector(item)
            if len(vector) != self.dimensions:
                raise EmbeddingError(
                    f"model {self.model} returned {len(vector)} dims but EMBEDDING_DIMENSIONS={self.dimensions}; "
                    f"set EMBEDDING_DIMENSIONS={len(vector)}"
                    + ("" if self._send_dimensions else " (this model does not accept a dimensions parameter)"),
                    setting="EMBEDDING_DIMENSIONS",
                )
            index = item.get("index", position) if isinstance(item, dict) else position
            if not isinstance(index, int) or not 0 <= index < expected or filled[index]:
                raise EmbeddingError(
                    f"{self._where} returned an embedding with a bad index {index!r}; check OPENAI_BASE_URL",
                    setting="OPENAI_BASE_URL",
                )
            rows[index] = vector
            filled[index] = True
        if not np.isfinite(rows).all():
            raise EmbeddingError(
                f"model {self.model} returned non-finite numbers; check EMBEDDING_MODEL", setting="EMBEDDING_MODEL"
            )
        return l2_normalize(rows)

    def _vector(self, item: object) -> np.ndarray:
        embedding = item.get("embedding") if isinstance(item, dict) else None
        if isinstance(embedding, str):
            try:
                return np.frombuffer(base64.b64decode(embedding, validate=True), dtype="<f4")
            except (binascii.Error, ValueError):
                pass
        elif isinstance(embedding, list):
            try:
                return np.asarray(embedding, dtype=np.float32).reshape(-1)
            except (TypeError, ValueError):
                pass
        raise EmbeddingError(
            f"{self._where} returned an embedding that is neither a float list nor base64 float32; "
            f"check OPENAI_BASE_URL",
            setting="OPENAI_BASE_URL",
        )

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        sleep = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s: %s on attempt %d of %d; retrying in %.2f s",
            self._where,
            self._describe_failure(exc),
            state.attempt_number,
            self.max_retries + 1,
            sleep,
        )

    def _describe_failure(self, exc: BaseException | None) -> str:
        if isinstance(exc, openai.APIStatusError):
            detail = error_detail(exc)
            text = f"HTTP {exc.status_code}" + (f" ({detail})" if detail else "")
        elif isinstance(exc, openai.APITimeoutError):
            text = f"timed out after {self.timeout_s:g} s"
        elif isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            text = f"connection failed ({type(cause).__name__})"
        else:
            text = type(exc).__name__ if exc else "unknown failure"
        return scrub_secrets(text, [self._api_key])

    def _exhausted(self, exc: BaseException | None, attempts: int, inputs: int) -> EmbeddingError:
        """Build the error for a batch whose retries ran out."""
        tail = f"on {attempts} attempts for a batch of {inputs} inputs"
        if isinstance(exc, openai.APIStatusError):
            detail = error_detail(exc)
            detail = f" ({detail})" if detail else ""
            if exc.status_code == 429:
                return EmbeddingError(
                    f"{self._where} returned 429 (rate limited) {tail}{detail}. The inputs stay pending for the next "
                    f"run; lower EMBEDDING_CONCURRENCY or EMBEDDING_BATCH_SIZE, or raise EMBEDDING_MAX_RETRIES "
                    f"(now {self.max_retries}).",
                    setting="EMBEDDING_CONCURRENCY",
                    status=429,
                    attempts=attempts,
                    retryable=True,
                    secrets=[self._api_key],
                )
            return EmbeddingError(
                f"{self._where} returned {exc.status_code} {tail}{detail}. The inputs stay pending for the next run; "
                f"try again later or raise EMBEDDING_MAX_RETRIES (now {self.max_retries}).",
                setting="EMBEDDING_MAX_RETRIES",
                status=exc.status_code,
                attempts=attempts,
                retryable=True,
                secrets=[self._api_key],
            )
        if isinstance(exc, openai.APITimeoutError):
            return EmbeddingError(
                f"{self._where} timed out (after {self.timeout_s:g} s per request) {tail}. The inputs stay pending; "
                f"lower EMBEDDING_BATCH_SIZE or check the server's load.",
                setting="EMBEDDING_BATCH_SIZE",
                attempts=attempts,
                retryable=True,
            )
        target = "OpenAI" if self._is_openai else f"the embedding server at {self._host}"
        return EmbeddingError(
            f"Could not connect to {target} {tail} ({self._describe_failure(exc)}). Check OPENAI_BASE_URL and the "
            f"network; the inputs stay pending for the next run.",
            setting="OPENAI_BASE_URL",
            attempts=attempts,
            retryable=True,
            secrets=[self._api_key],
        )

    def _rejected(self, exc: openai.APIStatusError) -> EmbeddingError:
        """Build the error for a response that retrying cannot fix."""
        status = exc.status_code
        detail = error_detail(exc)
        suffix = f" Server said: {detail}" if detail else ""
        if status == 401:
            # The server's text may quote part of the key, so it is left out entirely.
            return EmbeddingError(
                f"{self._where} rejected the API key (401 Unauthorized). Set OPENAI_API_KEY to a valid key.",
                setting="OPENAI_API_KEY",
                status=status,
                secrets=[self._api_key],
            )
        if status == 429:
            return EmbeddingError(
                f"{self._where} refused the request: quota exhausted (429 insufficient_quota). Check the billing "
                f"of the account behind OPENAI_API_KEY.{suffix}",
                setting="OPENAI_API_KEY",
                status=status,
                secrets=[self._api_key],
            )
        if status == 403:
            return EmbeddingError(
                f"{self._where} denied access (403) to model {self.model}. Check that the key in OPENAI_API_KEY may "
                f"use it, or change EMBEDDING_MODEL.{suffix}",
                setting="OPENAI_API_KEY",
                status=status,
                secrets=[self._api_key],
            )
        if status == 404:
            where_hint = (
                "" if self._is_openai else ", and check that OPENAI_BASE_URL is the API root (usually ending in /v1)"
            )
            return EmbeddingError(
                f"{self._where} does not know model {self.model!r} (404). Set EMBEDDING_MODEL to an embedding model "
                f"it serves{where_hint}.{suffix}",
                setting="EMBEDDING_MODEL",
                status=status,
                secrets=[self._api_key],
            )
        lowered = detail.lower()
        if status in (400, 422) and "dimension" in lowered:
            setting = "EMBEDDING_DIMENSIONS"
            advice = f"Check EMBEDDING_DIMENSIONS ({self.dimensions}) for model {self.model}."
        elif status in (400, 413, 422) and any(word in lowered for word in ("items", "array", "batch size")):
            setting = "EMBEDDING_BATCH_SIZE"
            advice = f"Lower EMBEDDING_BATCH_SIZE (now {self.batch_size})."
        elif status in (400, 413, 422) and ("token" in lowered or "context" in lowered or "too large" in lowered):
            setting = "EMBEDDING_MAX_BATCH_TOKENS"
            advice = (
                f"Lower EMBEDDING_MAX_BATCH_TOKENS (now {self.max_batch_tokens}) or EMBEDDING_BATCH_SIZE "
                f"(now {self.batch_size})."
            )
        else:
            setting = "EMBEDDING_MODEL"
            advice = f"Check EMBEDDING_MODEL ({self.model}) and OPENAI_BASE_URL."
        return EmbeddingError(
            f"{self._where} rejected the embedding request ({status}). {advice}{suffix}",
            setting=setting,
            status=status,
            secrets=[self._api_key],
        )


def _host_of(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{host}:{parts.port}" if parts.port else host


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _check(condition: object, message: str, setting: str | None) -> None:
    if not condition:
        raise EmbeddingError(message, setting=setting)
