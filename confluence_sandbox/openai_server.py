"""A loopback HTTP server that speaks OpenAI's ``/v1/embeddings`` API, for tests and benchmarks.

It behaves like OpenAI where the pipeline can tell: bearer-key auth with OpenAI's 401 body, the request limits
(2048 inputs, 8192 tokens per input, 300,000 tokens per request, no empty strings), ``dimensions`` only for
text-embedding-3 models, ``encoding_format`` float or base64 (the openai SDK asks for base64 by default), and the
response and error JSON shapes. Vectors are deterministic: the local offline embedder at the requested size.

Every embeddings request is recorded (model, input count, tokens, dimensions, status, input hashes), and faults can
be injected from Python or over HTTP:

* ``POST /_fake/faults`` with ``{"fail_next_with": [429], "retry_after": 0.2, "always_status": 500,
  "latency_ms": 50, "retry_header": "retry-after"}``; status 0 in ``fail_next_with`` drops the connection;
* ``GET /_fake/stats`` and ``POST /_fake/reset``.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import logging
import math
import socket
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, Final, Literal

import numpy as np

from confluence_pipeline.convert.tokens import count_tokens, get_encoding
from confluence_pipeline.embed.local import LocalEmbedder
from confluence_sandbox.http import LoopbackHTTPServer

__all__ = ["DEFAULT_MODELS", "FakeOpenAIServer", "RecordedRequest"]

log = logging.getLogger(__name__)

# Native sizes of OpenAI's embedding models; other accepted models use the server's default ``dimensions``.
DEFAULT_MODELS: Final[dict[str, int]] = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
MAX_INPUTS: Final = 2048
MAX_INPUT_TOKENS: Final = 8192
MAX_REQUEST_TOKENS: Final = 300_000
_DROP: Final = 0

RetryHeader = Literal["retry-after", "retry-after-ms", "ratelimit-reset", "none"]

_ERROR_TEXT: Final[dict[int, tuple[str, str]]] = {
    400: ("invalid_request_error", "Bad request."),
    401: ("invalid_request_error", "Unauthorized."),
    403: ("invalid_request_error", "You are not allowed to access this resource."),
    404: ("invalid_request_error", "Not found."),
    408: ("server_error", "Request timed out."),
    409: ("server_error", "Conflict, please retry."),
    429: ("requests", "Rate limit reached for requests. Please try again later."),
    500: ("server_error", "The server had an error while processing your request. Sorry about that!"),
    502: ("server_error", "Bad gateway."),
    503: ("server_error", "The engine is currently overloaded, please try again later."),
    504: ("server_error", "Gateway timeout."),
}


@dataclass(frozen=True)
class RecordedRequest:
    """One ``/v1/embeddings`` request as the server saw it.

    Attributes:
        model: The requested model (None when missing).
        inputs: Number of inputs in the request.
        tokens: Their cl100k token count.
        dimensions: The ``dimensions`` parameter, if sent.
        encoding_format: The ``encoding_format`` parameter, if sent.
        status: The HTTP status the server answered (0: connection dropped on purpose).
        input_hashes: sha256 hex of each input text, in order (equals the chunks' content hashes).
        texts: The input texts, when the server records them.
    """

    model: str | None
    inputs: int
    tokens: int
    dimensions: int | None
    encoding_format: str | None
    status: int
    input_hashes: tuple[str, ...] = ()
    texts: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-serialisable summary (texts and hashes left out)."""
        data = asdict(self)
        data.pop("texts")
        data.pop("input_hashes")
        return data


@dataclass(frozen=True)
class _Fault:
    status: int
    retry_after: float | None
    retry_header: RetryHeader


class _ApiError(Exception):
    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param


class _Server(LoopbackHTTPServer):
    fake: FakeOpenAIServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeOpenAI/1.0"
    # Idle keep-alive connections give up their thread after this long.
    timeout = 30
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fake openai: " + format, *args)

    def do_GET(self) -> None:
        """Serve stats and the model list."""
        self._read_body()
        fake = self.server.fake
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/_fake/stats":
            self._send_json(200, fake.stats())
        elif path in ("/v1/models", "/models"):
            denied = self._auth_error()
            if denied is not None:
                self._send_error(denied)
                return
            models = fake.models or {}
            self._send_json(
                200,
                {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "fake"} for m in models]},
            )
        else:
            self._send_error(_ApiError(404, f"Unknown path {path}"))

    def do_POST(self) -> None:
        """Serve embeddings and the fault-injection endpoints."""
        body = self._read_body()
        fake = self.server.fake
        path = self.path.split("?", 1)[0].rstrip("/")
        try:
            if path == "/_fake/faults":
                fake.set_faults(**_json_object(body))
                self._send_json(200, {"ok": True})
            elif path == "/_fake/reset":
                fake.reset()
                self._send_json(200, {"ok": True})
            elif path in ("/v1/embeddings", "/embeddings"):
                self._embeddings(body)
            else:
                raise _ApiError(404, f"Unknown path {path}")
        except _ApiError as err:
            self._send_error(err)
        except (TypeError, ValueError) as err:
            self._send_error(_ApiError(400, str(err)))

    def _embeddings(self, body: bytes) -> None:
        fake = self.server.fake
        denied = self._auth_error()
        if denied is not None:
            # Record before answering, so a client that has its answer always finds the record.
            fake._record(RecordedRequest(None, 0, 0, None, None, 401))
            raise denied
        latency = fake._latency_s()
        if latency:
            time.sleep(latency)
        fault = fake._next_fault()
        if fault is not None:
            fake._record(RecordedRequest(None, 0, 0, None, None, fault.status))
            if fault.status == _DROP:
                self.close_connection = True
                self.request.shutdown(socket.SHUT_RDWR)
                return
            self._send_fault(fault)
            return
        request = _json_object(body)
        try:
            status, payload, record = fake._embed(request)
        except _ApiError as err:
            fake._record(_summary(request, err.status))
            raise
        fake._record(record)
        self._send_json(status, payload)

    def _auth_error(self) -> _ApiError | None:
        """Check the bearer key; return OpenAI's 401 error when it is missing or wrong."""
        expected = self.server.fake.api_key
        if expected is None:
            return None
        scheme, _, given = self.headers.get("Authorization", "").partition(" ")
        given = given.strip()
        if scheme.lower() == "bearer" and given == expected:
            return None
        message = (
            f"Incorrect API key provided: {_mask_key(given)}. You can find your API key at "
            "https://platform.openai.com/account/api-keys."
            if given
            else "You didn't provide an API key. You need to provide your API key in an Authorization header "
            "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
        )
        return _ApiError(401, message, code="invalid_api_key")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send_fault(self, fault: _Fault) -> None:
        kind, message = _ERROR_TEXT.get(fault.status, ("server_error", f"Injected HTTP {fault.status}."))
        headers: dict[str, str] = {}
        if fault.retry_after is not None:
            seconds = fault.retry_after
            if fault.retry_header == "retry-after":
                headers["retry-after"] = f"{seconds:g}"
                headers["retry-after-ms"] = str(round(seconds * 1000))
            elif fault.retry_header == "retry-after-ms":
                headers["retry-after-ms"] = str(round(seconds * 1000))
            elif fault.retry_header == "ratelimit-reset":
                headers["x-ratelimit-limit-requests"] = "3000"
                headers["x-ratelimit-remaining-requests"] = "0"
                headers["x-ratelimit-reset-requests"] = _duration(seconds)
                headers["x-ratelimit-limit-tokens"] = "1000000"
                headers["x-ratelimit-remaining-tokens"] = "999000"
                headers["x-ratelimit-reset-tokens"] = "1ms"
        self._send_error(
            _ApiError(fault.status, message, code=None if fault.status != 429 else "rate_limit_exceeded"),
            kind=kind,
            headers=headers,
        )

    def _send_error(self, err: _ApiError, *, kind: str | None = None, headers: dict[str, str] | None = None) -> None:
        error_type = kind or ("server_error" if err.status >= 500 else "invalid_request_error")
        payload = {"error": {"message": err.message, "type": error_type, "param": err.param, "code": err.code}}
        self._send_json(err.status, payload, headers)

    def _send_json(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class FakeOpenAIServer:
    """Loopback OpenAI-compatible embeddings server with request recording and fault injection.

    Attributes:
        api_key: The key clients must send as ``Authorization: Bearer``; None accepts any request.
        dimensions: Vector size for accepted models without a known native size.
        models: Accepted models and their native sizes; None accepts any model name.
        record_inputs: Keep the input texts in the records (hashes are always kept).
        accept_base64: Serve ``encoding_format=base64`` (False answers it with a 400).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = "sk-test-local",
        *,
        dimensions: int = 1536,
        models: Iterable[str] | dict[str, int] | None = None,
        record_inputs: bool = True,
        accept_base64: bool = True,
    ) -> None:
        """Configure the server; ``start()`` binds it.

        Args:
            host: A loopback address (``127.0.0.1``, ``localhost`` or ``::1``); anything else is refused.
            port: TCP port; 0 picks a free one (see ``port`` after ``start()``).
            api_key: Key to require; None disables the auth check (like a local Ollama).
            dimensions: Vector size for models without a known native size, when no ``dimensions`` is sent.
            models: Models to accept. None (default): OpenAI's three embedding models. A dict maps names to
                native sizes; an iterable of names gives names OpenAI does not have the size ``dimensions``. Call
                ``accept_any_model()`` to accept every name, like a permissive proxy.
            record_inputs: Keep input texts in the records (turn off for large benchmarks).
            accept_base64: Serve ``encoding_format=base64``. False answers it with a 400, like older vLLM and
                llama.cpp servers, to test clients' fallback to float.
        """
        if not _is_loopback(host):
            raise ValueError(f"FakeOpenAIServer listens on loopback only, not {host!r}")
        # Binding "localhost" could pick ::1 while clients try 127.0.0.1 first; one fixed address avoids that.
        self.host = "127.0.0.1" if host == "localhost" else host
        self._requested_port = port
        self.api_key = api_key
        self.dimensions = dimensions
        if models is None:
            self.models: dict[str, int] | None = dict(DEFAULT_MODELS)
        elif isinstance(models, dict):
            self.models = dict(models)
        else:
            self.models = {name: DEFAULT_MODELS.get(name, dimensions) for name in models}
        self.record_inputs = record_inputs
        self.accept_base64 = accept_base64
        self._lock = threading.Lock()
        self._records: list[RecordedRequest] = []
        self._faults: deque[_Fault] = deque()
        self._always: _Fault | None = None
        self._latency = 0.0
        self._embedders: dict[int, LocalEmbedder] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -------------------------------------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        """Bind the port and serve in a daemon thread.

        Returns:
            The server itself, for chaining.
        """
        if self._server is not None:
            return self
        server_class = (
            type("_Server6", (_Server,), {"address_family": socket.AF_INET6}) if ":" in self.host else _Server
        )
        server = server_class((self.host, self._requested_port), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()
        log.info("Fake OpenAI embeddings server listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving, close open keep-alive connections and release the port."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (after ``start()``)."""
        if self._server is None:
            raise RuntimeError("FakeOpenAIServer is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What a client puts in OPENAI_BASE_URL: ``http://127.0.0.1:PORT/v1``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    @property
    def admin_url(self) -> str:
        """Root of the fault-injection endpoints: ``http://127.0.0.1:PORT/_fake``."""
        return self.base_url.removesuffix("/v1") + "/_fake"

    # fault injection and recording -----------------------------------------------------------------------------

    def accept_any_model(self) -> None:
        """Accept every model name, each with the server's default ``dimensions`` (like a permissive proxy)."""
        with self._lock:
            self.models = None

    def fail_next_with(
        self,
        statuses: Iterable[int],
        *,
        retry_after: float | None = None,
        retry_header: RetryHeader = "retry-after",
    ) -> None:
        """Answer the next embeddings requests with these statuses, one per request, then serve normally.

        Args:
            statuses: HTTP statuses, e.g. ``[429]`` or ``[500] * 10``; 0 drops the connection without a response.
            retry_after: Seconds to advertise in the rate-limit headers, if any.
            retry_header: Which headers carry ``retry_after``: ``retry-after`` (with ``retry-after-ms``, like
                OpenAI), ``retry-after-ms`` only, ``ratelimit-reset`` (``x-ratelimit-reset-requests`` only) or
                ``none``.
        """
        with self._lock:
            self._faults.extend(_Fault(int(status), retry_after, retry_header) for status in statuses)

    def always_status(
        self,
        status: int | None,
        *,
        retry_after: float | None = None,
        retry_header: RetryHeader = "retry-after",
    ) -> None:
        """Answer every embeddings request with this status (a storm) until called with None.

        Args:
            status: HTTP status, or None to stop the storm.
            retry_after: Seconds to advertise, if any.
            retry_header: Which headers carry ``retry_after`` (see ``fail_next_with``).
        """
        with self._lock:
            self._always = None if status is None else _Fault(int(status), retry_after, retry_header)

    def set_latency(self, latency_ms: float) -> None:
        """Delay every embeddings response by this many milliseconds.

        Args:
            latency_ms: Delay in milliseconds (0 for none).
        """
        with self._lock:
            self._latency = max(0.0, float(latency_ms)) / 1000.0

    def set_faults(
        self,
        *,
        fail_next_with: Iterable[int] | None = None,
        retry_after: float | None = None,
        retry_header: RetryHeader = "retry-after",
        always_status: int | Literal[False] | None = False,
        latency_ms: float | None = None,
    ) -> None:
        """Set several faults at once; the body of ``POST /_fake/faults`` maps onto these arguments.

        Args:
            fail_next_with: Statuses for the next requests (see ``fail_next_with``).
            retry_after: Seconds to advertise with those statuses and with ``always_status``.
            retry_header: Which headers carry ``retry_after``.
            always_status: Status for every request, None to clear it, False (default) to leave it as is.
            latency_ms: Response delay in milliseconds, None to leave it as is.
        """
        if retry_header not in ("retry-after", "retry-after-ms", "ratelimit-reset", "none"):
            raise ValueError(f"unknown retry_header {retry_header!r}")
        if fail_next_with is not None:
            self.fail_next_with(fail_next_with, retry_after=retry_after, retry_header=retry_header)
        if always_status is not False:
            self.always_status(always_status, retry_after=retry_after, retry_header=retry_header)
        if latency_ms is not None:
            self.set_latency(latency_ms)

    def reset(self) -> None:
        """Clear faults, latency and records."""
        with self._lock:
            self._records.clear()
            self._faults.clear()
            self._always = None
            self._latency = 0.0

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every embeddings request received, in arrival order (a copy)."""
        with self._lock:
            return list(self._records)

    @property
    def batches(self) -> list[RecordedRequest]:
        """The embeddings requests that were answered with vectors (status 200)."""
        return [r for r in self.requests if r.status == 200]

    def stats(self) -> dict[str, Any]:
        """Summarise the recorded requests (also served at ``GET /_fake/stats``).

        Returns:
            requests, requests by status, successful inputs and tokens, pending injected faults, and the batches.
        """
        with self._lock:
            records = list(self._records)
            pending = len(self._faults)
            storm = self._always.status if self._always else None
        ok = [r for r in records if r.status == 200]
        return {
            "requests": len(records),
            "by_status": {str(k): v for k, v in sorted(Counter(r.status for r in records).items())},
            "inputs": sum(r.inputs for r in ok),
            "tokens": sum(r.tokens for r in ok),
            "pending_faults": pending,
            "always_status": storm,
            "batches": [r.to_json() for r in records],
        }

    # internals used by the handler ------------------------------------------------------------------------------

    def _record(self, record: RecordedRequest) -> None:
        with self._lock:
            self._records.append(record)

    def _latency_s(self) -> float:
        with self._lock:
            return self._latency

    def _next_fault(self) -> _Fault | None:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
            return self._always

    def _embedder(self, dimensions: int) -> LocalEmbedder:
        with self._lock:
            embedder = self._embedders.get(dimensions)
            if embedder is None:
                embedder = self._embedders[dimensions] = LocalEmbedder(dimensions, log_selection=False)
            return embedder

    def _embed(self, request: dict[str, Any]) -> tuple[int, dict[str, Any], RecordedRequest]:
        """Validate a request like OpenAI does and compute its response."""
        model = request.get("model")
        if not isinstance(model, str) or not model:
            raise _ApiError(400, "you must provide a model parameter", param="model")
        with self._lock:
            models = None if self.models is None else dict(self.models)
        if models is not None and model not in models:
            raise _ApiError(
                404, f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found"
            )
        native = models[model] if models is not None else self.dimensions
        texts, token_counts = _inputs(request.get("input"))
        dimensions = request.get("dimensions")
        if dimensions is not None:
            if "text-embedding-3" not in model and model in DEFAULT_MODELS:
                raise _ApiError(400, "This model does not support specifying dimensions.", param="dimensions")
            if not isinstance(dimensions, int) or isinstance(dimensions, bool) or not 1 <= dimensions <= native:
                raise _ApiError(
                    400, f"Invalid value for 'dimensions': must be between 1 and {native}.", param="dimensions"
                )
        encoding = request.get("encoding_format")
        if encoding not in (None, "float", "base64"):
            raise _ApiError(
                400,
                f"Invalid value for 'encoding_format' = {encoding}. Supported values: ['float', 'base64'].",
                param="encoding_format",
            )
        if encoding == "base64" and not self.accept_base64:
            raise _ApiError(400, "base64 encoding is not currently supported", param="encoding_format")
        size = dimensions or native
        vectors = self._embedder(size).embed(texts)
        total = sum(token_counts)
        data: list[dict[str, Any]] = []
        for index, vector in enumerate(vectors):
            value: object = (
                base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
                if encoding == "base64"
                else vector.astype(np.float64).tolist()
            )
            data.append({"object": "embedding", "index": index, "embedding": value})
        payload = {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": total, "total_tokens": total},
        }
        record = RecordedRequest(
            model=model,
            inputs=len(texts),
            tokens=total,
            dimensions=dimensions,
            encoding_format=encoding,
            status=200,
            input_hashes=tuple(hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts),
            texts=tuple(texts) if self.record_inputs else None,
        )
        return 200, payload, record


def _inputs(raw: object) -> tuple[list[str], list[int]]:
    """Normalise ``input`` (string, strings, token ids, lists of token ids) and enforce OpenAI's limits."""
    if isinstance(raw, str):
        items: list[object] = [raw]
    elif isinstance(raw, list) and raw and all(isinstance(x, int) and not isinstance(x, bool) for x in raw):
        items = [raw]
    elif isinstance(raw, list) and raw:
        items = list(raw)
    else:
        raise _ApiError(400, "'input' must be a non-empty string or array", param="input")
    if len(items) > MAX_INPUTS:
        raise _ApiError(400, f"'input' must have at most {MAX_INPUTS} items, got {len(items)}", param="input")
    texts: list[str] = []
    counts: list[int] = []
    for position, item in enumerate(items):
        if isinstance(item, str):
            if item == "":
                raise _ApiError(400, f"'$.input[{position}]' is invalid: empty strings are not allowed", param="input")
            texts.append(item)
            counts.append(count_tokens(item))
        elif isinstance(item, list) and item and all(isinstance(x, int) and not isinstance(x, bool) for x in item):
            texts.append(get_encoding().decode(item))
            counts.append(len(item))
        else:
            raise _ApiError(400, f"'$.input[{position}]' is invalid", param="input")
        if counts[-1] > MAX_INPUT_TOKENS:
            raise _ApiError(
                400,
                f"This model's maximum context length is {MAX_INPUT_TOKENS} tokens, however you requested "
                f"{counts[-1]} tokens in input {position}. Please reduce your prompt.",
                param="input",
            )
    total = sum(counts)
    if total > MAX_REQUEST_TOKENS:
        raise _ApiError(
            400,
            f"Requested {total} tokens, max {MAX_REQUEST_TOKENS} tokens per request",
            code="max_tokens_per_request",
            param="input",
        )
    return texts, counts


def _summary(request: object, status: int) -> RecordedRequest:
    """Record what can be told about a rejected request."""
    if not isinstance(request, dict):
        return RecordedRequest(None, 0, 0, None, None, status)
    raw = request.get("input")
    inputs = len(raw) if isinstance(raw, list) else int(raw is not None)
    model = request.get("model") if isinstance(request.get("model"), str) else None
    dimensions = request.get("dimensions") if isinstance(request.get("dimensions"), int) else None
    encoding = request.get("encoding_format") if isinstance(request.get("encoding_format"), str) else None
    return RecordedRequest(model, inputs, 0, dimensions, encoding, status)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        raise _ApiError(400, "We could not parse the JSON body of your request.") from None
    if not isinstance(value, dict):
        raise _ApiError(400, "The request body must be a JSON object.")
    return value


def _mask_key(key: str) -> str:
    """Show a wrong key the way OpenAI does: a few characters at each end."""
    if len(key) <= 8:
        return "*" * len(key)
    return f"{key[:3]}{'*' * min(len(key) - 7, 20)}{key[-4:]}"


def _duration(seconds: float) -> str:
    """Format seconds like OpenAI's reset headers (``20ms``, ``1.5s``, ``6m0s``)."""
    if seconds < 1:
        return f"{max(1, math.ceil(seconds * 1000))}ms"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:g}s" if minutes else f"{rest:g}s"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
