"""Macros (``ac:structured-macro``) and ADF extensions: code, panels, expand, status, jira, file and user macros.

Macros that show content from other pages (include, children, gallery, ...) are rendered by
:mod:`~confluence_pipeline.convert.referenced`; other generated macros (toc, recently-updated, ...) render nothing; a
macro this module does not know renders its bodies, which is what readers see.
"""

from __future__ import annotations

import re

from lxml import etree

from confluence_pipeline.convert.links import md_url
from confluence_pipeline.convert.names import (
    AC_ADF_ATTRIBUTE,
    AC_ADF_CONTENT,
    AC_ADF_FALLBACK,
    AC_ADF_NODE,
    AC_DEFAULT_PARAMETER,
    AC_NAME,
    AC_PARAMETER,
    AC_PLAIN_BODY,
    AC_RICH_BODY,
    RI_ATTACHMENT,
    RI_FILENAME,
    RI_USER,
)
from confluence_pipeline.convert.referenced import REFERENCE_MACROS, ReferenceRendering, first_param, param_text
from confluence_pipeline.convert.text import CELL, INLINE, as_block, escape_brackets, escape_text, join_rendered

_BLOCK_START = re.compile(r"(?:[-*+] |\d{1,9}[.)] |#{1,6} |\||`{3}|~{3}|>|!\[)")
_JIRA_KEY = re.compile(r"^[A-Z][A-Z0-9_]+-[1-9][0-9]*$")
_PANEL_LABELS = {
    "info": "Info",
    "information": "Info",
    "note": "Note",
    "warning": "Warning",
    "tip": "Tip",
    "panel": "Panel",
    "success": "Success",
    "error": "Error",
    "custom": "Panel",
}
# Macros whose output Confluence generates from elsewhere (or that show nothing): their parameters are not text.
_GENERATED_MACROS = frozenset(
    {
        "toc",
        "pagetreesearch",
        "recently-updated",
        "recently-updated-dashboard",
        "content-by-user",
        "content-report-table",
        "livesearch",
        "search",
        "attachments",
        "blog-posts",
        "blogposts",
        "page-index",
        "index",
        "create-from-template",
        "create-space-button",
        "listlabels",
        "popular-labels",
        "related-labels",
        "recently-used-labels",
        "navmap",
        "spaces",
        "space-details",
        "spacesearch",
        "userlister",
        "network",
        "favpages",
        "contributors",
        "contributors-summary",
        "change-history",
        "tasks-report-macro",
        "detailssummary",
        "details-summary",
        "jirachart",
        "jira-chart",
        "gadget",
        "rss",
        "anchor",
        "profile-picture",
        "im",
        "loremipsum",
        "team-calendar",
        "calendar",
        "roadmap",
        "drawio",
        "gliffy",
        "widget",
    }
)
_FILE_MACROS = frozenset({"view-file", "viewfile", "viewpdf", "viewdoc", "viewppt", "viewxls", "multimedia"})
_CODE_MACROS = frozenset({"code", "noformat", "sourcecode"})


