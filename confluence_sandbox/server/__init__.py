"""A local Confluence (REST v1 subset) on the standard library's ``ThreadingHTTPServer``.

URL layout (``P`` is the port; ``CTX`` is ``/wiki`` on Cloud, empty or ``--context-path`` on Data Center):

- ``http://127.0.0.1:P/CTX/rest/api/...`` and, as well, ``http://127.0.0.1:P/rest/api/...``: the REST API
  (``space``, ``space/{key}``, ``content``, ``content/search``, ``search``, ``content/{id}``, ``content/{id}/child``,
  ``…/child/page``, ``…/child/attachment``, ``…/label``, ``…/history``, ``user``, ``user/current``; ``POST content``
  and ``PUT content/{id}`` for writers), plus ``/download/attachments/{id}/{name}``.
- ``http://127.0.0.1:P/_sandbox/...``: the admin API (no auth, loopback clients only, never faulted or counted).

Every REST request passes, in order: the ``latency_ms`` fault, authentication (Basic email + API token, or Bearer
personal access token; else 401), the rate limit (429 or, on Data Center, optionally 403), the ``error_rate`` fault
(random 5xx) and the ``fail_endpoint`` fault, then the endpoint, which answers 500 when it would include the body
of a page in ``fail_page_ids``, and 404 (or leaves out of search) what a ``hidden_spaces`` fault hides.
"""

from confluence_sandbox.server.admin import is_loopback_client
from confluence_sandbox.server.base import ApiError, error_body
from confluence_sandbox.server.rest import Route
from confluence_sandbox.server.sandbox import ADMIN_EXPAND, DEFAULT_EMAIL, DEFAULT_TOKEN, SandboxServer
from confluence_sandbox.server.search import decode_cursor, encode_cursor

__all__ = [
    "ADMIN_EXPAND",
    "DEFAULT_EMAIL",
    "DEFAULT_TOKEN",
    "ApiError",
    "Route",
    "SandboxServer",
    "decode_cursor",
    "encode_cursor",
    "error_body",
    "is_loopback_client",
]
