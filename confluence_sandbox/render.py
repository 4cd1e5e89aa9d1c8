"""Confluence REST v1 JSON shapes for the sandbox's spaces, pages, attachments, users and collections.

Shapes follow real responses (``confluence_sandbox/fixtures`` holds real Cloud ones): key names, nesting,
``_expandable`` and ``_links``. Cloud and Data Center differ where the real products differ: Cloud users carry
``accountId``/``publicName``/``accountType``, Data Center users ``username``/``userKey``; Cloud content carries
``ari``/``base64EncodedAri``/``macroRenderedOutput`` and ``editui``/``edituiv2`` links, Data Center content an
``edit`` link and ``/display/KEY/Title`` web links.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, quote_plus

from confluence_sandbox.corpus import Attachment, Corpus, Page, Space, User, format_instant

ExpandTree = dict[str, "ExpandTree"]


class BodyFault(Exception):
    """Raised when a response would include the body of a page listed in the ``fail_page_ids`` fault."""

    def __init__(self, page_id: int) -> None:
        super().__init__(f"Failed to render the body of page {page_id}")
        self.page_id = page_id


def parse_expand(expand: str | None, prefix: str | None = None) -> ExpandTree:
    """Turn ``expand=body.storage,version`` into a tree ``{"body": {"storage": {}}, "version": {}}``.

    Args:
        expand: The comma-separated expand parameter.
        prefix: Keep only entries under this prefix and strip it (``content`` for ``/rest/api/search``).

    Returns:
        The expansion tree.
    """
    tree: ExpandTree = {}
    if not expand:
        return tree
    for item in expand.split(","):
        parts = [p for p in item.strip().split(".") if p]
        if prefix is not None:
            if not parts or parts[0] != prefix:
                continue
            parts = parts[1:]
        node = tree
        for part in parts:
            node = node.setdefault(part, {})
    return tree


def expands_body(tree: ExpandTree) -> bool:
    """Whether an expansion includes any page body (directly or through children/ancestors)."""
    if "body" in tree:
        return True
    return any(expands_body(sub) for key, sub in tree.items() if key in ("children", "page", "ancestors"))


def tiny_id(page_id: int) -> str:
    """Return the short-link code Confluence uses in ``/x/<code>`` for a page id."""
    raw = page_id.to_bytes(8, "little").rstrip(b"\0") or b"\0"
    code = base64.b64encode(raw).decode().rstrip("=").rstrip("A")
    return code.replace("/", "-").replace("+", "_")


_SLUG_STRIP = re.compile(r"[^A-Za-z0-9._~\-]")
_DC_UNSAFE = re.compile(r"[^\x20-\x7e]|[?&/:;#%+\\\"']")


def cloud_slug(title: str) -> str:
    """Return the title part of a Cloud web link: words of URL-safe ASCII joined with ``+`` (the rest dropped)."""
    words = (_SLUG_STRIP.sub("", word) for word in title.split())
    return "+".join(w for w in words if w)


def friendly(ms: int) -> str:
    """Format a date the way Confluence's ``friendlyWhen`` does for older dates."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%b %d, %Y")


