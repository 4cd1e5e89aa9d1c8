"""Storage-format (XHTML) bodies for generated sandbox pages.

Bodies are built on demand from ``(seed, page id, version)`` plus the page's small metadata, so a 40,000-page corpus
holds no body text in memory. They use the markup Confluence really stores (compare the bundled fixture pages):
headings, paragraphs, lists, tables with ``rowspan``/``colspan`` and ``th`` cells in ``tbody``, the ``code``,
``info``/``note``/``warning``/``tip``/``panel``, ``expand``, ``status``, ``jira``, ``toc``, ``children`` and
``anchor`` macros, page/attachment/anchor links, user mentions, images, task lists, layouts, emoticons, ``time``,
``ac:placeholder``, inline comment markers and HTML entities such as ``&nbsp;``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from random import Random
from typing import Any

from confluence_sandbox.topics import Subject, Topic, Variant


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


@dataclass(slots=True)
class BodyContext:
    """Everything a generated body depends on; all of it derives from the corpus seed and the page's metadata."""

    rng: Random
    flavor: str
    page_id: int
    title: str
    space_key: str
    topic: Topic
    variant: Variant
    subject: Subject
    code_term: str
    jira_key: str
    jira_project: str
    created: datetime
    author: MentionUser
    users: Sequence[MentionUser]
    attachments: Sequence[BodyAttachment]
    parent_title: str | None
    home_title: str | None
    version: int
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def ko(self) -> bool:
        """Whether the page is written in Korean."""
        return self.topic.lang == "ko"

    def fmt(self, template: str) -> str:
        """Fill a topic template with the subject's fields."""
        return template.format(**self.fields)


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


def _pick(rng: Random, options: Sequence[str]) -> str:
    return options[rng.randrange(len(options))]


# --- shared building blocks ---------------------------------------------------------------------------------------


def _owner_block(w: StorageWriter, c: BodyContext) -> None:
    reviewed = c.created + timedelta(days=c.rng.randint(1, 60))
    state = _pick(c.rng, ("Green:REVIEWED", "Yellow:IN PROGRESS", "Blue:DRAFT", "Green:APPROVED"))
    colour, label = state.split(":")
    kind = "panel" if c.rng.random() < 0.3 else "info"
    if c.ko:
        w.panel(
            kind,
            [
                f"<p><strong>담당</strong>: {w.mention(c.author)} ({_t(c.subject.team_ko)})</p>",
                f"<p><strong>문서 상태</strong>: {w.status(colour, label)}&nbsp;&nbsp;<strong>최종 검토</strong>: "
                f"{w.time(reviewed)}</p>",
            ],
            title="문서 정보",
        )
    else:
        w.panel(
            kind,
            [
                f"<p><strong>Owner</strong>: {w.mention(c.author)} ({_t(c.subject.team)})</p>",
                f"<p><strong>Status</strong>: {w.status(colour, label)}&nbsp;&nbsp;<strong>Last reviewed</strong>: "
                f"{w.time(reviewed)}</p>",
            ],
            title="About this page",
        )


def _related(w: StorageWriter, c: BodyContext) -> None:
    w.h(2, "관련 문서" if c.ko else "Related pages")
    items = []
    if c.parent_title:
        items.append(w.page_link(c.parent_title, c.parent_title))
    if c.home_title:
        items.append(w.page_link(c.home_title, c.home_title))
    if c.subject.kind == "service" and c.space_key != "OPS" and c.rng.random() < 0.3:
        runbooks = "Runbooks"
        items.append(w.page_link(runbooks, f"OPS {runbooks}", space_key="OPS"))
    others = [a for a in c.attachments if not a.media_type.startswith("image/")]
    items.extend(w.attachment_link(a.filename) for a in others)
    items.append(("관련 이슈: " if c.ko else "Tracking issue: ") + w.jira(c.jira_key))
    w.ul(items)
    if c.rng.random() < 0.15:
        w.children()


