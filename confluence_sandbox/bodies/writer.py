"""The storage-format writer bodies are built with, and what a body needs to mention users and attachments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from random import Random


@dataclass(frozen=True, slots=True)
class MentionUser:
    """What a body needs to mention a user."""

    account_id: str
    user_key: str
    display_name: str


@dataclass(frozen=True, slots=True)
class BodyAttachment:
    """What a body needs to reference an attachment."""

    filename: str
    media_type: str
    width: int
    height: int


def _t(text: str) -> str:
    return escape(text, quote=False)


def _a(text: str) -> str:
    return escape(text, quote=True)


class StorageWriter:
    """Accumulates storage-format XHTML; inline helpers return strings, block helpers append."""

    def __init__(self, rng: Random, flavor: str) -> None:
        self.rng = rng
        self.flavor = flavor
        # Pages written in the new Cloud editor carry local-id attributes; legacy pages and Data Center do not.
        self.modern = flavor == "cloud" and rng.random() < 0.5
        self.parts: list[str] = []

    def uid(self) -> str:
        """Return a deterministic UUID string."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _lid(self) -> str:
        return f' local-id="{self.uid()}"' if self.modern else ""

    def _macro_attrs(self, name: str) -> str:
        local = f' ac:local-id="{self.uid()}"' if self.modern else ""
        return f'ac:name="{name}" ac:schema-version="1"{local} ac:macro-id="{self.uid()}"'

    def raw(self, xhtml: str) -> None:
        """Append markup as is."""
        self.parts.append(xhtml)

    def h(self, level: int, text: str) -> None:
        """Append a heading."""
        self.parts.append(f"<h{level}{self._lid()}>{_t(text)}</h{level}>")

    def p(self, *inline: str) -> None:
        """Append a paragraph of already escaped inline markup."""
        self.parts.append(f"<p{self._lid()}>{''.join(inline)}</p>")

    def text(self, text: str) -> str:
        """Escape plain text for inline use."""
        return _t(text)

    def ul(self, items: Sequence[str], ordered: bool = False) -> None:
        """Append a bullet (or numbered) list of inline markup items."""
        tag = "ol" if ordered else "ul"
        start = ' start="1"' if ordered and self.modern else ""
        body = "".join(f"<li{self._lid()}><p>{item}</p></li>" for item in items)
        self.parts.append(f"<{tag}{start}{self._lid()}>{body}</{tag}>")

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[str | tuple[str, int, int]]],
        widths: Sequence[int] | None = None,
        header_column: bool = False,
    ) -> None:
        """Append a table; a cell may be ``(markup, rowspan, colspan)``; headers are ``th`` cells in ``tbody``."""
        out = ['<table data-table-width="760" data-layout="default"']
        if self.modern:
            out.append(f' ac:local-id="{self.uid()}"')
        out.append(">")
        if widths:
            out.append("<colgroup>" + "".join(f'<col style="width: {w}.0px;" />' for w in widths) + "</colgroup>")
        out.append("<tbody><tr>")
        out.extend(f"<th><p><strong>{_t(h)}</strong></p></th>" for h in header)
        out.append("</tr>")
        for row in rows:
            out.append("<tr>")
            for i, cell in enumerate(row):
                tag = "th" if header_column and i == 0 else "td"
                if isinstance(cell, tuple):
                    markup, rowspan, colspan = cell
                    attrs = (f' rowspan="{rowspan}"' if rowspan > 1 else "") + (
                        f' colspan="{colspan}"' if colspan > 1 else ""
                    )
                    out.append(f"<{tag}{attrs}><p>{markup}</p></{tag}>")
                else:
                    out.append(f"<{tag}><p>{cell}</p></{tag}>" if cell else f"<{tag}><p /></{tag}>")
            out.append("</tr>")
        out.append("</tbody></table>")
        self.parts.append("".join(out))

    def code(self, language: str, code: str, title: str | None = None) -> None:
        """Append a code macro with a CDATA body."""
        params = f'<ac:parameter ac:name="language">{language}</ac:parameter>'
        if title:
            params += f'<ac:parameter ac:name="title">{_t(title)}</ac:parameter>'
        if self.rng.random() < 0.4:
            params += '<ac:parameter ac:name="linenumbers">true</ac:parameter>'
        safe = code.replace("]]>", "]]]]><![CDATA[>")
        self.parts.append(
            f"<ac:structured-macro {self._macro_attrs('code')}>{params}"
            f"<ac:plain-text-body><![CDATA[{safe}]]></ac:plain-text-body></ac:structured-macro>"
        )

    def panel(self, kind: str, body: Sequence[str], title: str | None = None) -> None:
        """Append an info/note/warning/tip macro (or a ``panel`` with colours) around block markup."""
        params = f'<ac:parameter ac:name="title">{_t(title)}</ac:parameter>' if title else ""
        if kind == "panel":
            params += (
                '<ac:parameter ac:name="bgColor">#DEEBFF</ac:parameter>'
                '<ac:parameter ac:name="borderStyle">solid</ac:parameter>'
            )
        self.parts.append(
            f"<ac:structured-macro {self._macro_attrs(kind)}>{params}"
            f"<ac:rich-text-body>{''.join(body)}</ac:rich-text-body></ac:structured-macro>"
        )

    def expand(self, title: str, body: Sequence[str]) -> None:
        """Append an expand macro."""
        self.parts.append(
            f"<ac:structured-macro {self._macro_attrs('expand')}>"
            f'<ac:parameter ac:name="title">{_t(title)}</ac:parameter>'
            f"<ac:rich-text-body>{''.join(body)}</ac:rich-text-body></ac:structured-macro>"
        )

    def status(self, colour: str, title: str) -> str:
        """Return an inline status lozenge."""
        return (
            f"<ac:structured-macro {self._macro_attrs('status')}>"
            f'<ac:parameter ac:name="colour">{colour}</ac:parameter>'
            f'<ac:parameter ac:name="title">{_t(title)}</ac:parameter></ac:structured-macro>'
        )

    def jira(self, key: str) -> str:
        """Return an inline Jira issue macro."""
        return (
            f"<ac:structured-macro {self._macro_attrs('jira')}>"
            '<ac:parameter ac:name="server">System JIRA</ac:parameter>'
            '<ac:parameter ac:name="serverId">2f3b3c4d-5e6f-4a1b-8c9d-0e1f2a3b4c5d</ac:parameter>'
            f'<ac:parameter ac:name="key">{_t(key)}</ac:parameter></ac:structured-macro>'
        )

    def toc(self) -> None:
        """Append a table-of-contents macro."""
        self.parts.append(
            f"<ac:structured-macro {self._macro_attrs('toc')}>"
            '<ac:parameter ac:name="minLevel">1</ac:parameter><ac:parameter ac:name="maxLevel">3</ac:parameter>'
            '<ac:parameter ac:name="style">disc</ac:parameter></ac:structured-macro>'
        )

    def children(self) -> None:
        """Append a children-display macro."""
        self.parts.append(
            f"<ac:structured-macro {self._macro_attrs('children')}>"
            '<ac:parameter ac:name="all">true</ac:parameter><ac:parameter ac:name="sort">title</ac:parameter>'
            "</ac:structured-macro>"
        )

    def page_ref(self, page_id: int, title: str, space_key: str) -> str:
        """Return a page reference for a macro parameter: by content id on Cloud, by title and space on DC."""
        if self.flavor == "cloud":
            return f'<ac:link><ri:page ri:content-id="{page_id}" /></ac:link>'
        return f'<ac:link><ri:page ri:space-key="{_a(space_key)}" ri:content-title="{_a(title)}" /></ac:link>'

    def referencing(self, name: str, ref: str, **params: str) -> None:
        """Append an include or excerpt-include macro of the page ``ref`` names (see :meth:`page_ref`)."""
        extra = "".join(f'<ac:parameter ac:name="{k}">{_t(v)}</ac:parameter>' for k, v in params.items())
        self.parts.append(
            f'<ac:structured-macro {self._macro_attrs(name)}>{extra}<ac:parameter ac:name="">{ref}</ac:parameter>'
            "</ac:structured-macro>"
        )

    def pagetree(self, start_depth: int) -> None:
        """Append a page-tree macro rooted at the space home."""
        self.parts.append(
            f'<ac:structured-macro {self._macro_attrs("pagetree")}><ac:parameter ac:name="root">'
            '<ac:link><ri:page ri:content-title="@home" /></ac:link></ac:parameter>'
            f'<ac:parameter ac:name="startDepth">{start_depth}</ac:parameter></ac:structured-macro>'
        )

    def gallery(self, listed: Sequence[str] = (), title: str | None = None) -> None:
        """Append a gallery of the page's images (only the ``listed`` ones when given)."""
        params = f'<ac:parameter ac:name="title">{_t(title)}</ac:parameter>' if title else ""
        if listed:
            params += f'<ac:parameter ac:name="include">{_t(",".join(listed))}</ac:parameter>'
        self.parts.append(f"<ac:structured-macro {self._macro_attrs('gallery')}>{params}</ac:structured-macro>")

    def details(self, bodies: Sequence[str]) -> None:
        """Append a Page Properties (details) macro with one rich-text body per item."""
        rich = "".join(f"<ac:rich-text-body>{body}</ac:rich-text-body>" for body in bodies)
        self.parts.append(f"<ac:structured-macro {self._macro_attrs('details')}>{rich}</ac:structured-macro>")

    def empty_code(self, title: str) -> None:
        """Append a titled code macro with no body (what a reader sees: an empty titled block)."""
        self.parts.append(
            f'<ac:structured-macro {self._macro_attrs("code")}><ac:parameter ac:name="title">{_t(title)}'
            "</ac:parameter></ac:structured-macro>"
        )

    def anchor(self, name: str) -> str:
        """Return an anchor macro."""
        return (
            f"<ac:structured-macro {self._macro_attrs('anchor')}>"
            f'<ac:parameter ac:name="">{_t(name)}</ac:parameter></ac:structured-macro>'
        )

    def anchor_link(self, anchor: str, text: str) -> str:
        """Return a link to an anchor on the same page."""
        return f'<ac:link ac:anchor="{_a(anchor)}"><ac:link-body>{_t(text)}</ac:link-body></ac:link>'

    def page_link(self, title: str, text: str | None = None, space_key: str | None = None) -> str:
        """Return a link to a page by title (optionally in another space)."""
        space = f' ri:space-key="{_a(space_key)}"' if space_key else ""
        version = f' ri:version-at-save="{self.rng.randint(1, 9)}"' if self.modern else ""
        card = ' ac:card-appearance="inline"' if self.modern else ""
        body = f"<ac:link-body>{_t(text)}</ac:link-body>" if text else ""
        return f'<ac:link{card}><ri:page{space} ri:content-title="{_a(title)}"{version} />{body}</ac:link>'

    def attachment_link(self, filename: str) -> str:
        """Return a link to an attachment of this page."""
        return (
            f'<ac:link><ri:attachment ri:filename="{_a(filename)}" />'
            f"<ac:plain-text-link-body><![CDATA[{filename}]]></ac:plain-text-link-body></ac:link>"
        )

    def mention(self, user: MentionUser) -> str:
        """Return a user mention (account id on Cloud, user key on Data Center)."""
        if self.flavor == "cloud":
            return f'<ac:link><ri:user ri:account-id="{_a(user.account_id)}" /></ac:link>'
        return f'<ac:link><ri:user ri:userkey="{_a(user.user_key)}" /></ac:link>'

    def image_attachment(self, att: BodyAttachment, caption: str | None = None) -> None:
        """Append an image stored as an attachment."""
        width = min(760, att.width)
        cap = f"<ac:caption><p>{_t(caption)}</p></ac:caption>" if caption else ""
        self.parts.append(
            f'<ac:image ac:align="center" ac:layout="center" ac:original-height="{att.height}" '
            f'ac:original-width="{att.width}" ac:custom-width="true" ac:alt="{_a(att.filename)}" ac:width="{width}">'
            f'<ri:attachment ri:filename="{_a(att.filename)}" ri:version-at-save="1" />{cap}</ac:image>'
        )

    def image_url(self, url: str) -> str:
        """Return an inline image loaded from a URL."""
        return f'<ac:image ac:height="250"><ri:url ri:value="{_a(url)}" /></ac:image>'

    def tasks(self, items: Sequence[tuple[bool, str]]) -> None:
        """Append a task list of ``(done, inline markup)`` items."""
        out = ["<ac:task-list>"]
        for n, (done, body) in enumerate(items, start=1):
            out.append(
                f"<ac:task><ac:task-id>{n}</ac:task-id><ac:task-uuid>{self.uid()}</ac:task-uuid>"
                f"<ac:task-status>{'complete' if done else 'incomplete'}</ac:task-status>"
                f"<ac:task-body>{body}</ac:task-body></ac:task>"
            )
        out.append("</ac:task-list>")
        self.parts.append("".join(out))

    def emoticon(self, name: str) -> str:
        """Return an emoticon in the flavour's markup."""
        if self.flavor == "cloud":
            short = {"tick": "check_mark", "cross": "cross_mark", "warning": "warning", "light-on": "light_bulb_on"}
            s = short.get(name, name)
            return (
                f'<ac:emoticon ac:name="{name}" ac:emoji-shortname=":{s}:" '
                f'ac:emoji-id="atlassian-{s}" ac:emoji-fallback=":{s}:" />'
            )
        return f'<ac:emoticon ac:name="{name}" />'

    def time(self, day: datetime) -> str:
        """Return a date lozenge."""
        return f'<time datetime="{day:%Y-%m-%d}" />'

    def placeholder(self, text: str) -> str:
        """Return an instructional placeholder (shown only in the editor)."""
        return f"<ac:placeholder>{_t(text)}</ac:placeholder>"

    def inline_comment(self, text: str) -> str:
        """Return text carrying an inline comment marker."""
        return f'<ac:inline-comment-marker ac:ref="{self.uid()}">{_t(text)}</ac:inline-comment-marker>'

    def layout(self, sections: Sequence[tuple[str, Sequence[Sequence[str]]]]) -> None:
        """Append a page layout: ``(section type, cells)`` where each cell is a list of block markup strings."""
        out = ["<ac:layout>"]
        for kind, cells in sections:
            out.append(f'<ac:layout-section ac:type="{kind}" ac:breakout-mode="default">')
            out.extend(f"<ac:layout-cell>{''.join(cell)}</ac:layout-cell>" for cell in cells)
            out.append("</ac:layout-section>")
        out.append("</ac:layout>")
        self.parts.append("".join(out))

    def take(self) -> list[str]:
        """Remove and return everything appended so far (to nest it into a layout or macro)."""
        parts, self.parts = self.parts, []
        return parts

    def result(self) -> str:
        """Return the body."""
        return "".join(self.parts)
