"""The request handler: routes each request to the admin API or the REST API's resources."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from confluence_sandbox.http import LoopbackHTTPServer
from confluence_sandbox.server.admin import AdminApi
from confluence_sandbox.server.attachments import AttachmentApi
from confluence_sandbox.server.content import ContentApi
from confluence_sandbox.server.search import SearchApi
from confluence_sandbox.server.spaces import SpaceApi
from confluence_sandbox.server.users import UserApi

if TYPE_CHECKING:
    from confluence_sandbox.server.sandbox import SandboxServer


class _Handler(SpaceApi, ContentApi, AttachmentApi, SearchApi, UserApi, AdminApi):
    """Every request: the admin API under ``/_sandbox``, else the REST API (after the context path is stripped)."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        sandbox = self.server.sandbox
        split = urlsplit(self.path)
        path = unquote(split.path)
        raw_body = self._read_body()
        ctx = sandbox.context_path
        if ctx and (path == ctx or path.startswith(ctx + "/")):
            path = path[len(ctx) :] or "/"
        if path == "/_sandbox" or path.startswith("/_sandbox/"):
            self._admin(method, path, split.query, raw_body)
            return
        self._api(method, path, split.query, raw_body)


class _HTTPServer(LoopbackHTTPServer):
    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        super().__init__(address, _Handler)
