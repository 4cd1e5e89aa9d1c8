"""Page bodies and attachments, rebuilt on demand from the corpus seed and each page's metadata."""

from __future__ import annotations

import re
import uuid
from random import Random
from urllib.parse import quote

from confluence_sandbox import bodies, real_bodies
from confluence_sandbox.corpus.index import CorpusIndex
from confluence_sandbox.corpus.model import (
    KIND_FIXTURE,
    KIND_FOLDER,
    KIND_HOME,
    KIND_SECTION,
    USERS,
    Attachment,
    Page,
    _code_term,
    _label_slug,
    _subjects,
)
from confluence_sandbox.topics import TOPICS

_PARAM_RE = re.compile(
    r"<ac:parameter[^>]*/>|<ac:parameter[^>]*>.*?</ac:parameter>|<ac:task-(id|uuid|status)>.*?</ac:task-\1>", re.S
)
_TAG_RE = re.compile(r"<!\[CDATA\[|\]\]>|<[^>]+>")
_WS_RE = re.compile(r"\s+")
_ENTITY_RE = re.compile(r"&(nbsp|amp|lt|gt|quot|rarr|lsquo|rsquo|ldquo|rdquo|#\d+);")
_ENTITIES = {"nbsp": " ", "amp": "&", "lt": "<", "gt": ">", "quot": '"', "rarr": "→"}


def plain_text(storage: str, limit: int | None = None) -> str:
    """Strip storage markup down to whitespace-normalised text.

    Args:
        storage: Storage-format XHTML.
        limit: Optional maximum length (characters) of the result.

    Returns:
        The text.
    """
    # Macro parameters (colours, server ids, languages) and task ids are not text a reader sees.
    text = _PARAM_RE.sub(" ", storage if limit is None else storage[: limit * 12])
    text = _TAG_RE.sub(" ", text)
    text = _ENTITY_RE.sub(lambda m: _ENTITIES.get(m.group(1), "'"), text)
    text = _WS_RE.sub(" ", text).strip()
    return text if limit is None else text[:limit]