def _changelog(w: StorageWriter, c: BodyContext) -> None:
    if c.version < 2:
        return
    rng = Random(f"{c.page_id}:changelog")
    notes_ko = ("오타 수정", "절차 보완", "명령어 업데이트", "담당자 변경", "스크린샷 교체", "링크 정리")
    notes_en = ("Fix typos", "Clarify steps", "Update commands", "New owner", "Replace screenshot", "Tidy links")
    notes = notes_ko if c.ko else notes_en
    first = max(2, c.version - 9)
    rows = [[f"v{n}", _t(notes[rng.randrange(len(notes))] + f" (r{n})")] for n in range(first, c.version + 1)]
    w.h(2, "변경 이력" if c.ko else "Change log")
    w.table(["버전", "변경 내용"] if c.ko else ["Version", "Change"], rows, widths=[120, 640])


def _images(w: StorageWriter, c: BodyContext, caption: str) -> None:
    for att in c.attachments:
        if att.media_type.startswith("image/"):
            w.image_attachment(att, caption if c.rng.random() < 0.6 else None)
            return


def _cmds(c: BodyContext) -> str:
    s = c.subject.name
    return (
        f"kubectl -n {s} get pods -l app={s} -o wide\n"
        f"kubectl -n {s} logs deploy/{s} --since=15m | grep -E 'ERROR|{c.code_term}'\n"
        f"kubectl -n {s} top pods --sort-by=memory\n"
    )


# --- shapes -------------------------------------------------------------------------------------------------------


def _runbook(w: StorageWriter, c: BodyContext) -> None:
    s, ko = c.subject.name, c.ko
    _owner_block(w, c)
    w.h(2, "개요" if ko else "Overview")
    w.p(w.text(c.fmt(c.variant.focus)))
    w.p(
        w.text(
            f"알림 이름은 {c.subject.code}_{c.variant.terms[0].upper().replace(' ', '_')}이며 "
            f"#{s}-oncall 채널로 전달됩니다. 관련 오류 코드: "
            if ko
            else f"The alert is {c.subject.code}_{c.variant.terms[0].upper().replace(' ', '_')} and pages "
            f"#{s}-oncall. Related error code: "
        ),
        f"<code>{_t(c.code_term)}</code>.",
    )
    w.h(2, "증상" if ko else "Symptoms")
    sym = (
        [f"{c.variant.terms[0]} 알림 발생", f"{c.variant.terms[1]} 지표 상승", "고객 문의 증가"]
        if ko
        else [f"{c.variant.terms[0]} alert firing", f"{c.variant.terms[1]} going up", "customer tickets"]
    )
    w.ul([w.text(x) for x in sym])
    w.h(2, "진단" if ko else "Diagnosis")
    w.p(w.text("먼저 파드 상태와 최근 로그를 확인합니다." if ko else "Check the pods and the recent logs first."))
    w.code("bash", _cmds(c), title="진단 명령어" if ko else "Diagnose")
    w.table(
        ["확인 항목", "정상", "비정상일 때"] if ko else ["Check", "Healthy", "When unhealthy"],
        [
            [
                w.text("에러율" if ko else "Error ratio"),
                "&lt; 0.5%",
                (w.anchor_link("mitigation", "조치 1" if ko else "Mitigation, step 1"), 2, 1),
            ],
            [w.text("p99 지연" if ko else "p99 latency"), "&lt; 800 ms"],
            [
                w.text(f"{c.subject.store} 커넥션" if ko else f"{c.subject.store} connections"),
                "&lt; 80%",
                w.text("커넥션 풀 확인" if ko else "check the pool"),
            ],
        ],
        widths=[220, 200, 340],
    )
    w.p(w.anchor("mitigation"))
    w.h(2, "조치" if ko else "Mitigation")
    steps = (
        [
            f"트래픽을 확인하고 필요하면 <code>kubectl -n {s} scale deploy/{s} --replicas=6</code> 으로 확장합니다.",
            "최근 배포가 있었다면 롤백합니다.",
            f"30분 안에 회복되지 않으면 {w.mention(c.users[0])} 에게 에스컬레이션합니다.",
        ]
        if ko
        else [
            f"Check traffic and scale out with <code>kubectl -n {s} scale deploy/{s} --replicas=6</code> if needed.",
            "Roll back if a deployment happened in the last hour.",
            f"Escalate to {w.mention(c.users[0])} if it does not recover within 30 minutes.",
        ]
    )
    w.ul(steps, ordered=True)
    w.panel(
        "warning",
        [
            "<p>"
            + w.text(
                f"{c.subject.store} 를 재시작하지 마세요. 데이터 손실 위험이 있습니다."
                if ko
                else f"Never restart {c.subject.store} during business hours: failover takes minutes."
            )
            + "</p>"
        ],
        title="주의" if ko else "Caution",
    )
    w.h(2, "에스컬레이션" if ko else "Escalation")
    w.tasks(
        [
            (False, w.text("인시던트 채널 생성" if ko else "Open an incident channel")),
            (False, w.text("상태 페이지 업데이트" if ko else "Update the status page")),
            (True, w.text("담당자 호출 확인" if ko else "On-call acknowledged")),
        ]
    )
    _images(w, c, "Grafana 대시보드" if ko else "Grafana dashboard")


