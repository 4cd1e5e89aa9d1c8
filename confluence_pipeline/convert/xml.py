"""Parsing Confluence storage format into an lxml tree, shared by the converter, references and fidelity.

Storage format is an XHTML fragment with ``ac:``/``ri:``/``at:`` prefixes that are never declared and HTML named
entities (``&nbsp;``, ``&rarr;``…) that XML does not know. :func:`parse_storage` wraps the fragment in a root
element that declares the three namespaces and, in an internal DTD subset, exactly the entities the text uses
(declaring all 2,231 HTML5 entities on every page costs ~1.5 ms; scanning for the used ones costs microseconds).
Entity names that HTML5 does not know are declared as their own literal text, so ``&foo;`` survives as ``&foo;``.

Malformed or truncated input is parsed twice more: with libxml2's XML recovery (unclosed CDATA closed first), and
with its HTML parser (stray end tags, bare ``&`` and ``<``), whose tag and attribute names are then rewritten to the
same namespaced form. Whichever tree keeps more text wins, so as much of the page as can be read survives; if both
keep less than half of the fragment's text (libxml2 stops at 2,048 nesting levels even in recovery), the text is
kept as plain paragraphs instead.
"""

from __future__ import annotations

import html.entities
import re
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

AC_NS = "http://www.atlassian.com/schema/confluence/4/ac/"
RI_NS = "http://www.atlassian.com/schema/confluence/4/ri/"
AT_NS = "http://www.atlassian.com/schema/confluence/4/at/"
NAMESPACES = {"ac": AC_NS, "ri": RI_NS, "at": AT_NS}

ROOT_TAG = "confluence-storage"
_ROOT_OPEN = f'<{ROOT_TAG} xmlns:ac="{AC_NS}" xmlns:ri="{RI_NS}" xmlns:at="{AT_NS}">'
_ROOT_CLOSE = f"</{ROOT_TAG}>"

_XML_ENTITIES = frozenset({"lt", "gt", "amp", "quot", "apos"})
_ENTITY_REF = re.compile(r"&([A-Za-z][A-Za-z0-9]{0,63});")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)(?:\]\]>|\Z)", re.DOTALL)
_ILLEGAL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ANY_TAG = re.compile(r"<[^>]*>?")
_BLOCK_TAG = re.compile(r"</?(?:p|div|h[1-6]|li|tr|table|pre|blockquote|ac:layout-cell)\b[^>]*>", re.IGNORECASE)
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_PREFIXED = re.compile(r"^(ac|ri|at):(.+)$")

# No network, no external DTDs; huge_tree lifts libxml2's 10 MB text-node and depth-256 limits for big pages.
_STRICT = etree.XMLParser(
    resolve_entities=True, huge_tree=True, remove_comments=True, remove_pis=True, no_network=True, load_dtd=False
)
_RECOVER = etree.XMLParser(
    recover=True,
    resolve_entities=True,
    huge_tree=True,
    remove_comments=True,
    remove_pis=True,
    no_network=True,
    load_dtd=False,
)
_HTML = etree.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True, no_network=True)


@dataclass(frozen=True, slots=True)
class ParsedStorage:
    """A parsed storage fragment.

    Attributes:
        root: the wrapper element; its children are the fragment's top-level nodes.
        error: the first XML error when the fragment was not well-formed, else None.
        parser: "xml", "xml-recover", "html-recover" or "text-recover" (structure lost, text kept).
    """

    root: etree._Element
    error: str | None
    parser: str


def _entity_value(name: str) -> str:
    chars = html.entities.html5.get(name + ";")
    if chars is None:
        # Unknown entity: keep its literal text so the reader's "&foo;" is not silently dropped.
        return "&#38;#38;" + name + ";"
    # Double-escaped character references: the replacement text is re-parsed, and "&#60;" must stay a character.
    return "".join(f"&#38;#{ord(c)};" for c in chars)


@lru_cache(maxsize=256)
def _doctype(names: frozenset[str]) -> str:
    decls = "".join(f'<!ENTITY {name} "{_entity_value(name)}">' for name in sorted(names))
    return f"<!DOCTYPE {ROOT_TAG} [{decls}]>"


def _used_entities(storage: str) -> frozenset[str]:
    if "&" not in storage:
        return frozenset()
    return frozenset(name for name in _ENTITY_REF.findall(storage) if name not in _XML_ENTITIES)


_POSITION_SUFFIX = re.compile(r" \(<string>, line \d+\)|,? line \d+(?:, column \d+)?")


def _describe(exc: etree.XMLSyntaxError, prefix: int) -> str:
    """A one-line parser error with its position in the page body (not in our wrapped document)."""
    message = (str(exc).splitlines() or [""])[0]
    message = _POSITION_SUFFIX.sub("", message).replace(ROOT_TAG, "end of page").strip()
    line, column = exc.position if exc.position else (0, 0)
    if line == 1:
        column = max(1, column - prefix)
    return f"{message[:200]} at line {line}, column {column}" if line else message[:200]


def _text_size(root: etree._Element) -> int:
    return sum(len("".join(t.split())) for t in root.itertext())


def _close_truncated_cdata(storage: str) -> str:
    start = storage.rfind("<![CDATA[")
    if start >= 0 and storage.find("]]>", start) < 0:
        return storage + "]]>"
    return storage


def _escape_cdata(storage: str) -> str:
    # The HTML parser treats CDATA as a bogus comment and would drop code bodies, so turn it into escaped text.
    def repl(match: re.Match[str]) -> str:
        return match.group(1).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    return _CDATA.sub(repl, storage)


