"""Plain records parsed from Confluence REST v1 JSON."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from confluence_pipeline.convert.references import extract_references

# Everything the pipeline asks Confluence for with a page's body, in one request.
PAGE_EXPAND = "body.storage,version,history,ancestors,space,metadata.labels,children.attachment"


@dataclass(frozen=True)
class SpaceRecord:
    """A Confluence space."""

    key: str
    space_id: int | None
    name: str
    space_type: str
    status: str
    web_url: str | None
    homepage_id: str | None


@dataclass(frozen=True)
class PageVersion:
    """The light view of a page returned by the change listing."""

    page_id: str
    version: int
    when: datetime
    status: str


@dataclass
class PageRecord:
    """A page as stored in the ``pages`` table."""

    page_id: str
    space_key: str
    title: str
    status: str
    version_number: int
    version_at: datetime
    version_author: str | None
    created_by: str | None
    created_at: datetime | None
    parent_id: str | None
    ancestors: list[dict[str, str]]
    path: str
    labels: list[str]
    attachments: list[dict[str, Any]]
    web_url: str | None
    jira_keys: list[str]
    mentions: list[str]
    body_storage: str
    content_hash: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


def parse_time(value: str | None) -> datetime | None:
    """Parse Confluence's ISO-8601 timestamps (``2024-07-30T07:08:44.839Z``)."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def user_ref(user: dict[str, Any] | None) -> str | None:
    """The stable reference of a user object: Cloud accountId, else Data Center userKey or username."""
    if not user:
        return None
    return user.get("accountId") or user.get("userKey") or user.get("username")


def parse_space(data: dict[str, Any], site_url: str) -> SpaceRecord:
    """Build a :class:`SpaceRecord` from a ``/rest/api/space`` item."""
    links = data.get("_links") or {}
    homepage = data.get("homepage") or {}
    return SpaceRecord(
        key=data["key"],
        space_id=data.get("id"),
        name=data.get("name") or data["key"],
        space_type=data.get("type") or "global",
        status=data.get("status") or "current",
        web_url=_web_url(site_url, links.get("webui")),
        homepage_id=str(homepage["id"]) if homepage.get("id") else None,
    )


def parse_page_version(data: dict[str, Any]) -> PageVersion:
    """Build a :class:`PageVersion` from a content item listed with ``expand=version``."""
    version = data.get("version") or {}
    when = parse_time(version.get("when"))
    if when is None or "number" not in version:
        raise ValueError(f"page {data.get('id')} was listed without version data")
    return PageVersion(
        page_id=str(data["id"]), version=int(version["number"]), when=when, status=data.get("status", "current")
    )


def _web_url(site_url: str, webui: str | None) -> str | None:
    if not webui:
        return None
    return urljoin(site_url.rstrip("/") + "/", webui.lstrip("/"))


def content_hash(title: str, body: str, attachments: list[dict[str, Any]]) -> str:
    """Hash of everything the Markdown of a page depends on: title, body and attachment links."""
    digest = hashlib.sha256()
    digest.update(title.encode())
    digest.update(b"\0")
    digest.update(body.encode())
    digest.update(b"\0")
    digest.update(json.dumps([[a["title"], a.get("download_url")] for a in attachments]).encode())
    return digest.hexdigest()


def parse_page(data: dict[str, Any], site_url: str) -> PageRecord:
    """Build a :class:`PageRecord` from a content object expanded with :data:`PAGE_EXPAND`.

    Args:
        data: the content JSON.
        site_url: the site's REST base URL (e.g. ``https://acme.atlassian.net/wiki``), for absolute links.

    Raises:
        ValueError: the object lacks what every page has (id, space, version).
    """
    try:
        page_id = str(data["id"])
        space_key = data["space"]["key"]
        version = data["version"]
    except (KeyError, TypeError):
        raise ValueError(f"content {data.get('id')!r} lacks id, space or version; expand={PAGE_EXPAND}") from None
    body = ((data.get("body") or {}).get("storage") or {}).get("value") or ""
    ancestors = [{"id": str(a["id"]), "title": a.get("title", "")} for a in data.get("ancestors") or []]
    history = data.get("history") or {}
    labels = [
        item.get("name") or item.get("label")
        for item in ((data.get("metadata") or {}).get("labels") or {}).get("results", [])
    ]
    attachments = []
    for item in ((data.get("children") or {}).get("attachment") or {}).get("results", []):
        extensions = item.get("extensions") or {}
        links = item.get("_links") or {}
        attachments.append(
            {
                "id": str(item.get("id")),
                "title": item.get("title", ""),
                "media_type": extensions.get("mediaType") or (item.get("metadata") or {}).get("mediaType"),
                "size": extensions.get("fileSize"),
                "download_url": _web_url(site_url, links.get("download")),
            }
        )
    refs = extract_references(body)
    version_at = parse_time(version.get("when"))
    if version_at is None:
        raise ValueError(f"page {page_id} has no version time")
    path = "/" + "".join(f"{a['id']}/" for a in ancestors) + f"{page_id}/"
    record = PageRecord(
        page_id=page_id,
        space_key=space_key,
        title=data.get("title") or "",
        status=data.get("status") or "current",
        version_number=int(version["number"]),
        version_at=version_at,
        version_author=user_ref(version.get("by")),
        created_by=user_ref(history.get("createdBy")),
        created_at=parse_time(history.get("createdDate")),
        parent_id=ancestors[-1]["id"] if ancestors else None,
        ancestors=ancestors,
        path=path,
        labels=sorted({label for label in labels if label}),
        attachments=attachments,
        web_url=_web_url(site_url, (data.get("_links") or {}).get("webui")),
        jira_keys=sorted(set(refs.jira_keys)),
        mentions=sorted(set(refs.user_refs)),
        body_storage=body,
        metadata={
            "version_message": version.get("message") or "",
            "minor_edit": bool(version.get("minorEdit")),
            "position": (data.get("extensions") or {}).get("position"),
        },
    )
    record.content_hash = content_hash(record.title, body, attachments)
    return record