def _procedure(w: StorageWriter, c: BodyContext) -> None:
    s, ko = c.subject.name, c.ko
    if c.rng.random() < 0.5:
        w.toc()
    _owner_block(w, c)
    w.h(2, "목적" if ko else "Purpose")
    w.p(w.text(c.fmt(c.variant.focus)))
    w.h(2, "사전 준비" if ko else "Before you start")
    w.tasks(
        [
            (True, w.text(f"{s} 저장소 접근 권한" if ko else f"Access to the {s} repository")),
            (False, w.text("운영 클러스터 kubectl 컨텍스트" if ko else "kubectl context for production")),
            (False, w.text("변경 티켓 승인" if ko else "An approved change ticket ") + w.jira(c.jira_key)),
        ]
    )
    w.h(2, "절차" if ko else "Steps")
    w.p(
        w.text("1단계: 현재 상태를 확인합니다." if ko else "Step 1: check the current state."),
        w.emoticon("light-on"),
    )
    w.code("bash", _cmds(c), title="상태 확인" if ko else "Check")
    w.p(w.text("2단계: 변경을 적용합니다." if ko else "Step 2: apply the change."))
    term = c.variant.terms[0].replace(" ", "-")
    w.code(
        "bash",
        f"git switch -c {term}/{c.code_term.lower()}\n"
        f"./gradlew :{s}:check\n"
        f"argocd app sync {s}-prod --prune --timeout 600\n"
        f"kubectl -n {s} rollout status deploy/{s} --timeout=10m\n",
        title=c.variant.terms[0],
    )
    w.p(
        w.text("3단계: 결과를 확인합니다. 오류 코드 " if ko else "Step 3: verify. Error code "),
        f"<code>{_t(c.code_term)}</code>",
        w.text(" 가 보이면 중단하고 롤백합니다." if ko else " means stop and roll back."),
    )
    w.panel(
        "tip",
        ["<p>" + w.text(f"{c.variant.terms[1]}: " + c.fmt(c.variant.focus)) + "</p>"],
        title="팁" if ko else "Tip",
    )
    if c.rng.random() < 0.5:
        w.expand(
            "자세한 설정 보기" if ko else "Show the full configuration",
            [
                "<p>"
                + w.text("values-prod.yaml 발췌:" if ko else "Excerpt of values-prod.yaml:")
                + "</p>"
                + f'<ac:structured-macro ac:name="code" ac:schema-version="1"><ac:parameter ac:name="language">yaml'
                f"</ac:parameter><ac:plain-text-body><![CDATA[replicaCount: 4\nimage:\n  repository: "
                f"registry.example.internal/{s}\nresources:\n  limits:\n    memory: 2Gi\n]]>"
                f"</ac:plain-text-body></ac:structured-macro>"
            ],
        )
    _images(w, c, "Argo CD 화면" if ko else "Argo CD")


