"""What readers see on a Confluence page, read from the storage XML independently of the converter.

:func:`visible_text` is written from what Confluence *renders*: text nodes, code bodies, captions, link bodies (or,
for links without a body, the page title / file name / anchor Confluence shows) and the few macro parameters that
are displayed. The fidelity check (:mod:`benchmarks.fidelity`) compares the converter's Markdown against it.
"""

from __future__ import annotations

import re

from lxml import etree

from confluence_pipeline.convert.xml import ac, qname, ri

_WORD = re.compile(r"\w+")
_SKIP = frozenset(
    {
        "ac:parameter",
        "ac:default-parameter",
        "ac:placeholder",
        "ac:task-id",
        "ac:task-uuid",
        "ac:task-status",
        "ac:adf-attribute",
        "ac:adf-mark",
        "at:declarations",
        "script",
        "style",
    }
)
_GENERATED = frozenset(
    {
        "toc",
        "children",
        "pagetree",
        "recently-updated",
        "contentbylabel",
        "excerpt-include",
        "include",
        "anchor",
        "attachments",
        "livesearch",
        "blog-posts",
        "page-index",
        "create-from-template",
        "listlabels",
        "gallery",
    }
)
_VISIBLE_PARAMS = {
    "status": ("title",),
    "info": ("title",),
    "note": ("title",),
    "warning": ("title",),
    "tip": ("title",),
    "panel": ("title",),
    "expand": ("title",),
    "code": ("title",),
    "jira": ("key",),
}
_BLOCKS = frozenset(
    {
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "td",
        "th",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "blockquote",
        "br",
        "hr",
        "section",
        "caption",
        "dl",
        "dt",
        "dd",
        "ac:layout",
        "ac:layout-section",
        "ac:layout-cell",
        "ac:rich-text-body",
        "ac:plain-text-body",
        "ac:adf-content",
        "ac:task-list",
        "ac:task",
        "ac:caption",
        "ac:image",
        "ac:adf-extension",
    }
)
FILE_MACROS = frozenset({"view-file", "viewfile", "viewpdf", "viewdoc", "viewppt", "viewxls", "multimedia"})
CODE_MACROS = frozenset({"code", "noformat"})


def macro_params(el: etree._Element) -> dict[str, etree._Element]:
    """A macro's parameters by lower-cased name; the default parameter under ``""``; the first of a name wins."""
    params: dict[str, etree._Element] = {}
    for child in el:
        if child.tag == ac("parameter"):
            params.setdefault((child.get(ac("name")) or "").lower(), child)
        elif child.tag == ac("default-parameter"):
            params.setdefault("", child)
    return params


