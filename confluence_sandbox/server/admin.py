"""The admin API under ``/_sandbox/`` (no auth, loopback clients only, never faulted or counted)."""

from __future__ import annotations

import ipaddress
from dataclasses import asdict
from typing import Any

from confluence_sandbox.corpus import CorpusError
from confluence_sandbox.server.base import ApiError, BaseHandler, _json, _Query


class AdminApi(BaseHandler):
    """Answers ``/_sandbox/...`` with the :class:`~confluence_sandbox.server.SandboxServer` admin operations."""

    def _admin(self, method: str, path: str, raw_query: str, raw_body: bytes) -> None:
        try:
            if not is_loopback_client(self.client_address[0]):
                raise ApiError(403, "The admin API answers loopback clients only")
            payload = self._admin_dispatch(method, path.rstrip("/"), _Query(raw_query), raw_body)
            status = 200
        except ApiError as exc:
            status, payload = exc.status, {"error": exc.message}
        except CorpusError as exc:
            status, payload = exc.status, {"error": exc.message}
        except (ValueError, TypeError, KeyError) as exc:
            status, payload = 400, {"error": str(exc)}
        self._send(status, _json(payload))

    def _admin_dispatch(self, method: str, path: str, q: _Query, raw: bytes) -> Any:
        s = self.sandbox
        parts = path.split("/")[2:]  # after "", "_sandbox"
        data = self._json_body(raw) if method in ("POST", "PUT") else {}
        if parts in ([], ["info"]) and method == "GET":
            return s.info()
        if parts == ["stats"] and method == "GET":
            return s.stats()
        if parts == ["stats", "reset"] and method == "POST":
            s.reset_stats()
            return s.stats()
        if parts == ["faults"]:
            if method == "GET":
                return s.faults()
            if method == "POST":
                return s.set_faults(**data)
            if method == "DELETE":
                return s.reset_faults()
        if parts == ["faults", "reset"] and method == "POST":
            return s.reset_faults()
        if parts == ["clock"]:
            if method == "GET":
                return s.clock.snapshot()
            if method == "POST":
                unknown = set(data) - {"now", "advance_s", "frozen"}
                if unknown:
                    raise ValueError(f"unknown clock field(s): {', '.join(sorted(unknown))}")
                return s.set_clock(data.get("now"), advance_s=data.get("advance_s"), frozen=data.get("frozen"))
        if parts == ["pages"]:
            if method == "GET":
                statuses = q.all("status") or ["current"]
                wanted = None if "any" in statuses else set(statuses)
                pages = s.corpus.pages(space_key=q.get("space"), statuses=wanted)
                return {"size": len(pages), "results": [s.page_record(p) for p in pages]}
            if method == "POST":
                return s.create_page(
                    _required(data, "space"),
                    _required(data, "title"),
                    parent_id=data.get("parent_id"),
                    body=data.get("body"),
                    labels=data.get("labels") or (),
                    author=data.get("author"),
                )
        if len(parts) == 2 and parts[0] == "pages":
            page_id = parts[1]
            if method == "DELETE":
                return {"deleted": s.delete_page(page_id, cascade=q.flag("cascade"))}
            if method == "GET":
                page = s.corpus.page(page_id)
                if page is None:
                    raise ApiError(404, f"No page {page_id}")
                kw = s.corpus.keywords(page.id)
                return s.page_record(page) | {"keywords": None if kw is None else asdict(kw)}
        if len(parts) == 3 and parts[0] == "pages" and method == "POST":
            page_id, action = parts[1], parts[2]
            if action == "edit":
                return s.edit_page(
                    page_id,
                    title=data.get("title"),
                    body=data.get("body"),
                    message=data.get("message") or "",
                    minor_edit=bool(data.get("minor_edit", False)),
                    author=data.get("author"),
                )
            if action == "move":
                return s.move_page(
                    page_id,
                    parent_id=data.get("parent_id"),
                    space=data.get("space"),
                    bump_version=bool(data.get("bump_version", False)),
                )
            if action == "status":
                return s.set_status(
                    page_id,
                    _required(data, "status"),
                    cascade=bool(data.get("cascade", False)),
                    bump_version=bool(data.get("bump_version", False)),
                )
        raise ApiError(404, f"No admin operation {method} {path}")


def is_loopback_client(host: str) -> bool:
    """Whether a client address may use the admin API (loopback only, IPv4-mapped IPv6 included)."""
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool((mapped or address).is_loopback)


def _required(data: dict[str, Any], name: str) -> Any:
    value = data.get(name)
    if value in (None, ""):
        raise ValueError(f"{name} is required")
    return value