def _design(w: StorageWriter, c: BodyContext) -> None:
    s = c.subject.name
    _owner_block(w, c)
    w.h(1, "Context")
    w.p(w.text(c.fmt(c.variant.focus)))
    w.p(
        w.text(f"Today {s} serves about {c.rng.randint(2, 90)}k requests per second from {c.subject.store}. "),
        w.inline_comment(f"The {c.variant.terms[0]} work is tracked in "),
        w.jira(c.jira_key),
        ".",
    )
    w.h(1, "Decision" if c.topic.key == "adr_en" else "Proposal")
    w.ul(
        [
            w.text(f"Introduce {c.variant.terms[0]} in {s}."),
            w.text(f"Keep {c.variant.terms[1]} behind a feature flag ({s}.{term(c)}.enabled)."),
            w.text(f"Measure with the {c.variant.terms[2]} dashboard before and after."),
        ]
    )
    if c.subject.stack in ("Kotlin", "Java", "Scala"):
        sketch = (
            f'// {c.variant.terms[0]}\nval key = request.header("Idempotency-Key") ?: error("{c.code_term}")\n'
            "repository.findResult(key)?.let { return it }\n"
        )
        w.code("kotlin", sketch, title="Sketch")
    else:
        sketch = (
            f'# {c.variant.terms[0]}\nkey = request.headers.get("Idempotency-Key")\n'
            f'if key is None:\n    raise ApiError("{c.code_term}")\n'
            "if (done := repository.find_result(key)) is not None:\n    return done\n"
        )
        w.code("python", sketch, title="Sketch")
    w.h(1, "Alternatives")
    w.table(
        ["Option", "Pros", "Cons"],
        [
            [w.text(f"{c.variant.terms[0]} (chosen)"), w.text("Simple, proven"), w.text("Migration effort")],
            [w.text("Do nothing"), w.text("No work"), w.text("Incidents continue")],
            [w.text("Buy a vendor product"), ("Fast to start", 1, 1), w.text("Cost, lock-in")],
        ],
        widths=[240, 260, 260],
        header_column=True,
    )
    w.panel("note", [f"<p>{w.text('Open question: ')}{w.placeholder('Add the capacity estimate here')}</p>"])
    w.h(1, "Rollout")
    w.tasks(
        [
            (True, w.text("Design review with ") + w.mention(c.users[0])),
            (False, w.text("Shadow traffic for one week")),
            (False, w.text("Enable for 100% of tenants")),
        ]
    )
    _images(w, c, "Architecture diagram")


def term(c: BodyContext) -> str:
    """Return the variant's first term as a config-key fragment."""
    return c.variant.terms[0].replace(" ", "-").replace(".", "")


def _incident(w: StorageWriter, c: BodyContext) -> None:
    ko = c.ko
    day = c.created - timedelta(days=c.rng.randint(1, 5))
    w.layout(
        [
            (
                "two_equal",
                [
                    [
                        f"<p><strong>{'심각도' if ko else 'Severity'}</strong>: {w.status('Red', 'SEV2')}</p>",
                        f"<p><strong>{'발생일' if ko else 'Date'}</strong>: {w.time(day)}</p>",
                    ],
                    [
                        f"<p><strong>{'작성자' if ko else 'Author'}</strong>: {w.mention(c.author)}</p>",
                        f"<p><strong>Jira</strong>: {w.jira(c.jira_key)}</p>",
                    ],
                ],
            )
        ]
    )
    w.h(2, "요약" if ko else "Summary")
    w.p(w.text(c.fmt(c.variant.focus)))
    w.h(2, "타임라인 (KST)" if ko else "Timeline (UTC)")
    t0 = day.replace(hour=c.rng.randint(0, 20), minute=c.rng.randint(0, 59))
    rows = []
    events = (
        ("알림 발생", "담당자 확인", "원인 파악", "조치 완료")
        if ko
        else ("Alert fired", "On-call acknowledged", "Root cause found", "Mitigated")
    )
    for i, ev in enumerate(events):
        rows.append([(t0 + timedelta(minutes=7 * i + i * i)).strftime("%H:%M"), w.text(ev)])
    w.table(["시각" if ko else "Time", "내용" if ko else "Event"], rows, widths=[120, 640])
    w.h(2, "근본 원인" if ko else "Root cause")
    w.p(
        w.text(f"{c.variant.terms[0]} — "),
        w.text("오류 코드 " if ko else "error code "),
        f"<code>{_t(c.code_term)}</code>",
        w.text(" 가 로그에 남았습니다." if ko else " appeared in the logs."),
    )
    w.code("text", f"{day:%Y-%m-%dT%H:%M:%S}Z ERROR [{c.subject.name}] {c.code_term}: {c.variant.terms[1]}\n")
    w.h(2, "재발 방지 대책" if ko else "Action items")
    w.tasks(
        [
            (False, w.text(f"{c.variant.terms[2]} " + ("모니터링 추가" if ko else "monitoring")) + w.jira(c.jira_key)),
            (True, w.text("런북 업데이트" if ko else "Update the runbook")),
            (False, w.text("부하 테스트" if ko else "Load test") + " " + w.mention(c.users[-1])),
        ]
    )
    w.p(w.emoticon("cross"), w.text(" 고객 영향 있음" if ko else " Customer impact: yes"))