def visible_text(root: etree._Element, users: dict[str, str] | None = None) -> list[str]:
    """Collect the text Confluence shows for a parsed storage body, independently of the converter.

    Args:
        root: the parsed storage root.
        users: user reference → display name, for mentions (unknown users contribute no words).

    Returns:
        Text segments in document order.
    """
    users = users or {}
    out: list[str] = []

    def walk(el: etree._Element) -> None:
        name = qname(el.tag) if isinstance(el.tag, str) else ""
        if not name or name in _SKIP or name.startswith("ri:"):
            return
        if name in _BLOCKS:
            out.append("\n")
            start = len(out)
            if name == "li":
                number = _list_number(el)
                if number is not None:
                    out.append(f"{number} ")
            walk_element(el, name)
            copies = _span_copies(el) if name in ("td", "th") else 1
            if copies > 1:
                out.extend(out[start:] * (copies - 1))
            out.append("\n")
            return
        walk_element(el, name)

    def walk_element(el: etree._Element, name: str) -> None:
        if name in ("ac:structured-macro", "ac:macro"):
            macro = (el.get(ac("name")) or "").lower()
            if macro in _GENERATED:
                return
            params = macro_params(el)
            for param in _VISIBLE_PARAMS.get(macro, ()):
                if param in params:
                    out.append(" " + "".join(params[param].itertext()) + " ")
            if macro == "status" and "title" not in params and "" in params:
                out.append(" " + "".join(params[""].itertext()) + " ")
            if macro in FILE_MACROS:
                for attachment in el.iter(ri("attachment")):
                    out.append("\n" + (attachment.get(ri("filename")) or "") + "\n")
            for child in el:
                if child.tag in (ac("rich-text-body"), ac("plain-text-body")):
                    walk_children(child)
            return
        if name == "ac:adf-extension":
            nodes = [child for child in el if child.tag == ac("adf-node")]
            for child in nodes or [child for child in el if child.tag == ac("adf-fallback")]:
                walk_children(child)
            return
        if name == "ac:link":
            bodies = [child for child in el if child.tag in (ac("link-body"), ac("plain-text-link-body"))]
            if bodies:
                for body in bodies:
                    walk_children(body)
                return
            for target in el:
                kind = qname(target.tag) if isinstance(target.tag, str) else ""
                if kind == "ri:page":
                    out.append(target.get(ri("content-title")) or el.get(ac("anchor")) or "")
                elif kind == "ri:attachment":
                    out.append(target.get(ri("filename")) or "")
                elif kind == "ri:user":
                    ref = target.get(ri("account-id")) or target.get(ri("userkey")) or target.get(ri("username"))
                    out.append(users.get(ref or "", ""))
                elif kind in ("ri:url", "ri:space", "ri:blog-post"):
                    out.append(
                        target.get(ri("value")) or target.get(ri("space-key")) or target.get(ri("content-title")) or ""
                    )
            if not len(el) and el.get(ac("anchor")):
                out.append(el.get(ac("anchor")) or "")
            return
        if name == "ac:image":
            for child in el:
                if child.tag == ac("caption"):
                    walk_children(child)
            return
        if name == "time":
            out.append(el.get("datetime") or "".join(el.itertext()))
            return
        walk_children(el)

    def walk_children(el: etree._Element) -> None:
        if el.text:
            out.append(el.text)
        for child in el:
            if isinstance(child.tag, str):
                walk(child)
            if child.tail:
                out.append(child.tail)

    walk_children(root)
    return out


def _list_number(item: etree._Element) -> int | None:
    """The number a reader sees before an item of an ordered list (None for bullets)."""
    parent = item.getparent()
    if parent is None or not isinstance(parent.tag, str) or qname(parent.tag) != "ol":
        return None
    start = (parent.get("start") or "1").strip()
    number = int(start) if start.isdigit() else 1
    for sibling in item.itersiblings(preceding=True):
        if isinstance(sibling.tag, str) and qname(sibling.tag) == "li":
            number += 1
    return number


def _span_copies(cell: etree._Element) -> int:
    """How many grid cells a spanned table cell covers (a reader sees its value across all of them)."""

    def number(value: str | None) -> int:
        return int(value) if value and value.strip().isdigit() and int(value) > 0 else 1

    row = cell.getparent()
    remaining = 1 + sum(1 for sibling in row.itersiblings() if sibling.tag == "tr") if row is not None else 1
    return min(number(cell.get("colspan")), 100) * min(number(cell.get("rowspan")), remaining)


def words(text: str) -> list[str]:
    r"""Split text into case-folded ``\w+`` words (zero-width spaces removed first).

    Args:
        text: any text.

    Returns:
        The words.
    """
    return _WORD.findall(text.replace("\u200b", "").casefold())


def visible_text_of(el: etree._Element) -> list[str]:
    """Visible text of one element (see :func:`visible_text`).

    Args:
        el: an element of a parsed storage tree.

    Returns:
        Its text segments.
    """
    wrapper = etree.Element("wrapper")
    wrapper.append(_copy(el))
    return visible_text(wrapper)


def _copy(el: etree._Element) -> etree._Element:
    copy = etree.fromstring(etree.tostring(el))
    copy.tail = None
    return copy