def _namespace_html_tree(body: etree._Element) -> etree._Element:
    """Rebuild an HTML-parsed tree with ``ac:x`` names turned into namespaced XML names."""

    def qualify(name: str) -> str:
        match = _PREFIXED.match(name)
        if match:
            return "{" + NAMESPACES[match.group(1)] + "}" + match.group(2)
        return name

    root = etree.Element(ROOT_TAG, nsmap=NAMESPACES)
    root.text = body.text
    stack: list[tuple[etree._Element, etree._Element]] = [(body, root)]
    while stack:
        source, target = stack.pop()
        for child in source:
            if not isinstance(child.tag, str):
                continue
            tag = qualify(child.tag)
            if ":" in tag and not tag.startswith("{"):
                # An undeclared prefix cannot be an XML name; keep the element (and its text) under a safe name.
                tag = tag.replace(":", "-")
            attrs = {}
            for key, value in child.attrib.items():
                qualified = qualify(key)
                if ":" in qualified and not qualified.startswith("{"):
                    continue
                attrs[qualified] = value
            try:
                copy = etree.SubElement(target, tag, attrs)
            except ValueError:
                copy = etree.SubElement(target, "span")
            copy.text = child.text
            copy.tail = child.tail
            stack.append((child, copy))
    return root


def _html_recover(storage: str) -> etree._Element | None:
    document = "<html><body>" + _escape_cdata(_XML_DECL.sub("", storage)) + "</body></html>"
    try:
        parsed = etree.fromstring(document, _HTML)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if parsed is None:
        return None
    body = parsed.find("body")
    if body is None:
        return None
    return _namespace_html_tree(body)


def parse_storage(storage: str) -> ParsedStorage:
    """Parse a storage-format fragment with a real XML parser, recovering what it can from malformed input.

    Args:
        storage: the page body in Confluence storage format (``body.storage.value``).

    Returns:
        The parsed fragment under a wrapper root, with the first XML error when recovery was needed.
    """
    storage = _XML_DECL.sub("", storage.lstrip("\ufeff"), count=1)
    doctype = _doctype(_used_entities(storage))
    try:
        return ParsedStorage(etree.fromstring(doctype + _ROOT_OPEN + storage + _ROOT_CLOSE, _STRICT), None, "xml")
    except (etree.XMLSyntaxError, ValueError) as exc:
        first_error = exc
    # Control characters and lone surrogates cannot be in any XML (or lxml string); they are invisible anyway. They
    # are looked for only now: the scan costs more than the parse of a clean page, and the parse rejects them.
    if _ILLEGAL_CHARS.search(storage):
        storage = _ILLEGAL_CHARS.sub("", storage)
        try:
            return ParsedStorage(etree.fromstring(doctype + _ROOT_OPEN + storage + _ROOT_CLOSE, _STRICT), None, "xml")
        except etree.XMLSyntaxError as exc:
            first_error = exc
    if isinstance(first_error, etree.XMLSyntaxError):
        error = _describe(first_error, len(doctype) + len(_ROOT_OPEN))
    else:
        error = str(first_error)
    repaired = doctype + _ROOT_OPEN + _close_truncated_cdata(storage) + _ROOT_CLOSE
    candidates: list[tuple[int, int, etree._Element, str]] = []
    try:
        xml_root = etree.fromstring(repaired, _RECOVER)
    except etree.XMLSyntaxError:
        xml_root = None
    if xml_root is not None:
        candidates.append((_text_size(xml_root), 1, xml_root, "xml-recover"))
    html_root = _html_recover(storage)
    if html_root is not None:
        candidates.append((_text_size(html_root), 0, html_root, "html-recover"))
    best = max(candidates, key=lambda c: (c[0], c[1])) if candidates else None
    text = _plain_text(storage)
    if best is None or best[0] < len("".join(text.split())) // 2:
        # Both parsers gave up early (e.g. nesting deeper than libxml2's limit): keep the text, lose the structure.
        root = etree.Element(ROOT_TAG, nsmap=NAMESPACES)
        for paragraph in _PARAGRAPH_BREAK.split(text):
            if paragraph.strip():
                etree.SubElement(root, "p").text = paragraph
        return ParsedStorage(root, error, "text-recover")
    # Ties go to the XML tree: its structure follows the storage format's own rules.
    return ParsedStorage(best[2], error, best[3])


def _plain_text(storage: str) -> str:
    """The text of a fragment with every tag removed (parameters included): the last resort of recovery."""
    storage = _CDATA.sub(lambda match: html.escape(match.group(1), quote=False), storage)
    storage = _BLOCK_TAG.sub("\n\n", storage)
    return html.unescape(_ANY_TAG.sub("", storage))


@lru_cache(maxsize=4096)
def qname(tag: str) -> str:
    """Return ``ac:name``-style qualified names for lxml's ``{uri}name`` tags (cached).

    Args:
        tag: an lxml element tag.

    Returns:
        ``prefix:local`` for the Confluence namespaces, the lower-cased tag otherwise.
    """
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        for prefix, ns in NAMESPACES.items():
            if ns == uri:
                return f"{prefix}:{local}"
        return local
    return tag.lower()


def ac(name: str) -> str:
    """Return the lxml tag/attribute key of an ``ac:`` name."""
    return "{" + AC_NS + "}" + name


def ri(name: str) -> str:
    """Return the lxml tag/attribute key of an ``ri:`` name."""
    return "{" + RI_NS + "}" + name