def _datapipe(w: StorageWriter, c: BodyContext) -> None:
    s = c.subject.name
    if c.rng.random() < 0.6:
        w.toc()
    _owner_block(w, c)
    w.h(2, "개요")
    w.p(w.text(c.fmt(c.variant.focus)))
    w.table(
        ["항목", "값"],
        [
            ["DAG", f"<code>dag_{s}</code>"],
            [w.text("스케줄"), "<code>0 18 * * *</code> (UTC) = 03:00 KST"],
            [w.text("원천"), w.text(f"{c.subject.stack} → {c.subject.store}")],
            [w.text("대상 테이블"), f"<code>analytics.{s}</code>"],
            [w.text("점검 ID"), f"<code>{_t(c.code_term)}</code>"],
        ],
        widths=[200, 560],
        header_column=True,
    )
    w.h(2, c.variant.terms[0])
    w.code(
        "bash",
        f"airflow dags backfill dag_{s} -s 2025-01-01 -e 2025-01-31 --reset-dagruns\n"
        f"airflow tasks clear dag_{s} -t load_{s} -s 2025-01-01 -e 2025-01-01 -y\n",
        title="Airflow CLI",
    )
    w.code(
        "sql",
        f"SELECT dt, COUNT(*) AS rows, COUNT(DISTINCT id) AS ids\nFROM analytics.{s}\n"
        f"WHERE dt >= DATE_SUB(CURRENT_DATE(), INTERVAL 7 DAY)\nGROUP BY dt ORDER BY dt;\n",
        title="행 수 점검",
    )
    w.panel(
        "note",
        ["<p>" + w.text(f"{c.variant.terms[1]}: 작업 전 #data-ops 채널에 공지합니다.") + "</p>"],
        title="공지",
    )
    w.h(2, "실패 시 조치")
    w.ul(
        [
            w.text("Airflow UI에서 실패한 태스크 로그를 확인합니다."),
            w.text("원천 데이터 지연이면 2시간 뒤 재실행합니다."),
            w.text("그 외에는 데이터 엔지니어 온콜에게 연락합니다: ") + w.mention(c.users[0]),
        ],
        ordered=True,
    )
    _images(w, c, "Airflow DAG 그래프")