class Renderer:
    """Builds response dicts for one server (flavour, base URL and context path fixed)."""

    def __init__(self, corpus: Corpus, *, flavor: str, base: str, context: str) -> None:
        self.corpus = corpus
        self.flavor = flavor
        self.cloud = flavor == "cloud"
        self.base = base
        self.context = context
        self.site_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"confluence-sandbox:{corpus.seed}"))
        # Returns the ids whose bodies must fail (the fail_page_ids fault); the admin API renders without it.
        self.failing: Callable[[], frozenset[int]] = frozenset

    # --- users ---------------------------------------------------------------------------------------------------

    def user(self, user: User, *, current: bool = False, email: str | None = None, tz: str | None = None) -> dict:
        """Render a user (the current user also gets its email and, on Cloud, its time zone)."""
        if self.cloud:
            out: dict[str, Any] = {
                "type": "known",
                "accountId": user.account_id,
                "accountType": "atlassian",
                "email": (email or user.email) if current else "",
                "publicName": user.display_name,
                "profilePicture": {
                    "path": f"{self.context}/aa-avatar/{user.account_id}",
                    "width": 48,
                    "height": 48,
                    "isDefault": False,
                },
                "displayName": user.display_name,
                "isExternalCollaborator": False,
            }
            if current:
                out["timeZone"] = tz
                out["locale"] = "en_US"
                out["isGuest"] = False
                out["accountStatus"] = "active"
            out["_expandable"] = {"operations": "", "personalSpace": ""}
            out["_links"] = {"self": f"{self.base}/rest/api/user?accountId={user.account_id}"}
            if current:
                out["_links"].update({"base": self.base, "context": self.context})
            return out
        out = {
            "type": "known",
            "username": user.username,
            "userKey": user.user_key,
            "profilePicture": {
                "path": f"{self.context}/images/icons/profilepics/default.svg",
                "width": 48,
                "height": 48,
                "isDefault": True,
            },
            "displayName": user.display_name,
            "_links": {"self": f"{self.base}/rest/api/user?key={user.user_key}"},
            "_expandable": {"status": ""},
        }
        if current:
            out["_links"].update({"base": self.base, "context": self.context})
        return out

    # --- spaces --------------------------------------------------------------------------------------------------

    def space_webui(self, space: Space) -> str:
        """Return a space's web link (relative to the context path)."""
        return f"/spaces/{space.key}" if self.cloud else f"/display/{space.key}"

    def space(self, space: Space, expand: ExpandTree | None = None, *, top_level: bool = False) -> dict:
        """Render a space."""
        expand = expand or {}
        out: dict[str, Any] = {"id": space.id, "key": space.key}
        if self.cloud:
            out["alias"] = space.key
        out["name"] = space.name
        out["icon"] = {
            "path": "/images/logo/default-space-logo.svg" if self.cloud else "/images/logo/default-space-logo-256.png",
            "width": 48,
            "height": 48,
            "isDefault": True,
        }
        if "description" in expand:
            desc: dict[str, Any] = {}
            if "plain" in expand["description"] or not expand["description"]:
                desc["plain"] = {"value": space.description, "representation": "plain", "embeddedContent": []}
            desc["_expandable"] = {"view": ""}
            out["description"] = desc
        if "homepage" in expand:
            home = self.corpus.space_home(space.key)
            if home is not None:
                out["homepage"] = self.content(home, expand["homepage"])
        out["type"] = space.type
        out["status"] = space.status
        expandable = {
            "settings": f"/rest/api/space/{space.key}/settings",
            "metadata": "",
            "operations": "",
            "lookAndFeel": f"/rest/api/settings/lookandfeel?spaceKey={space.key}",
            "identifiers": "",
            "permissions": "",
            "roles": "",
            "icon": "",
            "description": "",
            "theme": f"/rest/api/space/{space.key}/theme",
            "history": "",
            "homepage": f"/rest/api/content/{space.homepage_id}" if space.homepage_id else "",
        }
        out["_expandable"] = {k: v for k, v in expandable.items() if k not in expand and k != "icon"}
        links = {"webui": self.space_webui(space), "self": f"{self.base}/rest/api/space/{quote(space.key)}"}
        if top_level:
            links.update({"base": self.base, "context": self.context})
        out["_links"] = links
        return out

    # --- pages ---------------------------------------------------------------------------------------------------

    def webui(self, page: Page) -> str:
        """Return a page's web link (relative to the context path)."""
        space = self.corpus.spaces[page.space_key]
        if self.cloud:
            if space.homepage_id == page.id:
                return f"/spaces/{space.key}/overview"
            slug = cloud_slug(page.title)
            return f"/spaces/{space.key}/pages/{page.id}" + (f"/{slug}" if slug else "")
        if _DC_UNSAFE.search(page.title):
            return f"/pages/viewpage.action?pageId={page.id}"
        return f"/display/{space.key}/{quote_plus(page.title)}"

    def _ari(self, kind: str, num: int | str) -> tuple[str, str]:
        ari = f"ari:cloud:confluence:{self.site_id}:{kind}/{num}"
        encoded = base64.b64encode(f"ari:cloud:confluence:{self.site_id}:content/{num}".encode()).decode()
        return ari, encoded

    def version(self, page: Page, expand: ExpandTree | None = None) -> dict:
        """Render a page's current version."""
        out: dict[str, Any] = {
            "by": self.user(self.corpus.user_at(page.modifier)),
            "when": format_instant(page.modified_ms),
        }
        if self.cloud:
            out["friendlyWhen"] = friendly(page.modified_ms)
        out["message"] = page.message
        out["number"] = page.version
        out["minorEdit"] = page.minor_edit
        if self.cloud:
            out["contentTypeModified"] = False
        else:
            out["hidden"] = False
        out["_expandable"] = {"collaborators": "", "content": f"/rest/api/content/{page.id}"}
        out["_links"] = {"self": f"{self.base}/rest/api/content/{page.id}/version/{page.version}"}
        return out

    def history(self, page: Page, expand: ExpandTree | None = None, *, top_level: bool = False) -> dict:
        """Render a page's history (``lastUpdated`` only when expanded)."""
        expand = expand or {}
        creator = self.user(self.corpus.user_at(page.creator))
        out: dict[str, Any] = {"latest": page.status != "historical", "createdBy": creator}
        if self.cloud:
            out["ownedBy"] = creator
        out["createdDate"] = format_instant(page.created_ms)
        if "lastUpdated" in expand:
            out["lastUpdated"] = self.version(page)
        expandable = {"lastUpdated": "", "previousVersion": "", "contributors": "", "nextVersion": ""}
        out["_expandable"] = {k: v for k, v in expandable.items() if k not in expand}
        links = {"self": f"{self.base}/rest/api/content/{page.id}/history"}
        if top_level:
            links.update({"base": self.base, "context": self.context})
        out["_links"] = links
        return out

    def labels(self, page: Page, start: int = 0, limit: int = 200, *, top_level: bool = False) -> dict:
        """Render a page's labels as a collection."""
        names = page.labels[start : start + limit]
        results = [{"prefix": "global", "name": n, "id": str(self.corpus.label_id(n)), "label": n} for n in names]
        links: dict[str, str] = {"self": f"{self.base}/rest/api/content/{page.id}/label"}
        if start + limit < len(page.labels):
            links["next"] = f"/rest/api/content/{page.id}/label?limit={limit}&start={start + limit}"
        if top_level:
            links.update({"base": self.base, "context": self.context})
        return {"results": results, "start": start, "limit": limit, "size": len(results), "_links": links}

    def body_of(self, page: Page) -> str:
        """Return a page's storage body, or raise :class:`BodyFault` when a fault says this page fails."""
        if page.id in self.failing():
            raise BodyFault(page.id)
        return self.corpus.body(page)

    def content(self, page: Page, expand: ExpandTree | None = None, *, top_level: bool = False) -> dict:
        """Render a page as a content object with the requested expansions."""
        expand = expand or {}
        space = self.corpus.spaces[page.space_key]
        out: dict[str, Any] = {"id": str(page.id), "type": "page"}
        if self.cloud:
            out["ari"], out["base64EncodedAri"] = self._ari("page", page.id)
        out["status"] = page.status
        out["title"] = page.title
        if "space" in expand:
            out["space"] = self.space(space, expand["space"])
        if "history" in expand:
            out["history"] = self.history(page, expand["history"])
        if "version" in expand:
            out["version"] = self.version(page, expand["version"])
        if "ancestors" in expand:
            out["ancestors"] = [self.content(a, expand["ancestors"]) for a in self.corpus.ancestors(page)]
        if "container" in expand:
            out["container"] = self.space(space, expand["container"])
        if self.cloud:
            out["macroRenderedOutput"] = {}
        if "body" in expand:
            out["body"] = self._body(page, expand["body"])
        if "metadata" in expand:
            meta: dict[str, Any] = {}
            if "labels" in expand["metadata"]:
                meta["labels"] = self.labels(page)
            meta["_expandable"] = {
                k: ""
                for k in ("currentuser", "comments", "simple", "properties", "frontend", "labels", "likes")
                if k not in expand["metadata"]
            }
            out["metadata"] = meta
        if "children" in expand:
            out["children"] = self.children(page, expand["children"])
        out["extensions"] = {"position": page.position}
        out["_expandable"] = self._expandable(page, space, expand)
        out["_links"] = self._links(page, top_level=top_level)
        return out

    def _body(self, page: Page, expand: ExpandTree) -> dict:
        body: dict[str, Any] = {}
        if "storage" in expand:
            storage: dict[str, Any] = {"value": self.body_of(page), "representation": "storage"}
            if self.cloud:
                storage["embeddedContent"] = []
            storage["_expandable"] = {"content": f"/rest/api/content/{page.id}"}
            body["storage"] = storage
        others = ["editor", "atlas_doc_format", "view", "export_view", "styled_view", "dynamic", "editor2"]
        if self.cloud:
            others.append("anonymous_export_view")
        body["_expandable"] = {k: "" for k in others if k not in expand}
        return body

    def children(self, page: Page, expand: ExpandTree) -> dict:
        """Render a page's ``children`` object (``attachment``/``page`` collections when expanded)."""
        out: dict[str, Any] = {}
        if "attachment" in expand:
            atts = self.corpus.attachments(page)
            out["attachment"] = self.collection(
                [self.attachment(a, page, expand["attachment"]) for a in atts[:25]],
                start=0,
                limit=25,
                self_path=f"/rest/api/content/{page.id}/child/attachment",
                next_path=f"/rest/api/content/{page.id}/child/attachment?limit=25&start=25" if len(atts) > 25 else None,
                envelope=False,
            )
        if "page" in expand:
            kids = self.corpus.children(page.id)
            out["page"] = self.collection(
                [self.content(k, expand["page"]) for k in kids[:25]],
                start=0,
                limit=25,
                self_path=f"/rest/api/content/{page.id}/child/page",
                next_path=f"/rest/api/content/{page.id}/child/page?limit=25&start=25" if len(kids) > 25 else None,
                envelope=False,
            )
        out["_expandable"] = {
            k: f"/rest/api/content/{page.id}/child/{k}"
            for k in ("attachment", "comment", "page", "whiteboard", "database", "embed", "folder")
            if k not in expand and (self.cloud or k in ("attachment", "comment", "page"))
        }
        out["_links"] = {"self": f"{self.base}/rest/api/content/{page.id}/child"}
        return out

    def _expandable(self, page: Page, space: Space, expand: ExpandTree) -> dict:
        pid = page.id
        if self.cloud:
            candidates = {
                "container": f"/rest/api/space/{space.key}",
                "metadata": "",
                "restrictions": f"/rest/api/content/{pid}/restriction/byOperation",
                "history": f"/rest/api/content/{pid}/history",
                "body": "",
                "version": "",
                "descendants": f"/rest/api/content/{pid}/descendant",
                "space": f"/rest/api/space/{space.key}",
                "childTypes": "",
                "schedulePublishInfo": "",
                "operations": "",
                "schedulePublishDate": "",
                "children": f"/rest/api/content/{pid}/child",
                "ancestors": "",
                "draftVersion": "",
            }
        else:
            candidates = {
                "container": f"/rest/api/space/{space.key}",
                "metadata": "",
                "operations": "",
                "children": f"/rest/api/content/{pid}/child",
                "restrictions": f"/rest/api/content/{pid}/restriction/byOperation",
                "history": f"/rest/api/content/{pid}/history",
                "ancestors": "",
                "body": "",
                "version": "",
                "descendants": f"/rest/api/content/{pid}/descendant",
                "space": f"/rest/api/space/{space.key}",
            }
        return {k: v for k, v in candidates.items() if k not in expand}

    def _links(self, page: Page, *, top_level: bool) -> dict:
        pid = page.id
        if self.cloud:
            links = {
                "self": f"{self.base}/rest/api/content/{pid}",
                "tinyui": f"/x/{tiny_id(pid)}",
                "editui": f"/pages/resumedraft.action?draftId={pid}",
                "webui": self.webui(page),
                "edituiv2": f"/spaces/{page.space_key}/pages/edit-v2/{pid}",
            }
        else:
            links = {
                "webui": self.webui(page),
                "edit": f"/pages/resumedraft.action?draftId={pid}",
                "tinyui": f"/x/{tiny_id(pid)}",
                "self": f"{self.base}/rest/api/content/{pid}",
            }
        if top_level:
            links.update({"context": self.context, "collection": "/rest/api/content", "base": self.base})
        return links

    # --- attachments ---------------------------------------------------------------------------------------------

    def attachment(self, att: Attachment, page: Page, expand: ExpandTree | None = None) -> dict:
        """Render an attachment of a page."""
        expand = expand or {}
        num = att.id.removeprefix("att")
        out: dict[str, Any] = {"id": att.id, "type": "attachment"}
        if self.cloud:
            out["ari"], out["base64EncodedAri"] = self._ari("attachment", num)
        out["status"] = "current"
        out["title"] = att.title
        if "version" in expand:
            out["version"] = {
                "by": self.user(self.corpus.user_at(page.creator)),
                "when": format_instant(att.created_ms),
                "message": "",
                "number": 1,
                "minorEdit": False,
                "_expandable": {"content": f"/rest/api/content/{att.id}"},
                "_links": {"self": f"{self.base}/rest/api/content/{att.id}/version/1"},
            }
        if "container" in expand:
            out["container"] = self.content(page, expand["container"])
        if self.cloud:
            out["macroRenderedOutput"] = {}
        out["metadata"] = {"mediaType": att.media_type}
        ext: dict[str, Any] = {"mediaType": att.media_type, "fileSize": att.file_size, "comment": att.comment}
        if self.cloud:
            # Cloud leaves mediaTypeDescription out for types it has no description for (JSON, CSV).
            if att.media_type_description:
                ext["mediaTypeDescription"] = att.media_type_description
            ext.update({"fileId": att.file_id, "collectionName": f"contentId-{page.id}"})
        out["extensions"] = ext
        expandable = {
            "container": f"/rest/api/content/{page.id}",
            "restrictions": f"/rest/api/content/{att.id}/restriction/byOperation",
            "history": f"/rest/api/content/{att.id}/history",
            "body": "",
            "version": "",
            "descendants": f"/rest/api/content/{att.id}/descendant",
            "space": f"/rest/api/space/{page.space_key}",
        }
        if self.cloud:
            expandable.update(
                {
                    "childTypes": "",
                    "schedulePublishInfo": "",
                    "operations": "",
                    "schedulePublishDate": "",
                    "children": f"/rest/api/content/{att.id}/child",
                    "ancestors": "",
                    "draftVersion": "",
                }
            )
        out["_expandable"] = {k: v for k, v in expandable.items() if k not in expand}
        preview = f"/{page.id}/{num}/{att.title}"
        out["_links"] = {
            "webui": f"/pages/viewpageattachments.action?pageId={page.id}&preview="
            + (quote_plus(preview, safe="") if self.cloud else preview),
            "self": f"{self.base}/rest/api/content/{att.id}",
            "download": att.download,
        }
        return out

    # --- collections and search ----------------------------------------------------------------------------------

    def collection(
        self,
        results: list[dict],
        *,
        start: int,
        limit: int,
        self_path: str,
        next_path: str | None = None,
        prev_path: str | None = None,
        envelope: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> dict:
        """Wrap results as a paged collection with ``_links`` (``next``/``prev`` relative to the context path)."""
        out: dict[str, Any] = {"results": results, "start": start, "limit": limit, "size": len(results)}
        if extra:
            out.update(extra)
        links: dict[str, str] = {}
        if envelope:
            links["base"] = self.base
            links["context"] = self.context
        if next_path is not None:
            links["next"] = next_path
        if prev_path is not None:
            links["prev"] = prev_path
        links["self"] = self.base + self_path
        out["_links"] = links
        return out

    def search_result(self, page: Page, expand: ExpandTree, excerpt: bool) -> dict:
        """Render one ``/rest/api/search`` result: the content wrapped with title, excerpt and URL."""
        space = self.corpus.spaces[page.space_key]
        url = self.webui(page)
        out: dict[str, Any] = {
            "content": self.content(page, expand),
            "title": page.title,
            "excerpt": self.corpus.excerpt(page) if excerpt else "",
            "url": url,
            "resultGlobalContainer": {"title": space.name, "displayUrl": self.space_webui(space)},
            "breadcrumbs": [],
            "entityType": "content",
            "iconCssClass": "aui-icon content-type-page",
            "lastModified": format_instant(page.modified_ms),
            "friendlyLastModified": friendly(page.modified_ms),
        }
        if self.cloud:
            out["score"] = 0.0
        else:
            out["timestamp"] = page.modified_ms
        return out
