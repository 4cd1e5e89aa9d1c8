"""A loopback Slack-style incoming webhook: records what is posted, answers like Slack, can be told to fail first."""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler
from typing import Any

from confluence_sandbox.http import LoopbackHTTPServer

# Slack's own limits on what it accepts (https://api.slack.com/reference/block-kit/blocks).
_HEADER_MAX = 150
_SECTION_TEXT_MAX = 3000
_FIELDS_MAX = 10
_FIELD_MAX = 2000


def _payload_problem(payload: Any) -> str | None:
    """Why Slack would answer ``invalid_payload`` / ``invalid_blocks``, or None."""
    if not isinstance(payload, dict) or not isinstance(payload.get("text"), str) or not payload["text"].strip():
        return "invalid_payload"
    for block in payload.get("blocks", []):
        kind = block.get("type")
        text = (block.get("text") or {}).get("text", "")
        if kind == "header" and (block["text"].get("type") != "plain_text" or len(text) > _HEADER_MAX):
            return "invalid_blocks"
        if kind == "section":
            fields = block.get("fields", [])
            if len(text) > _SECTION_TEXT_MAX or len(fields) > _FIELDS_MAX:
                return "invalid_blocks"
            if any(len(f.get("text", "")) > _FIELD_MAX for f in fields) or not (text or fields):
                return "invalid_blocks"
        if kind not in {"header", "section", "context", "actions", "divider"}:
            return "invalid_blocks"
    return None


class WebhookServer:
    """A webhook on 127.0.0.1 (free port) that stores every JSON body it accepts.

    Attributes:
        url: where to post, with a token-like path as Slack's URLs have.
        received: the payloads accepted, in order.
        attempts: every request's (status answered, body) in order, accepted or not.
    """

    token_path = "/services/T000/B000/s3cr3t-hook-token"

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.attempts: list[tuple[int, bytes]] = []
        self._fail: deque[tuple[int, dict[str, str]]] = deque()
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, headers, answer = owner._answer(self.path, self.headers.get("Content-Type", ""), body)
                data = answer.encode()
                self.send_response(status)
                for name, value in {**headers, "Content-Type": "text/plain", "Content-Length": str(len(data))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self._server = LoopbackHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{self.token_path}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _answer(self, path: str, content_type: str, body: bytes) -> tuple[int, dict[str, str], str]:
        with self._lock:
            if self._fail:
                status, headers = self._fail.popleft()
                self.attempts.append((status, body))
                return status, headers, "rate_limited" if status == 429 else "internal_error"
            if path != self.token_path:
                self.attempts.append((404, body))
                return 404, {}, "no_service"
            try:
                payload = json.loads(body)
            except ValueError:
                payload = None
            problem = "invalid_payload" if "application/json" not in content_type else _payload_problem(payload)
            if problem:
                self.attempts.append((400, body))
                return 400, {}, problem
            self.attempts.append((200, body))
            self.received.append(payload)
            return 200, {}, "ok"

    def fail_next(self, *statuses: int, retry_after: str | None = None) -> None:
        """Answer the next requests with these statuses (a 429 carries ``Retry-After`` when given)."""
        with self._lock:
            for status in statuses:
                self._fail.append((status, {"Retry-After": retry_after} if retry_after else {}))

    def start(self) -> WebhookServer:
        """Start serving; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close open connections."""
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