def _reference(w: StorageWriter, c: BodyContext) -> None:
    s, ko = c.subject.name, c.ko
    _owner_block(w, c)
    w.h(2, "개요" if ko else "Overview")
    w.p(w.text(c.fmt(c.variant.focus)))
    if c.subject.kind == "dataset":
        w.table(
            ["컬럼", "타입", "설명"],
            [
                ["<code>id</code>", "STRING", w.text("고유 키")],
                ["<code>dt</code>", "DATE", w.text("파티션 키 (KST 기준 일자)")],
                ["<code>amount</code>", "NUMERIC", w.text("금액 (원)")],
                ["<code>updated_at</code>", "TIMESTAMP", w.text("최종 수정 시각 (UTC)")],
            ],
            widths=[200, 160, 400],
        )
        w.p(w.text("보존 기간: 3년. 점검 ID: "), f"<code>{_t(c.code_term)}</code>")
    elif c.topic.key == "monitoring_ko":
        metric = s.replace("-", "_")
        errors = f'sum(rate(http_requests_total{{app="{s}",code=~"5.."}}[5m]))'
        latency = f"histogram_quantile(0.99, rate({metric}_seconds_bucket[5m]))"
        w.table(
            ["패널", "쿼리", "임계치"],
            [
                [w.text("에러율"), f"<code>{_a(errors)}</code>", "2%"],
                [w.text("p99 지연"), f"<code>{_t(latency)}</code>", "800ms"],
                [w.text("포화도"), "<code>container_memory_working_set_bytes</code>", "85%"],
            ],
            widths=[160, 440, 160],
        )
        w.p(w.image_url(f"https://grafana.example.internal/render/d/{s}/overview.png"))
        w.p(w.text("알림 코드: "), f"<code>{_t(c.code_term)}</code>")
    else:
        w.table(
            ["Method", "Path", "Description"],
            [
                ["GET", f"<code>/api/v1/{s}/items</code>", w.text("List items (cursor pagination)")],
                ["POST", f"<code>/api/v1/{s}/items</code>", w.text("Create an item (idempotent)")],
                [("DELETE", 1, 1), f"<code>/api/v1/{s}/items/{{id}}</code>", w.text("Delete an item")],
            ],
            widths=[120, 320, 320],
        )
        w.h(3, "Errors")
        w.table(
            ["Code", "HTTP", "Meaning"],
            [
                [f"<code>{_t(c.code_term)}</code>", "409", w.text(f"{c.variant.terms[0]}: conflicting request")],
                [f"<code>{c.subject.code}-E0001</code>", "401", w.text("Missing or expired token")],
            ],
            widths=[200, 100, 460],
        )
        w.code(
            "bash",
            f'curl -s -H "Authorization: Bearer $TOKEN" https://api.example.internal/api/v1/{s}/items?limit=50\n',
            title="Example",
        )
        w.code("json", '{\n  "items": [],\n  "next_cursor": null,\n  "error": null\n}\n')


def _onboarding(w: StorageWriter, c: BodyContext) -> None:
    s = c.subject.name
    w.layout(
        [
            (
                "two_equal",
                [
                    ["<p>" + w.text(c.fmt(c.variant.focus)) + "</p>"],
                    [
                        "<p><strong>버디</strong>: " + w.mention(c.users[0]) + "</p>",
                        "<p><strong>팀</strong>: " + w.text(c.subject.team_ko) + "</p>",
                    ],
                ],
            ),
            ("single", [[f"<h2>{_t(c.variant.terms[0])}</h2>"]]),
        ]
    )
    w.tasks(
        [
            (False, w.text("GitHub 조직 초대 수락")),
            (False, w.text("VPN, Okta MFA 설정")),
            (False, w.text(f"{s} 저장소 클론 후 빌드")),
            (False, w.text("보안 교육 이수 ") + w.time(c.created + timedelta(days=7))),
        ]
    )
    w.code(
        "bash",
        f"git clone git@github.example.com:acme/{s}.git\ncd {s}\ncp .env.example .env\n"
        f"docker compose up -d {c.subject.store.lower().replace(' ', '-')}\nmake run\n",
        title="로컬 실행",
    )
    w.panel("tip", ["<p>" + w.text("막히면 #onboarding 채널에 질문하세요. ") + w.emoticon("tick") + "</p>"])
    w.p(w.text("빌드 오류 코드 "), f"<code>{_t(c.code_term)}</code>", w.text(" 는 JDK 버전 불일치입니다."))
    _images(w, c, "개발 환경 구성도")


