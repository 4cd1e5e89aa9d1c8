"""What a generated body depends on (:class:`BodyContext`) and the building blocks that every shape shares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from random import Random
from typing import Any

from confluence_sandbox.bodies.writer import BodyAttachment, MentionUser, StorageWriter, _t
from confluence_sandbox.topics import Subject, Topic, Variant


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
