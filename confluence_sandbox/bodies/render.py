"""The bodies the corpus asks for: topic pages, index pages (home, section, folder) and revision notes."""

from __future__ import annotations

from datetime import UTC, datetime
from random import Random

from confluence_sandbox.bodies.blocks import BodyContext, _changelog, _related
from confluence_sandbox.bodies.shapes import SHAPES
from confluence_sandbox.bodies.writer import MentionUser, StorageWriter, _t


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