def _meeting(w: StorageWriter, c: BodyContext) -> None:
    day = c.created
    w.h(2, "일시 및 참석자")
    w.ul(
        [
            w.time(day) + " 10:00–11:00",
            " ".join(w.mention(u) for u in c.users[:3]),
        ]
    )
    w.h(2, "안건")
    w.p(w.text(c.fmt(c.variant.focus)))
    w.table(
        ["안건", "담당", "결정"],
        [
            [w.text(f"{c.subject.ko} {c.variant.terms[0]}"), w.mention(c.users[0]), w.status("Green", "결정")],
            [w.text(c.variant.terms[1]), w.mention(c.users[1]), w.status("Yellow", "보류")],
            [w.text(c.variant.terms[2]), (w.mention(c.users[2]), 1, 1), w.placeholder("결정 사항 입력")],
        ],
        widths=[360, 200, 200],
    )
    w.h(2, "액션 아이템")
    w.tasks(
        [
            (False, w.mention(c.users[0]) + w.text(f" {c.subject.name} 지표 공유 (참조 {c.code_term})")),
            (True, w.mention(c.users[1]) + w.text(" 지난 액션 아이템 확인")),
        ]
    )
    w.p(w.text("다음 회의: "), w.time(day + timedelta(days=7)), " ", w.jira(c.jira_key))


def _release(w: StorageWriter, c: BodyContext) -> None:
    w.p(w.status("Green", "RELEASED"), " ", w.time(c.created))
    w.p(w.text(c.fmt(c.variant.focus)))
    w.h(2, "Highlights")
    w.ul([w.text(t) for t in c.variant.terms] + [w.text(f"Fixed {c.code_term}") + " " + w.jira(c.jira_key)])
    w.h(2, "Upgrade notes")
    w.panel("warning", ["<p>" + w.text(f"Back up {c.subject.store} before upgrading.") + "</p>"])
    w.code("bash", f"helm upgrade {c.subject.name} charts/{c.subject.name} -f values-prod.yaml --atomic\n")
    w.expand(
        "Full change list",
        [
            "<ul>"
            + "".join(f"<li><p>{w.text(f'{c.subject.code}-{100 + i}: change {i}')}</p></li>" for i in range(5))
            + "</ul>"
        ],
    )


def _faq(w: StorageWriter, c: BodyContext) -> None:
    s = c.subject.name
    w.toc()
    w.p(w.text(c.fmt(c.variant.focus)))
    qa = (
        (f"{s} 토큰은 어디서 발급받나요?", "identity-broker 콘솔에서 클라이언트를 등록하면 발급됩니다."),
        (f"{c.code_term} 오류가 나요.", f"{c.variant.terms[0]} 설정을 확인하세요. 대부분 잘못된 스코프입니다."),
        ("호출 한도는 얼마인가요?", "토큰당 분당 600회입니다. 초과하면 429를 반환합니다."),
    )
    for q, a in qa:
        w.h(3, q)
        w.p(w.text(a))
    w.panel("info", ["<p>" + w.text("더 궁금한 점은 ") + w.mention(c.users[0]) + w.text(" 에게 문의하세요.") + "</p>"])


def _policy(w: StorageWriter, c: BodyContext) -> None:
    ko = c.ko
    _owner_block(w, c)
    w.h(2, "요약" if ko else "Summary")
    w.p(w.text(c.fmt(c.variant.focus)))
    w.table(
        ["구분", "기준", "비고"] if ko else ["Case", "Rule", "Notes"],
        [
            [(w.text("정규직" if ko else "Full-time"), 2, 1), w.text("입사일 기준" if ko else "From day one"), ""],
            [w.text("연 15일" if ko else "Up to 15 days a year"), w.text("이월 불가" if ko else "No carry-over")],
            [w.text("계약직" if ko else "Contractors"), (w.text("계약서에 따름" if ko else "Per contract"), 1, 2)],
        ],
        widths=[200, 300, 260],
    )
    w.p(w.text("문서 번호: " if ko else "Policy id: "), f"<code>{_t(c.code_term)}</code>")
    w.h(2, "신청 방법" if ko else "How to request")
    w.ul(
        [
            w.text("Workday 접속 → 요청 → " if ko else "Workday → Requests → ") + w.text(c.subject.name),
            w.text("팀장 승인" if ko else "Manager approval"),
            w.text("피플팀 확인 (3영업일 이내)" if ko else "People team confirms within 3 business days"),
        ],
        ordered=True,
    )
    w.panel("note", ["<p>" + w.text(f"{c.variant.terms[0]}: #people-help") + "</p>"])


