"""HTTP plumbing shared by the REST and admin APIs: errors, query parameters, JSON, and sending responses."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from confluence_sandbox.server.handler import _HTTPServer
    from confluence_sandbox.server.sandbox import SandboxServer

_JSON_TYPE = "application/json;charset=UTF-8"


class ApiError(Exception):
    """An error answered with a Confluence-style JSON body."""

    def __init__(self, status: int, message: str, headers: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers)


def error_body(status: int, message: str, *, authorized: bool = True) -> dict[str, Any]:
    """Return the JSON body Confluence sends with an error status."""
    return {
        "statusCode": status,
        "data": {
            "authorized": authorized,
            "valid": True,
            "allowedInReadOnlyMode": True,
            "errors": [],
            "successful": False,
        },
        "message": message,
        "reason": HTTPStatus(status).phrase,
    }


class _Query:
    """Query parameters (``parse_qs`` output) with Confluence-style accessors."""

    def __init__(self, raw: str) -> None:
        self.params = parse_qs(raw, keep_blank_values=True)

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self.params.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list[str]:
        out: list[str] = []
        for value in self.params.get(name, []):
            out.extend(v.strip() for v in value.split(",") if v.strip())
        return out

    def expand(self) -> str:
        return ",".join(self.params.get("expand", []))

    def integer(self, name: str, default: int, minimum: int = 0) -> int:
        raw = self.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, f"{name} must be an integer but was {raw!r}") from None
        if value < minimum:
            raise ApiError(400, f"{name} must be >= {minimum}")
        return value

    def flag(self, name: str) -> bool:
        return (self.get(name) or "").lower() == "true"


def _json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class BaseHandler(BaseHTTPRequestHandler):
    """A request handler that answers with Confluence-style JSON and knows the sandbox it serves."""

    protocol_version = "HTTP/1.1"
    server_version = "ConfluenceSandbox/1.0"
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Log a request to stderr when the sandbox logs requests."""
        if self.server.sandbox.log_requests:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    # --- plumbing ------------------------------------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = _JSON_TYPE,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        lines = [
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
            f"Date: {formatdate(usegmt=True)}",
            f"Server: {self.server_version}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
            "Connection: close" if self.close_connection else "Connection: keep-alive",
        ]
        lines.extend(f"{k}: {v}" for k, v in headers)
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head + body)
        if self.server.sandbox.log_requests:
            self.log_request(status, len(body))

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            self.close_connection = True
            return b""
        return self.rfile.read(n) if n > 0 else b""

    @property
    def sandbox(self) -> SandboxServer:
        """The sandbox this handler serves."""
        return self.server.sandbox

    def _json_body(self, raw: bytes) -> dict[str, Any]:
        try:
            data = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "The request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "The request body must be a JSON object")
        return data