class MacroRendering(ReferenceRendering):
    """Renders macros and ADF extensions (which build on code blocks, links, mentions and referenced content)."""

    def _macro(self, el: etree._Element, tags: frozenset[str], depth: int) -> str:
        name = (el.get(AC_NAME) or "").strip().lower()
        if name in _GENERATED_MACROS:
            return ""
        params: dict[str, etree._Element] = {}
        riches: list[etree._Element] = []
        plain: etree._Element | None = None
        for child in el:
            tag = child.tag
            if tag == AC_PARAMETER:
                params.setdefault((child.get(AC_NAME) or "").strip().lower(), child)
            elif tag == AC_DEFAULT_PARAMETER:
                params.setdefault("", child)
            elif tag == AC_RICH_BODY:
                riches.append(child)
            elif tag == AC_PLAIN_BODY:
                plain = child
        if name in REFERENCE_MACROS:
            return self._reference_macro(name, params, tags)
        rich = riches[0] if riches else None
        if name in _CODE_MACROS:
            code = "".join(plain.itertext()) if plain is not None else ""
            if not code and rich is not None:
                code = "".join(rich.itertext())
            language = "" if name == "noformat" else normalize_language(param_text(params.get("language")))
            # A titled code block with no code still shows its title bar (and an empty block) to readers.
            return self._code_block(code, language, tags, param_text(params.get("title")), keep_empty=True)
        if name in _PANEL_LABELS:
            body = self._render_children(rich, tags, depth + 1) if rich is not None else ""
            return self._panel(_PANEL_LABELS[name], param_text(params.get("title")), body, tags)
        if name in ("expand", "ui-expand"):
            body = self._render_children(rich, tags, depth + 1) if rich is not None else ""
            title = param_text(params.get("title"))
            parts = [f"**{escape_text(title)}**"] if title else []
            if body.strip():
                parts.append(body.strip())
            if not parts:
                return ""
            return " " + " ".join(parts) + " " if INLINE in tags else "\n\n" + "\n\n".join(parts) + "\n\n"
        if name == "status":
            title = param_text(first_param(params, "title", ""))
            return f"[{escape_text(title)}]" if title else ""
        if name == "jira":
            return self._jira(params)
        if name in _FILE_MACROS:
            return self._file_macro(first_param(params, "name", ""), tags)
        if name == "profile":
            user_param = params.get("user")
            user = user_param.find(RI_USER) if user_param is not None else None
            return self._mention(user, "") if user is not None else ""
        if name == "excerpt" and param_text(params.get("hidden")).lower() == "true":
            return ""  # shown only where an excerpt-include shows it
        # excerpt, details, section/column and any macro we do not know: the bodies are what readers see (Page
        # Properties may hold several).
        if len(riches) == 1:
            return self._render(rich, tags, depth)
        if riches:
            return join_rendered([self._render(body, tags, depth) for body in riches])
        if plain is not None:
            return self._code_block("".join(plain.itertext()), "", tags)
        return ""

    def _panel(self, label: str, title: str, body: str, tags: frozenset[str]) -> str:
        body = body.strip()
        head = f"**{label}:**"
        if title:
            head += " " + escape_text(title)
        if body and not title and not _BLOCK_START.match(body):
            content = f"{head} {body}"
        elif body:
            content = f"{head}\n\n{body}"
        elif title:
            content = head
        else:
            return ""
        if INLINE in tags:
            return " " + " ".join(content.split()) + " "
        if CELL in tags:
            return "\n\n" + content + "\n\n"
        quoted = "\n".join("> " + line if line else ">" for line in content.split("\n"))
        return "\n\n" + quoted + "\n\n"

    def _jira(self, params: dict[str, etree._Element]) -> str:
        key = param_text(first_param(params, "key", "")).upper()
        if not _JIRA_KEY.match(key):
            return ""
        base = (self.context.jira_base_url or "").rstrip("/")
        return f"[{key}]({md_url(base)}/browse/{key})" if base else key

    def _file_macro(self, param: etree._Element | None, tags: frozenset[str]) -> str:
        if param is None:
            return ""
        attachment = param.find(RI_ATTACHMENT)
        if attachment is not None:
            filename = attachment.get(RI_FILENAME) or ""
            url = self._attachment_url(attachment, filename)
        else:
            filename = param_text(param)
            url = self._attachment_url(param, filename) if filename else ""
        if not filename:
            return ""
        link = f"[{escape_brackets(escape_text(filename))}]({md_url(url)})"
        return link if INLINE in tags else f"\n\n{link}\n\n"

    # ------------------------------------------------------------------------------------------------------- ADF

    def _adf_extension(self, el: etree._Element, tags: frozenset[str], depth: int) -> str:
        node = fallback = None
        for child in el:
            if child.tag == AC_ADF_NODE and node is None:
                node = child
            elif child.tag == AC_ADF_FALLBACK:
                fallback = child
        if node is not None:
            rendered = self._adf_node(node, tags, depth)
            if rendered is not None:
                return rendered
        if fallback is not None:
            return as_block(self._render_children(fallback, tags, depth + 1), tags)
        return ""

    def _adf_node_element(self, el: etree._Element, tags: frozenset[str], depth: int) -> str:
        return self._adf_node(el, tags, depth) or ""

    def _adf_node(self, node: etree._Element, tags: frozenset[str], depth: int) -> str | None:
        attributes: dict[str, str] = {}
        parts: list[str] = []
        found_content = False
        for child in node:
            if child.tag == AC_ADF_ATTRIBUTE:
                attributes[child.get("key") or ""] = "".join(child.itertext()).strip()
            elif child.tag == AC_ADF_CONTENT:
                found_content = True
                parts.append(self._render_children(child, tags, depth + 1))
            elif child.tag == AC_ADF_NODE:
                nested = self._adf_node(child, tags, depth + 1)
                if nested is not None:
                    found_content = True
                    parts.append(nested)
        if not found_content:
            return None
        body = join_rendered(parts)
        if node.get("type") == "panel":
            label = _PANEL_LABELS.get(attributes.get("panel-type", "").lower(), "Panel")
            return self._panel(label, "", body, tags)
        return as_block(body, tags)


def normalize_language(language: str) -> str:
    """Map a code macro's language parameter to a fence info string.

    Args:
        language: the ``language`` parameter as written.

    Returns:
        The lower-cased language without spaces; "none" becomes "text", an empty value stays empty.
    """
    language = "-".join(language.strip().lower().split())
    if language == "none":
        return "text"
    return language.replace("`", "")