SHAPES: dict[str, Callable[[StorageWriter, BodyContext], None]] = {
    "runbook": _runbook,
    "procedure": _procedure,
    "design": _design,
    "incident": _incident,
    "datapipe": _datapipe,
    "reference": _reference,
    "onboarding": _onboarding,
    "meeting": _meeting,
    "release": _release,
    "faq": _faq,
    "policy": _policy,
}


def render_topic_body(c: BodyContext) -> str:
    """Render the body of a generated topic page.

    Args:
        c: The page's body context.

    Returns:
        Storage-format XHTML.
    """
    w = StorageWriter(c.rng, c.flavor)
    SHAPES[c.topic.shape](w, c)
    _related(w, c)
    _changelog(w, c)
    _extras(w, c)
    return w.result()


def _extras(w: StorageWriter, c: BodyContext) -> None:
    """Page Properties with several bodies, empty titled code blocks and galleries, on some pages.

    Appended last with their own RNG, so the rest of every body is what it was before they existed.
    """
    rng = Random(f"{c.page_id}:extras")
    images = [a.filename for a in c.attachments if a.media_type.startswith("image/")]
    if rng.random() < 0.2:
        w.details(
            [
                f"<table><tbody><tr><th>{_t('담당 팀' if c.ko else 'Team')}</th><td>"
                f"{_t(c.subject.team_ko if c.ko else c.subject.team)}</td></tr></tbody></table>",
                f"<p>{_t('검토 주기: 분기' if c.ko else 'Review cycle: quarterly')}</p>",
            ]
        )
    if rng.random() < 0.1:
        w.empty_code("output.log")
    if images and rng.random() < 0.25:
        w.gallery(images[:1] if rng.random() < 0.5 else (), title="스크린샷" if c.ko else "Screenshots")


def render_index_body(
    rng: Random,
    flavor: str,
    *,
    title: str,
    description: str,
    korean: bool,
    owner: MentionUser,
    version: int,
    page_id: int,
    space_key: str = "",
    home: bool = False,
    featured: tuple[int, str] | None = None,
) -> str:
    """Render the body of a space home, section or folder page (an overview and a children macro).

    A space home also shows a page tree and includes ``featured`` (its first section); a section shows the excerpt
    of ``featured`` (its first child).

    Args:
        rng: The page's RNG.
        flavor: ``cloud`` or ``dc``.
        title: The page's title.
        description: One sentence about what the page collects.
        korean: Whether to write Korean text.
        owner: The page's owner, mentioned in the body.
        version: The page's version (later versions add a change log).
        page_id: The page's id.
        space_key: The page's space.
        home: Whether the page is the space's home page.
        featured: (id, title) of a child page to include (home) or to show the excerpt of (section).

    Returns:
        Storage-format XHTML.
    """
    w = StorageWriter(rng, flavor)
    w.p(w.text(description))
    if rng.random() < 0.5:
        w.panel(
            "info",
            [
                "<p>"
                + w.text("이 공간의 담당자: " if korean else "Space owner: ")
                + w.mention(owner)
                + w.emoticon("tick")
                + "</p>"
            ],
        )
    w.h(2, "하위 문서" if korean else "In this section")
    w.children()
    if version > 1:
        w.p(
            w.text(("마지막 정리: " if korean else "Last tidied: ") + f"r{version}"),
            "&nbsp;",
            w.text(f"({title})"),
        )
    # Macros showing other pages, appended last (and deterministic without the page's RNG) so nothing above moves.
    if home:
        w.pagetree(2)
    if featured is not None:
        ref = w.page_ref(featured[0], featured[1], space_key)
        if home:
            w.referencing("include", ref)
        else:
            w.referencing("excerpt-include", ref, nopanel="true" if page_id % 2 else "false")
    return w.result()


def revision_note(version: int, korean: bool) -> str:
    """Return the paragraph appended to a stored body for a body-less edit.

    Args:
        version: The version the note is for.
        korean: Whether to write Korean text.

    Returns:
        Storage-format XHTML.
    """
    text = f"r{version}: 문서를 다시 검토했습니다." if korean else f"r{version}: page reviewed again."
    return f"<p>{_t(text)}</p>"


def to_utc(ms: int) -> datetime:
    """Convert epoch milliseconds to an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