class CorpusContent(CorpusIndex):
    """The corpus's page bodies (storage format) and attachments."""

    def body(self, page: Page) -> str:
        """Return a page's storage-format body at its current version.

        Generated bodies are rebuilt from ``(seed, page id, version)`` and the page's metadata; the last 256 are
        kept in a small cache.
        """
        key = (page.id, page.version, self.generation)
        with self.lock:
            cached = self._body_cache.get(key)
            if cached is not None:
                self._body_cache.move_to_end(key)
                return cached
            value = self._render_body(page)
            self._body_cache[key] = value
            while len(self._body_cache) > 256:
                self._body_cache.popitem(last=False)
        return value

    def _korean_page(self, page: Page) -> bool:
        if page.topic >= 0:
            return TOPICS[page.topic].lang == "ko"
        space = self.spaces.get(page.space_key)
        return bool(space and space.korean)

    def _render_body(self, page: Page) -> str:
        korean = self._korean_page(page)
        if page.body_override is not None:
            base = page.body_override
            notes = range(page.override_version + 1, page.version + 1)
        elif page.topic == KIND_FIXTURE:
            base = self._fixtures[page.id].body()
            notes = range(2, page.version + 1)
        else:
            return self._render_generated(page, korean)
        return base + "".join(bodies.revision_note(v, korean) for v in notes)

    def _render_generated(self, page: Page, korean: bool) -> str:
        rng = Random(f"{self.seed}:{page.id}:body")
        owner = self.users[page.creator].mention()
        if page.topic < 0:
            space = self.spaces[page.space_key]
            description = {
                KIND_HOME: space.description,
                KIND_SECTION: f"{page.title}: {space.name}",
                KIND_FOLDER: f"{page.title} ({space.name})",
            }.get(page.topic, page.title)
            kids = self.children(page.id)
            return bodies.render_index_body(
                rng,
                self.flavor,
                title=page.title,
                description=description,
                korean=korean,
                owner=owner,
                version=page.version,
                page_id=page.id,
                space_key=page.space_key,
                home=page.topic == KIND_HOME,
                featured=(kids[0].id, kids[0].title) if kids and page.topic in (KIND_HOME, KIND_SECTION) else None,
            )
        topic = TOPICS[page.topic]
        subject = _subjects(topic)[page.subject]
        if self.profile == "real":
            return real_bodies.render_real_body(self.seed, page.id, page.title, _code_term(subject, page.ordinal))
        variant = topic.variants[page.variant]
        parent = self._pages.get(page.parent_id) if page.parent_id is not None else None
        home = self.space_home(page.space_key)
        mention_pool = [u.mention() for u in USERS]
        rng.shuffle(mention_pool)
        ctx = bodies.BodyContext(
            rng=rng,
            flavor=self.flavor,
            page_id=page.id,
            title=page.title,
            space_key=page.space_key,
            topic=topic,
            variant=variant,
            subject=subject,
            code_term=_code_term(subject, page.ordinal),
            jira_key=self._jira_key(page),
            jira_project=self.spaces[page.space_key].jira_project,
            created=bodies.to_utc(page.created_ms),
            author=owner,
            users=mention_pool[:4],
            attachments=[
                bodies.BodyAttachment(a.title, a.media_type, a.width, a.height) for a in self.attachments(page)
            ],
            parent_title=parent.title if parent is not None and parent.status == "current" else None,
            home_title=home.title if home is not None and home.id != page.id else None,
            version=page.version,
            fields=subject.fields(),
        )
        return bodies.render_topic_body(ctx)

    def attachments(self, page: Page) -> tuple[Attachment, ...]:
        """Return a page's attachments (real ones for fixture pages, generated ones otherwise)."""
        if page.topic == KIND_FIXTURE:
            fixture = self._fixtures[page.id]
            return tuple(
                Attachment(
                    id=a.id,
                    title=a.title,
                    media_type=a.media_type,
                    media_type_description=a.media_type_description,
                    file_size=a.file_size,
                    file_id=a.file_id,
                    comment=a.comment,
                    download=a.download,
                    created_ms=_download_ms(a.download, page.created_ms),
                )
                for a in fixture.attachments
            )
        if page.topic < 0:
            return ()
        return self._generated_attachments(page)

    def _generated_attachments(self, page: Page) -> tuple[Attachment, ...]:
        rng = Random(f"{self.seed}:{page.id}:att")
        roll = rng.random()
        count = 0 if roll < 0.35 else 1 if roll < 0.65 else 2 if roll < 0.85 else rng.randint(3, 4)
        topic = TOPICS[page.topic]
        subject = _subjects(topic)[page.subject]
        out = []
        for k in range(count):
            when = page.created_ms + rng.randint(0, max(1, page.modified_ms - page.created_ms))
            stamp = bodies.to_utc(when)
            kind = rng.random()
            width = height = 0
            if kind < 0.55:
                if topic.lang == "ko" and rng.random() < 0.5:
                    ampm = "오전" if stamp.hour < 12 else "오후"
                    hour = stamp.hour % 12 or 12
                    name = f"스크린샷 {stamp:%Y-%m-%d} {ampm} {hour}.{stamp:%M.%S}.png"
                elif rng.random() < 0.6:
                    name = f"image-{stamp:%Y%m%d-%H%M%S}.png"
                else:
                    name = f"{_label_slug(subject)}-{rng.choice(('architecture', 'dashboard', 'flow'))}.png"
                media, desc, size = "image/png", "PNG Image", rng.randint(20_000, 1_800_000)
                width, height = rng.choice(((1566, 864), (1280, 720), (2048, 1152), (960, 540), (481, 776)))
            elif kind < 0.8:
                stem = rng.choice(("checklist", "runbook", "handbook", "report", "slides"))
                name = f"{_label_slug(subject)}-{stem}.pdf"
                media, desc, size = "application/pdf", "PDF Document", rng.randint(80_000, 4_500_000)
            elif kind < 0.9:
                name = f"{_label_slug(subject)}-metrics-{stamp:%Y%m}.csv"
                media, desc, size = "text/csv", "", rng.randint(2_000, 600_000)
            else:
                name = f"{_label_slug(subject)}-config.json"
                media, desc, size = "application/json", "", rng.randint(500, 400_000)
            if any(a.title == name for a in out):
                stem, dot, ext = name.rpartition(".")
                name = f"{stem}-{k + 1}{dot}{ext}"
            att_num = page.id * 100 + k
            out.append(
                Attachment(
                    id=f"att{att_num}",
                    title=name,
                    media_type=media,
                    media_type_description=desc,
                    file_size=size,
                    file_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    comment="",
                    download=self.download_path(page.id, name, when),
                    created_ms=when,
                    width=width,
                    height=height,
                )
            )
        return tuple(out)

    def download_path(self, page_id: int, filename: str, when_ms: int) -> str:
        """Return an attachment's download link (relative to the context path), as the flavour writes it."""
        tail = "&cacheVersion=1&api=v2" if self.flavor == "cloud" else "&api=v2"
        return f"/download/attachments/{page_id}/{quote(filename)}?version=1&modificationDate={when_ms}{tail}"

    def excerpt(self, page: Page, limit: int = 200) -> str:
        """Return the first words of a page's text (what search results show)."""
        return plain_text(self.body(page), limit)


def _download_ms(download: str, default: int) -> int:
    match = re.search(r"modificationDate=(\d+)", download)
    return int(match.group(1)) if match else default
