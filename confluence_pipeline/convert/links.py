"""Links, mentions and the URLs they point to: page, blog post, space, attachment and user references.

URLs keep letters of any script readable and percent-encode only what would break a URL or the Markdown.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any

from lxml import etree
from markdownify import chomp

from confluence_pipeline.convert.context import ConvertContext
from confluence_pipeline.convert.names import (
    AC_ANCHOR,
    AC_LINK_BODY,
    AC_PLAIN_LINK_BODY,
    RI_ACCOUNT_ID,
    RI_BLOG_POST,
    RI_CONTENT_ID,
    RI_CONTENT_TITLE,
    RI_FILENAME,
    RI_PAGE,
    RI_POSTING_DAY,
    RI_PREFIX,
    RI_SPACE_KEY,
    RI_USERKEY,
    RI_USERNAME,
    RI_VALUE,
)
from confluence_pipeline.convert.text import NOFORMAT, escape_brackets, escape_text, unescape_markdown
from confluence_pipeline.convert.walk import StorageWalker
from confluence_pipeline.convert.xml import qname

_URL_TRANSLATE = str.maketrans(
    {" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E", "\n": "", "\r": "", "\t": ""}
)
_URL_UNSAFE = frozenset('%?#&/+"<>()[]\\^`{|}')


def _percent(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))


@lru_cache(maxsize=8192)
def quote_segment(value: str, space: str = "+") -> str:
    """Percent-encode a URL path segment, keeping letters of any script readable.

    Args:
        value: a page title or file name.
        space: what a space becomes (``+`` for Confluence display URLs, ``%20`` for file names).

    Returns:
        The encoded segment; only URL/Markdown-breaking ASCII, controls and invisible characters are encoded.
    """
    out = []
    for char in value:
        if char == " ":
            out.append(space)
        elif (
            char in _URL_UNSAFE
            or char <= " "
            or char == "\x7f"
            or (char > "\x7f" and unicodedata.category(char)[0] in "ZC")
        ):
            out.append(_percent(char))
        else:
            out.append(char)
    return "".join(out)


def md_url(url: str) -> str:
    """Make a URL safe as a Markdown link destination (spaces, parentheses, angle brackets encoded).

    Args:
        url: an absolute or relative URL.

    Returns:
        The URL with the characters that would end or break the destination percent-encoded.
    """
    url = url.strip()
    # translate looks every character up in its table; most URLs need none of it.
    if " " in url or "(" in url or ")" in url or "<" in url or ">" in url or "\n" in url or "\r" in url or "\t" in url:
        return url.translate(_URL_TRANSLATE)
    return url


class LinkRendering(StorageWalker):
    """Renders ``ac:link`` and HTML links, and resolves page, blog, attachment and user references to URLs."""

    def __init__(self, context: ConvertContext | None = None, warnings: list[str] | None = None) -> None:
        """Create a renderer for one page.

        Args:
            context: page facts and lookups used for links, mentions and warnings.
            warnings: list that receives warnings (a new one when omitted).
        """
        super().__init__(context, warnings)
        self._nfc_attachments: dict[str, str] | None = None
        self._base = (self.context.base_url or "").rstrip("/")

    def convert_a(self, el: Any, text: str, parent_tags: Any) -> str:
        """Render an HTML link with a Markdown-safe destination."""
        if NOFORMAT in parent_tags:
            return text
        prefix, suffix, text = chomp(text)
        if not text:
            return ""
        href = (el.get("href") or "").strip()
        if not href:
            return prefix + text + suffix
        if unescape_markdown(text) == href and "://" in href and " " not in href:
            return f"{prefix}<{href}>{suffix}"
        return f"{prefix}[{text}]({md_url(href)}){suffix}"

    def _page_url(self, space: str | None, title: str) -> str | None:
        space = space or self.context.space_key
        if not space:
            return None
        return f"{self._base}/display/{quote_segment(space)}/{quote_segment(title.strip())}"

    def _attachment_url(self, attachment: etree._Element, filename: str) -> str:
        for container in attachment:
            if container.tag == RI_PAGE:
                page_url = self._page_url(container.get(RI_SPACE_KEY), container.get(RI_CONTENT_TITLE) or "")
                if page_url:
                    return page_url
            elif container.tag == RI_BLOG_POST:
                return self._blog_url(container)
        known = self.context.attachments.get(filename) or self._attachments_nfc().get(
            unicodedata.normalize("NFC", filename)
        )
        if known:
            return known
        quoted = quote_segment(filename, "%20")
        if self.context.page_id:
            return f"{self._base}/download/attachments/{quote_segment(self.context.page_id)}/{quoted}"
        return quoted

    def _attachments_nfc(self) -> dict[str, str]:
        # macOS uploads keep decomposed (NFD) Hangul/accents in file names; the body may spell them composed.
        if self._nfc_attachments is None:
            self._nfc_attachments = {
                unicodedata.normalize("NFC", name): url for name, url in self.context.attachments.items()
            }
        return self._nfc_attachments

    def _blog_url(self, post: etree._Element) -> str:
        space = post.get(RI_SPACE_KEY) or self.context.space_key or ""
        day = (post.get(RI_POSTING_DAY) or "").strip()
        title = quote_segment((post.get(RI_CONTENT_TITLE) or "").strip())
        path = "/".join(quote_segment(part) for part in day.split("/") if part)
        return f"{self._base}/display/{quote_segment(space)}/{path + '/' if path else ''}{title}"

    def _mention(self, user: etree._Element, body: str) -> str:
        users = self.context.users
        for attr in (RI_ACCOUNT_ID, RI_USERKEY, RI_USERNAME):
            ref = user.get(attr)
            if ref and ref in users and users[ref].strip():
                return "@" + escape_text(" ".join(users[ref].split()))
        if body:
            return "@" + body.lstrip("@")
        return "@unknown user"

    def _link(self, el: etree._Element, tags: frozenset[str], depth: int) -> str:
        anchor = (el.get(AC_ANCHOR) or "").strip()
        target: etree._Element | None = None
        body = ""
        for child in el:
            tag = child.tag
            if tag.__class__ is not str:
                continue
            if tag.startswith(RI_PREFIX):
                if target is None:
                    target = child
            elif tag == AC_LINK_BODY:
                body = self._inline_children(child, tags, depth)
            elif tag == AC_PLAIN_LINK_BODY:
                body = escape_text(" ".join("".join(child.itertext()).split()))
        kind = qname(target.tag) if target is not None else ""
        fragment = "#" + quote_segment(anchor, "-") if anchor else ""
        url: str | None = None
        text = body
        if target is None or (kind == "ri:page" and not target.get(RI_CONTENT_TITLE)):
            url = fragment or None
            text = body or escape_text(anchor)
        elif kind == "ri:user":
            return self._mention(target, body)
        elif kind == "ri:page":
            title = target.get(RI_CONTENT_TITLE) or ""
            page_url = self._page_url(target.get(RI_SPACE_KEY), title)
            url = page_url + fragment if page_url else None
            text = body or escape_brackets(escape_text(" ".join(title.replace("\u200b", "").split())))
        elif kind == "ri:attachment":
            filename = target.get(RI_FILENAME) or ""
            url = self._attachment_url(target, filename) + fragment
            text = body or escape_brackets(escape_text(filename))
        elif kind == "ri:url":
            url = (target.get(RI_VALUE) or "").strip() or None
            text = body or (url or "")
        elif kind == "ri:space":
            key = target.get(RI_SPACE_KEY) or ""
            url = f"{self._base}/display/{quote_segment(key)}" if key else None
            text = body or escape_text(key)
        elif kind == "ri:blog-post":
            url = self._blog_url(target) + fragment
            text = body or escape_brackets(escape_text(target.get(RI_CONTENT_TITLE) or ""))
        elif kind == "ri:content-entity":
            content_id = target.get(RI_CONTENT_ID) or ""
            url = f"{self._base}/pages/viewpage.action?pageId={quote_segment(content_id)}" if content_id else None
            text = body
        if not text:
            return f"<{md_url(url)}>" if url and "://" in url else ""
        if not url:
            return text
        return f"[{text}]({md_url(url)})"
