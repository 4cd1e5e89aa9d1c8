"""The sandbox's deterministic Confluence content: users, spaces, page trees, versions, labels and attachments.

``generate_corpus(pages, seed)`` builds the same corpus for the same arguments on any machine: every timestamp
derives from the fixed :data:`EPOCH` (2026-01-05T09:00Z), never from the current time. Pages keep only small
metadata; storage bodies and attachment lists are rebuilt on demand from ``(seed, page id, version)``, so 40,000
pages take a few megabytes and build in about a second.

Finding pages for search queries
--------------------------------
Generated pages are the combination (topic, subject, variant) from :mod:`confluence_sandbox.topics`:
"Runbook: payment-gateway consumer lag", "order-service 카나리 배포 가이드", "orders_daily 백필 절차" …
Each combination is handed out once before any repeats, and every page also carries a unique code (an error code
such as ``PAYGW-E1417``, a data-quality check id or a policy id) and a unique Jira key. To write search-relevance
tests:

- ``corpus.query_candidates(language="ko")`` lists ready-made natural-language queries (Korean or English) whose
  one right answer is a known page (``kind="topic"``: only combinations that name exactly one current, searchable
  page), plus ``kind="code"`` queries built around the page's unique code;
- ``corpus.keywords(page_id)`` gives a page's topic, subject, distinctive terms, code and the queries above;
- ``corpus.topics()`` summarises the topics (language, description, variants, page counts);
- ``corpus.find_pages("consumer lag")`` lists the pages whose title or keywords contain a term, to check that a
  hand-written query is unambiguous. It does not scan bodies; ``corpus.body(page)`` renders one when needed.
"""

from __future__ import annotations

import re
import sys
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from html import escape
from random import Random
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from confluence_sandbox import bodies, real_bodies
from confluence_sandbox.fixtures import load_fixture_pages
from confluence_sandbox.topics import (
    SPACE_TOPICS,
    SUBJECTS_BY_KIND,
    TOPIC_INDEX,
    TOPICS,
    Subject,
    Topic,
)

EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
EPOCH_MS = int(EPOCH.timestamp() * 1000)
_DAY_MS = 86_400_000
_SPAN_MS = 420 * _DAY_MS
FLAVORS = ("cloud", "dc")
# ``synthetic``: the generated bodies (about 4 KB, 5 chunks a page). ``real``: bodies built from the bundled real
# pages (about 16 KB, 12 chunks a page; see :mod:`confluence_sandbox.real_bodies`) in the four team spaces, for
# benchmarks that must weigh what real pages weigh.
PROFILES = ("synthetic", "real")
STATUSES = ("current", "archived", "trashed")

# Marker values of Page.topic for pages that are not topic pages.
KIND_HOME = -1
KIND_SECTION = -2
KIND_FOLDER = -3
KIND_FIXTURE = -4
KIND_CREATED = -5


class CorpusError(Exception):
    """A corpus operation that cannot be done; ``status`` is the HTTP status that reports it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class User:
    """A Confluence user; Cloud identifies it by ``account_id``, Data Center by ``username``/``user_key``."""

    username: str
    display_name: str
    email: str
    account_id: str
    user_key: str

    def mention(self) -> bodies.MentionUser:
        """Return what a body needs to mention this user."""
        return bodies.MentionUser(self.account_id, self.user_key, self.display_name)


def _make_user(username: str, display_name: str) -> User:
    ns = uuid.UUID("5e1d0c0a-7d2b-4c55-9a51-2f1c9e8b7a60")
    return User(
        username=username,
        display_name=display_name,
        email=f"{username}@example.com",
        account_id="712020:" + str(uuid.uuid5(ns, "account:" + username)),
        user_key=uuid.uuid5(ns, "userkey:" + username).hex,
    )


USERS: tuple[User, ...] = tuple(
    _make_user(u, d)
    for u, d in (
        ("alice", "Alice Kim"),
        ("minjun.kim", "김민준"),
        ("seoyeon.lee", "이서연"),
        ("jihoon.park", "박지훈"),
        ("bob", "Bob Smith"),
        ("yuna.choi", "최유나"),
        ("carol", "Carol Jones"),
        ("haneul.jung", "정하늘"),
        ("david.oh", "David Oh"),
    )
)
SERVICE_USER = _make_user("sandbox", "Sandbox Service Account")
ALL_USERS: tuple[User, ...] = (*USERS, SERVICE_USER)
_SERVICE_USER_INDEX = len(USERS)


@dataclass(slots=True)
class Space:
    """A space; ``type`` is ``global`` or ``personal``, ``status`` is ``current`` or ``archived``."""

    key: str
    name: str
    id: int
    type: str
    status: str
    description: str
    homepage_id: int | None
    created_ms: int
    jira_project: str
    korean: bool


# key, name, type, status, description, weight, jira project, korean
_SPACE_DEFS: tuple[tuple[str, str, str, str, str, int, str, bool], ...] = (
    ("ENG", "Engineering", "global", "current", "Engineering handbook: how-tos, design documents, APIs.", 30, "ENG", 0),
    ("OPS", "SRE & Operations", "global", "current", "Runbooks, incident reviews and monitoring.", 25, "OPS", 0),
    ("DATA", "데이터 팀", "global", "current", "데이터 파이프라인 운영 가이드와 테이블 명세.", 18, "DATA", 1),
    ("HR", "People & HR", "global", "current", "사내 제도와 온보딩 안내 (People team).", 10, "PEOPLE", 1),
    ("~alice", "Alice Kim", "personal", "current", "Alice's notes.", 4, "ENG", 0),
    ("LEGACY", "Legacy Wiki", "global", "archived", "The old engineering wiki, archived in 2025.", 8, "LEG", 0),
)
_QM_DEF = ("QM", "QueryPie Manual", "global", "current", "QueryPie 제품 매뉴얼 (real pages).", 0, "QM", True)


@dataclass(frozen=True, slots=True)
class Attachment:
    """An attachment of a page, with the values the REST API reports."""

    id: str
    title: str
    media_type: str
    media_type_description: str
    file_size: int
    file_id: str
    comment: str
    download: str
    created_ms: int
    width: int = 0
    height: int = 0


class Page:
    """A page's metadata (small on purpose: 40,000 of them must stay cheap).

    ``topic``/``subject``/``variant`` say what a generated body is about (or hold a ``KIND_*`` marker);
    ``creator``/``modifier`` index :data:`ALL_USERS`; times are epoch milliseconds (UTC).
    """

    __slots__ = (
        "body_override",
        "created_ms",
        "creator",
        "id",
        "labels",
        "message",
        "minor_edit",
        "modified_ms",
        "modifier",
        "ordinal",
        "override_version",
        "parent_id",
        "position",
        "restore_parent_id",
        "space_key",
        "status",
        "subject",
        "title",
        "topic",
        "variant",
        "version",
    )

    def __init__(
        self,
        *,
        id: int,
        space_key: str,
        parent_id: int | None,
        title: str,
        position: int,
        created_ms: int,
        creator: int,
        topic: int,
        subject: int = 0,
        variant: int = 0,
        ordinal: int = 0,
        labels: tuple[str, ...] = (),
    ) -> None:
        self.id = id
        self.space_key = space_key
        self.parent_id = parent_id
        self.restore_parent_id: int | None = None
        self.title = title
        self.status = "current"
        self.position = position
        self.created_ms = created_ms
        self.creator = creator
        self.version = 1
        self.modified_ms = created_ms
        self.modifier = creator
        self.message = ""
        self.minor_edit = False
        self.labels = labels
        self.topic = topic
        self.subject = subject
        self.variant = variant
        self.ordinal = ordinal
        self.body_override: str | None = None
        self.override_version = 0

    def key(self) -> tuple[Any, ...]:
        """Return every metadata field (for equality checks between corpora)."""
        return tuple(getattr(self, name) for name in self.__slots__)

    def __repr__(self) -> str:
        return f"Page(id={self.id}, space={self.space_key!r}, title={self.title!r}, v{self.version}, {self.status})"


@dataclass(frozen=True, slots=True)
class PageKeywords:
    """What a generated page is about, for choosing search queries (see the module docstring)."""

    page_id: str
    space_key: str
    title: str
    topic: str
    language: str
    subject: str
    subject_ko: str
    variant: int
    terms: tuple[str, ...]
    code: str
    jira_key: str
    queries: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class QueryCandidate:
    """A search query whose expected best answer is ``page_id``."""

    query: str
    language: str
    kind: str
    page_id: str
    title: str
    space_key: str


@dataclass(frozen=True, slots=True)
class TopicSummary:
    """One topic of the corpus, with how many pages use it."""

    key: str
    language: str
    description: str
    section: str
    variants: tuple[str, ...]
    page_count: int


@cache
def _fields(subject: Subject) -> dict[str, Any]:
    return subject.fields()


def _subjects(topic: Topic) -> tuple[Subject, ...]:
    return SUBJECTS_BY_KIND[topic.kind]


def _label_slug(subject: Subject) -> str:
    if subject.kind == "hr":
        return subject.code.lower()
    return subject.name.replace("_", "-")


def _code_term(subject: Subject, ordinal: int) -> str:
    number = 1000 + ordinal
    return {"service": f"{subject.code}-E{number}", "dataset": f"{subject.code}-DQ{number}"}.get(
        subject.kind, f"{subject.code}-P{number}"
    )


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


class Corpus:
    """The sandbox's content. Reads and writes go through :attr:`lock` (an ``RLock``) when threads share it."""

    def __init__(self, *, seed: int, flavor: str, timezone: str, profile: str = "synthetic") -> None:
        if flavor not in FLAVORS:
            raise ValueError(f"flavor must be one of {FLAVORS}, not {flavor!r}")
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
        self.profile = profile
        ZoneInfo(timezone)  # fail early on an unknown zone
        self.seed = seed
        self.flavor = flavor
        self.timezone = timezone
        self.epoch = EPOCH
        self.users: tuple[User, ...] = ALL_USERS
        self.spaces: dict[str, Space] = {}
        self.lock = threading.RLock()
        self.generation = 0
        self._pages: dict[int, Page] = {}
        self._children: dict[int, list[int]] = {}
        self._roots: dict[str, list[int]] = {}
        self._space_pages: dict[str, set[int]] = {}
        self._titles: dict[str, dict[str, int]] = {}
        self._label_ids: dict[str, int] = {}
        self._fixtures: dict[int, Any] = {}
        self._body_cache: OrderedDict[tuple[int, int, int], str] = OrderedDict()
        self._users_by_ref: dict[str, int] = {}
        for i, u in enumerate(self.users):
            for ref in (u.username, u.account_id, u.user_key, u.email):
                self._users_by_ref[ref] = i

    # --- reading -------------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._pages)

    def page(self, page_id: int | str) -> Page | None:
        """Return a page by id (any status), or None when it does not exist (or was purged)."""
        try:
            return self._pages.get(int(page_id))
        except (TypeError, ValueError):
            return None

    def pages(self, *, space_key: str | None = None, statuses: Iterable[str] | None = None) -> list[Page]:
        """Return pages ordered by id, optionally of one space and with the given statuses."""
        with self.lock:
            ids = self._space_pages.get(space_key, set()) if space_key is not None else self._pages.keys()
            wanted = set(statuses) if statuses is not None else None
            out = [self._pages[i] for i in ids if wanted is None or self._pages[i].status in wanted]
        out.sort(key=lambda p: p.id)
        return out

    def page_ids(self, space_key: str | None = None) -> list[int]:
        """Return the ids of the pages of one space (or all), unordered, for scanning."""
        if space_key is None:
            return list(self._pages)
        return list(self._space_pages.get(space_key, ()))

    def space_keys_ci(self) -> dict[str, str]:
        """Map case-folded space keys to space keys."""
        return {k.casefold(): k for k in self.spaces}

    def ancestors(self, page: Page) -> list[Page]:
        """Return the page's ancestors, root first and direct parent last."""
        chain: list[Page] = []
        seen = {page.id}
        parent_id = page.parent_id
        while parent_id is not None and parent_id not in seen:
            parent = self._pages.get(parent_id)
            if parent is None:
                break
            chain.append(parent)
            seen.add(parent_id)
            parent_id = parent.parent_id
        chain.reverse()
        return chain

    def children(self, page_id: int, statuses: Iterable[str] = ("current",)) -> list[Page]:
        """Return a page's child pages in position order."""
        wanted = set(statuses)
        kids = [self._pages[i] for i in self._children.get(page_id, ()) if self._pages[i].status in wanted]
        kids.sort(key=lambda p: (p.position, p.id))
        return kids

    def has_children(self, page_id: int) -> bool:
        """Whether a page has any child page (any status)."""
        return bool(self._children.get(page_id))

    def space_home(self, space_key: str) -> Page | None:
        """Return a space's homepage."""
        space = self.spaces.get(space_key)
        if space is None or space.homepage_id is None:
            return None
        return self._pages.get(space.homepage_id)

    def page_by_title(self, space_key: str, title: str) -> Page | None:
        """Return the (non-trashed) page with this title in a space (titles are unique per space, any case)."""
        page_id = self._titles.get(space_key, {}).get(title.casefold())
        return self._pages.get(page_id) if page_id is not None else None

    def user_at(self, index: int) -> User:
        """Return the user at an index of :attr:`users`."""
        return self.users[index]

    def find_user(self, ref: str) -> User | None:
        """Find a user by username, account id, user key or email."""
        index = self._users_by_ref.get(ref)
        return self.users[index] if index is not None else None

    def label_id(self, name: str) -> int:
        """Return the id of a label (labels are global; ids are stable within a corpus)."""
        with self.lock:
            if name not in self._label_ids:
                self._label_ids[name] = 3_000_000 + 17 * len(self._label_ids)
            return self._label_ids[name]

    def is_fixture(self, page: Page) -> bool:
        """Whether a page is one of the bundled real pages."""
        return page.topic == KIND_FIXTURE

    # --- bodies and attachments ----------------------------------------------------------------------------------

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
            return bodies.render_index_body(
                rng,
                self.flavor,
                title=page.title,
                description=description,
                korean=korean,
                owner=owner,
                version=page.version,
                page_id=page.id,
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

    def _jira_key(self, page: Page) -> str:
        return f"{self.spaces[page.space_key].jira_project}-{1000 + page.ordinal}"

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

    # --- search-test helpers -------------------------------------------------------------------------------------

    def keywords(self, page_id: int | str) -> PageKeywords | None:
        """Return what a generated page is about, or None for home/section/folder/fixture/created pages."""
        page = self.page(page_id)
        if page is None or page.topic < 0:
            return None
        topic = TOPICS[page.topic]
        subject = _subjects(topic)[page.subject]
        variant = topic.variants[page.variant]
        fields = subject.fields()
        return PageKeywords(
            page_id=str(page.id),
            space_key=page.space_key,
            title=page.title,
            topic=topic.key,
            language=topic.lang,
            subject=subject.name,
            subject_ko=subject.ko,
            variant=page.variant,
            terms=variant.terms,
            code=_code_term(subject, page.ordinal),
            jira_key=self._jira_key(page),
            queries=tuple((lang, q.format(**fields)) for lang, q in variant.queries),
        )

    def _searchable(self, page: Page) -> bool:
        space = self.spaces.get(page.space_key)
        return page.status == "current" and space is not None and space.status == "current"

    def query_candidates(
        self, language: str | None = None, kinds: Sequence[str] = ("topic", "code")
    ) -> list[QueryCandidate]:
        """Return search queries with one known right answer each.

        ``topic`` candidates come from the page's variant queries, and only for combinations (topic, subject,
        variant) that exactly one current page in a current space has. ``code`` candidates name the page's unique
        code (error code, data-quality check id or policy id) in a short sentence.

        Args:
            language: ``en`` or ``ko`` to keep only queries in that language.
            kinds: Which kinds of candidate to return.

        Returns:
            Candidates ordered by page id.
        """
        with self.lock:
            searchable = [p for p in self._pages.values() if p.topic >= 0 and self._searchable(p)]
        searchable.sort(key=lambda p: p.id)
        combos: dict[tuple[int, int, int], int] = {}
        for p in searchable:
            combos[(p.topic, p.subject, p.variant)] = combos.get((p.topic, p.subject, p.variant), 0) + 1
        out: list[QueryCandidate] = []
        for p in searchable:
            kw = self.keywords(p.id)
            assert kw is not None
            if "topic" in kinds and combos[(p.topic, p.subject, p.variant)] == 1:
                for lang, query in kw.queries:
                    if language in (None, lang):
                        out.append(QueryCandidate(query, lang, "topic", kw.page_id, p.title, p.space_key))
            if "code" in kinds:
                for lang, template in (("ko", "{code} 오류 원인"), ("en", "what does {code} mean")):
                    if language in (None, lang):
                        query = template.format(code=kw.code)
                        out.append(QueryCandidate(query, lang, "code", kw.page_id, p.title, p.space_key))
        return out

    def topics(self) -> list[TopicSummary]:
        """Summarise the corpus's topics and how many pages each has."""
        counts: dict[int, int] = {}
        with self.lock:
            for p in self._pages.values():
                if p.topic >= 0:
                    counts[p.topic] = counts.get(p.topic, 0) + 1
        return [
            TopicSummary(t.key, t.lang, t.description, t.section, tuple(v.title for v in t.variants), counts.get(i, 0))
            for i, t in enumerate(TOPICS)
        ]

    def find_pages(self, term: str) -> list[Page]:
        """Return pages whose title or keywords (terms, subject, code, Jira key) contain ``term``, any case."""
        needle = term.casefold()
        out = []
        for p in self.pages():
            hay = [p.title]
            kw = self.keywords(p.id)
            if kw is not None:
                hay.extend((kw.subject, kw.subject_ko, kw.code, kw.jira_key, *kw.terms))
            if any(needle in h.casefold() for h in hay):
                out.append(p)
        return out

    def summary(self) -> dict[str, Any]:
        """Return counts of pages per space and status, and the spaces' metadata."""
        with self.lock:
            spaces = []
            for space in self.spaces.values():
                counts = dict.fromkeys(STATUSES, 0)
                for i in self._space_pages.get(space.key, ()):
                    counts[self._pages[i].status] += 1
                spaces.append(
                    {"key": space.key, "name": space.name, "type": space.type, "status": space.status, "pages": counts}
                )
            totals = dict.fromkeys(STATUSES, 0)
            for p in self._pages.values():
                totals[p.status] += 1
        return {
            "seed": self.seed,
            "flavor": self.flavor,
            "timezone": self.timezone,
            "pages": len(self._pages),
            "by_status": totals,
            "spaces": spaces,
        }

    def snapshot(self) -> tuple[Any, ...]:
        """Return all metadata (spaces, users, pages, labels) as plain tuples, for comparing corpora."""
        with self.lock:
            return (
                tuple(
                    (s.key, s.name, s.id, s.type, s.status, s.homepage_id, s.created_ms) for s in self.spaces.values()
                ),
                self.users,
                tuple(self._pages[i].key() for i in sorted(self._pages)),
                tuple(sorted(self._label_ids.items())),
            )

    # --- writing (callers hold no lock; each method takes it) -------------------------------------------------

    def _index(self, page: Page) -> None:
        self._pages[page.id] = page
        self._space_pages.setdefault(page.space_key, set()).add(page.id)
        if page.parent_id is None:
            self._roots.setdefault(page.space_key, []).append(page.id)
        else:
            self._children.setdefault(page.parent_id, []).append(page.id)
        if page.status != "trashed":
            self._titles.setdefault(page.space_key, {})[page.title.casefold()] = page.id
        for label in page.labels:
            if label not in self._label_ids:
                self.label_id(label)

    def _unlink(self, page: Page) -> None:
        if page.parent_id is None:
            roots = self._roots.get(page.space_key, [])
            if page.id in roots:
                roots.remove(page.id)
        else:
            kids = self._children.get(page.parent_id, [])
            if page.id in kids:
                kids.remove(page.id)
            if not kids:
                self._children.pop(page.parent_id, None)

    def _link(self, page: Page) -> None:
        if page.parent_id is None:
            self._roots.setdefault(page.space_key, []).append(page.id)
        else:
            self._children.setdefault(page.parent_id, []).append(page.id)

    def _changed(self) -> None:
        self.generation += 1

    def _require(self, page_id: int | str) -> Page:
        page = self.page(page_id)
        if page is None:
            raise CorpusError(404, f"No content found with id : {page_id}")
        return page

    def _user_index(self, author: str | None) -> int:
        if author is None:
            return _SERVICE_USER_INDEX
        index = self._users_by_ref.get(author)
        if index is None:
            raise CorpusError(400, f"Unknown user {author!r}")
        return index

    def _check_title(self, space_key: str, title: str, page_id: int | None) -> None:
        if not title or not title.strip():
            raise CorpusError(400, "A page title must not be empty")
        if len(title) > 255:
            raise CorpusError(400, "A page title must be at most 255 characters")
        owner = self._titles.get(space_key, {}).get(title.casefold())
        if owner is not None and owner != page_id:
            raise CorpusError(
                400,
                f"A page with this title already exists: A page already exists with the title "
                f"{title} in the space with key {space_key}",
            )

    def _next_id(self) -> int:
        return max(self._pages, default=1_000_000) + 1 + (len(self._pages) % 7)

    def create_page(
        self,
        space_key: str,
        title: str,
        *,
        now_ms: int,
        parent_id: int | str | None = None,
        body: str | None = None,
        labels: Sequence[str] = (),
        author: str | None = None,
    ) -> Page:
        """Create a page (version 1 at ``now_ms``).

        Args:
            space_key: The space to create it in.
            title: A title unique in the space.
            now_ms: Creation time (epoch milliseconds).
            parent_id: The parent page; the space's homepage when omitted.
            body: Storage-format body; a short generated paragraph when omitted.
            labels: Labels to attach.
            author: Username, account id or user key of the creator (the sandbox service account by default).

        Returns:
            The new page.

        Raises:
            CorpusError: Unknown space or parent, or a duplicate title.
        """
        with self.lock:
            space = self.spaces.get(space_key)
            if space is None:
                raise CorpusError(404, f"No space with key : {space_key}")
            creator = self._user_index(author)
            parent: Page | None
            if parent_id is not None:
                parent = self._require(parent_id)
                if parent.space_key != space_key:
                    raise CorpusError(400, f"Parent page {parent.id} is not in space {space_key}")
                if parent.status == "trashed":
                    raise CorpusError(400, f"Parent page {parent.id} is in the trash")
            else:
                parent = self.space_home(space_key)
            self._check_title(space_key, title, None)
            page_id = self._next_id()
            siblings = self._children.get(parent.id, []) if parent is not None else self._roots.get(space_key, [])
            position = max((self._pages[i].position for i in siblings), default=-1) + 1
            page = Page(
                id=page_id,
                space_key=space_key,
                parent_id=parent.id if parent is not None else None,
                title=title,
                position=position,
                created_ms=now_ms,
                creator=creator,
                topic=KIND_CREATED,
                labels=tuple(label.strip().lower() for label in labels if label.strip()),
            )
            page.body_override = body if body is not None else f"<p>{escape(title, quote=False)}</p>"
            page.override_version = 1
            self._index(page)
            if space.homepage_id is None:
                space.homepage_id = page.id
            self._changed()
            return page

    def edit_page(
        self,
        page_id: int | str,
        *,
        now_ms: int,
        title: str | None = None,
        body: str | None = None,
        message: str = "",
        minor_edit: bool = False,
        author: str | None = None,
        expected_version: int | None = None,
    ) -> Page:
        """Make a new version of a page at ``now_ms``.

        Without ``body`` the page's text still changes: generated pages grow their change log and stored bodies
        get a revision note, so every version has a distinct body.

        Args:
            page_id: The page.
            now_ms: Time of the new version (epoch milliseconds).
            title: New title (unique in the space).
            body: New storage-format body.
            message: Version message.
            minor_edit: Whether the edit is minor.
            author: Username, account id or user key of the editor (the service account by default).
            expected_version: When given, the new version number the caller expects (Confluence's update rule:
                it must be the current version + 1, else 409).

        Returns:
            The page after the edit.

        Raises:
            CorpusError: Unknown page, a trashed page, a duplicate title or a stale version.
        """
        with self.lock:
            page = self._require(page_id)
            if page.status == "trashed":
                raise CorpusError(400, f"Cannot edit page {page.id}: it is in the trash")
            if expected_version is not None and expected_version != page.version + 1:
                raise CorpusError(409, f"Version must be incremented on update. Current version is: {page.version}")
            editor = self._user_index(author)
            if title is not None and title != page.title:
                self._check_title(page.space_key, title, page.id)
                self._titles.get(page.space_key, {}).pop(page.title.casefold(), None)
                page.title = title
                self._titles.setdefault(page.space_key, {})[title.casefold()] = page.id
            page.version += 1
            if body is not None:
                page.body_override = body
                page.override_version = page.version
            page.modified_ms = max(now_ms, page.created_ms)
            page.modifier = editor
            page.message = message
            page.minor_edit = minor_edit
            self._changed()
            return page

    def _bump(self, page: Page, now_ms: int, message: str) -> None:
        page.version += 1
        page.modified_ms = max(now_ms, page.created_ms)
        page.modifier = _SERVICE_USER_INDEX
        page.message = message
        page.minor_edit = True

    def move_page(
        self,
        page_id: int | str,
        *,
        now_ms: int,
        parent_id: int | str | None = None,
        space_key: str | None = None,
        bump_version: bool = False,
    ) -> Page:
        """Move a page (with its descendants) under another parent and/or into another space.

        As in Confluence, a move changes ancestors but not the version or ``lastmodified`` unless ``bump_version``.

        Args:
            page_id: The page to move.
            now_ms: Time of the move.
            parent_id: The new parent; the target space's homepage when only ``space_key`` is given.
            space_key: The target space (defaults to the new parent's space).
            bump_version: Also make a new version at ``now_ms``.

        Returns:
            The moved page.

        Raises:
            CorpusError: Unknown page/parent/space, or a move under the page itself or a descendant.
        """
        with self.lock:
            page = self._require(page_id)
            if parent_id is None and space_key is None:
                raise CorpusError(400, "Give parent_id and/or space")
            new_parent: Page | None = None
            if parent_id is not None:
                new_parent = self._require(parent_id)
                target_space = space_key or new_parent.space_key
                if new_parent.space_key != target_space:
                    raise CorpusError(400, f"Parent page {new_parent.id} is not in space {target_space}")
                if new_parent.id == page.id or any(a.id == page.id for a in self.ancestors(new_parent)):
                    raise CorpusError(400, "Cannot move a page under itself or one of its descendants")
            else:
                assert space_key is not None
                target_space = space_key
                if target_space not in self.spaces:
                    raise CorpusError(404, f"No space with key : {target_space}")
                new_parent = self.space_home(target_space)
                if new_parent is not None and new_parent.id == page.id:
                    new_parent = None
            if target_space not in self.spaces:
                raise CorpusError(404, f"No space with key : {target_space}")
            subtree = self._subtree(page)
            if target_space != page.space_key:
                for p in subtree:
                    self._check_title(target_space, p.title, None)
            self._unlink(page)
            for p in subtree:
                if p.space_key != target_space:
                    self._space_pages[p.space_key].discard(p.id)
                    self._titles.get(p.space_key, {}).pop(p.title.casefold(), None)
                    p.space_key = target_space
                    self._space_pages.setdefault(target_space, set()).add(p.id)
                    if p.status != "trashed":
                        self._titles.setdefault(target_space, {})[p.title.casefold()] = p.id
            page.parent_id = new_parent.id if new_parent is not None else None
            siblings = self._children.get(page.parent_id, []) if page.parent_id is not None else []
            page.position = max((self._pages[i].position for i in siblings), default=-1) + 1
            self._link(page)
            if bump_version:
                self._bump(page, now_ms, "Moved")
            self._changed()
            return page

    def _subtree(self, page: Page) -> list[Page]:
        out, stack = [], [page.id]
        while stack:
            current = self._pages[stack.pop()]
            out.append(current)
            stack.extend(self._children.get(current.id, ()))
        return out

    def set_status(
        self,
        page_id: int | str,
        status: str,
        *,
        now_ms: int,
        cascade: bool = False,
        bump_version: bool = False,
    ) -> list[Page]:
        """Set a page's status to ``current``, ``archived`` or ``trashed``.

        Trashing a page without ``cascade`` moves its children up to its parent, as Confluence does; restoring a
        trashed page puts it back under its old parent when that still exists.

        Args:
            page_id: The page.
            status: ``current``, ``archived`` or ``trashed``.
            now_ms: Time of the change (used only with ``bump_version``).
            cascade: Apply the status to all descendants too.
            bump_version: Also make a new version (so ``lastmodified`` moves).

        Returns:
            The pages whose status changed.

        Raises:
            CorpusError: Unknown page or status.
        """
        if status not in STATUSES:
            raise CorpusError(400, f"status must be one of {', '.join(STATUSES)}")
        with self.lock:
            page = self._require(page_id)
            targets = self._subtree(page) if cascade else [page]
            changed = []
            for p in targets:
                if p.status == status:
                    continue
                if status == "trashed" and not cascade and p.id == page.id:
                    for child_id in list(self._children.get(p.id, ())):
                        child = self._pages[child_id]
                        self._unlink(child)
                        child.parent_id = p.parent_id
                        self._link(child)
                if status == "trashed":
                    self._titles.get(p.space_key, {}).pop(p.title.casefold(), None)
                    p.restore_parent_id = p.parent_id
                elif p.status == "trashed":
                    self._check_title(p.space_key, p.title, p.id)
                    self._titles.setdefault(p.space_key, {})[p.title.casefold()] = p.id
                    old_parent = self._pages.get(p.restore_parent_id) if p.restore_parent_id else None
                    if old_parent is not None and old_parent.status != "trashed" and p.parent_id != old_parent.id:
                        self._unlink(p)
                        p.parent_id = old_parent.id
                        self._link(p)
                p.status = status
                if bump_version:
                    self._bump(p, now_ms, f"Status changed to {status}")
                changed.append(p)
            self._changed()
            return changed

    def delete_page(self, page_id: int | str, *, cascade: bool = False) -> list[int]:
        """Purge a page for good (later reads answer 404); children move up unless ``cascade`` purges them too.

        Args:
            page_id: The page.
            cascade: Also purge all descendants.

        Returns:
            The ids purged.

        Raises:
            CorpusError: Unknown page.
        """
        with self.lock:
            page = self._require(page_id)
            targets = self._subtree(page) if cascade else [page]
            if not cascade:
                for child_id in list(self._children.get(page.id, ())):
                    child = self._pages[child_id]
                    self._unlink(child)
                    child.parent_id = page.parent_id
                    self._link(child)
            for p in reversed(targets):
                self._unlink(p)
                self._children.pop(p.id, None)
                self._space_pages[p.space_key].discard(p.id)
                if self._titles.get(p.space_key, {}).get(p.title.casefold()) == p.id:
                    del self._titles[p.space_key][p.title.casefold()]
                del self._pages[p.id]
                space = self.spaces[p.space_key]
                if space.homepage_id == p.id:
                    space.homepage_id = None
            self._changed()
            return [p.id for p in targets]


def _download_ms(download: str, default: int) -> int:
    match = re.search(r"modificationDate=(\d+)", download)
    return int(match.group(1)) if match else default


# --- generation -----------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Plan:
    kind: int
    title: str
    parent: int | None  # index into the space's plan list
    topic: int = 0
    subject: int = 0
    variant: int = 0
    labels: tuple[str, ...] = ()
    depth: int = 0
    sort_key: float = 0.0


class _ComboAllocator:
    """Hands out (subject, variant, repeat) per topic: every subject once per variant before any repeat."""

    def __init__(self, rng: Random) -> None:
        self._orders: dict[int, list[int]] = {}
        self._used: dict[int, int] = {}
        self._rng = rng

    def next(self, topic_index: int) -> tuple[int, int, int]:
        topic = TOPICS[topic_index]
        n_subjects = len(_subjects(topic))
        if topic_index not in self._orders:
            order = list(range(n_subjects))
            self._rng.shuffle(order)
            self._orders[topic_index] = order
        used = self._used.get(topic_index, 0)
        self._used[topic_index] = used + 1
        subject = self._orders[topic_index][used % n_subjects]
        round_ = used // n_subjects
        return subject, round_ % len(topic.variants), round_ // len(topic.variants)


def _repeat_suffix(repeat: int, korean: bool) -> str:
    if repeat == 0:
        return ""
    year = 2025 - (repeat - 1) // 4
    quarter = 4 - (repeat - 1) % 4
    return f" ({year}년 {quarter}분기)" if korean else f" ({year} Q{quarter})"


_LABEL_TUPLES: dict[tuple[str, ...], tuple[str, ...]] = {}


def _intern_labels(labels: Iterable[str]) -> tuple[str, ...]:
    # Thousands of pages share a handful of label sets; sharing the tuples keeps 40,000 pages small.
    key = tuple(sys.intern(label) for label in labels)
    return _LABEL_TUPLES.setdefault(key, key)


def _allocate(total: int, weights: Sequence[int]) -> list[int]:
    weight_sum = sum(weights)
    raw = [total * w / weight_sum for w in weights]
    counts = [int(r) for r in raw]
    order = sorted(range(len(weights)), key=lambda i: (-(raw[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _plan_space(key: str, budget: int, home_title: str, rng: Random, combos: _ComboAllocator) -> list[_Plan]:
    plans: list[_Plan] = []
    if budget <= 0:
        return plans
    titles: set[str] = set()

    def add(plan: _Plan) -> int:
        title = plan.title
        n = 2
        while title.casefold() in titles:
            title = f"{plan.title} #{n}"
            n += 1
        plan.title = title
        titles.add(title.casefold())
        plans.append(plan)
        return len(plans) - 1

    home = add(_Plan(KIND_HOME, home_title, None))
    topic_weights = SPACE_TOPICS[key]
    topic_ids = [TOPIC_INDEX[t] for t, _ in topic_weights]
    weights = [w for _, w in topic_weights]
    n_sections = min(len(topic_ids), max(0, (budget - 1) // 4))
    sections: dict[int, int] = {}
    for t in topic_ids[:n_sections]:
        topic = TOPICS[t]
        sections[t] = add(_Plan(KIND_SECTION, topic.section, home, topic=t, labels=topic.labels[:1], depth=1))
    folders: dict[tuple[int, int], int] = {}
    by_subject: dict[tuple[int, int], list[int]] = {}
    section_children: dict[int, int] = {}
    while len(plans) < budget:
        t = rng.choices(topic_ids, weights)[0]
        topic = TOPICS[t]
        subject_i, variant_i, repeat = combos.next(t)
        subject = _subjects(topic)[subject_i]
        variant = topic.variants[variant_i]
        parent = sections.get(t, home)
        related = by_subject.get((t, subject_i), [])
        roll = rng.random()
        if related and roll < 0.3 and plans[related[-1]].depth < 5:
            parent = related[-1]
        elif (t, subject_i) in folders:
            parent = folders[(t, subject_i)]
        elif (
            related
            and t in sections
            and section_children.get(parent, 0) >= 8
            and roll < 0.6
            and len(plans) + 2 <= budget
        ):
            folder_title = topic.folder.format(**_fields(subject))
            parent = add(_Plan(KIND_FOLDER, folder_title, parent, topic=t, subject=subject_i, depth=2))
            folders[(t, subject_i)] = parent
        section_children[parent] = section_children.get(parent, 0) + 1
        extra: tuple[str, ...] = ()
        if rng.random() < 0.25:
            extra = (rng.choice(("needs-review", "2025", "핵심문서", "deprecated", "team-" + subject.team.lower())),)
        labels = tuple(dict.fromkeys((*topic.labels, _label_slug(subject), *extra)))
        title = variant.title.format(**_fields(subject)) + _repeat_suffix(repeat, topic.lang == "ko")
        index = add(
            _Plan(
                0,
                title,
                parent,
                topic=t,
                subject=subject_i,
                variant=variant_i,
                labels=_intern_labels(label.replace(" ", "-").lower() for label in labels),
                depth=plans[parent].depth + 1,
            )
        )
        by_subject.setdefault((t, subject_i), []).append(index)
    for j, plan in enumerate(plans):
        plan.sort_key = (j + rng.random() * 0.999) / len(plans)
    return plans


def generate_corpus(
    pages: int,
    seed: int,
    *,
    flavor: str = "cloud",
    include_fixtures: bool = True,
    timezone: str = "UTC",
    profile: str = "synthetic",
) -> Corpus:
    """Generate the sandbox corpus.

    Args:
        pages: Total number of pages (all statuses). With ``include_fixtures`` the 10 real pages and their 18
            ancestors (space ``QM``) count towards it; when ``pages`` is smaller than that, the corpus holds just
            that tree.
        seed: Seed for everything random; the same arguments always give the same corpus.
        flavor: ``cloud`` or ``dc`` (decides user mentions in bodies and attachment links).
        include_fixtures: Include the bundled real pages in space ``QM``.
        timezone: The site's time zone (an IANA name); the server reads CQL dates in it by default.
        profile: ``synthetic`` (generated bodies, every space) or ``real`` (real-size bodies built from the bundled
            real pages, in the four current team spaces only: no fixture space, personal or archived space).

    Returns:
        The corpus.
    """
    if pages < 0:
        raise ValueError("pages must be >= 0")
    corpus = Corpus(seed=seed, flavor=flavor, timezone=timezone, profile=profile)
    rng = Random(f"corpus:{seed}")
    space_defs = list(_SPACE_DEFS)
    if profile == "real":
        # Real-size bodies come from the real pages themselves; serving those again as space QM adds nothing.
        include_fixtures = False
        space_defs = [d for d in space_defs if d[2] == "global" and d[3] == "current"]
    if include_fixtures:
        space_defs.insert(4, _QM_DEF)
    for i, (key, name, kind, status, description, _w, jira, korean) in enumerate(space_defs):
        corpus.spaces[key] = Space(
            key=key,
            name=name,
            id=32_769 + 65_536 * i + rng.randrange(1000),
            type=kind,
            status=status,
            description=description,
            homepage_id=None,
            created_ms=EPOCH_MS - _SPAN_MS - (len(space_defs) - i) * _DAY_MS,
            jira_project=jira,
            korean=bool(korean),
        )
    fixture_count = 0
    if include_fixtures:
        fixture_count = _add_fixtures(corpus, rng)
    generated = max(0, pages - fixture_count)
    gen_defs = [d for d in space_defs if d[0] != "QM"]
    budgets = _allocate(generated, [d[5] for d in gen_defs])
    combos = _ComboAllocator(Random(f"combos:{seed}"))
    plans: list[tuple[str, list[_Plan]]] = []
    for (key, name, kind, *_), budget in zip(gen_defs, budgets, strict=True):
        home_title = name if kind == "personal" else (f"{name} 홈" if corpus.spaces[key].korean else f"{name} Home")
        plans.append((key, _plan_space(key, budget, home_title, Random(f"plan:{seed}:{key}"), combos)))
    order = sorted(
        ((plan.sort_key, key, j) for key, space_plans in plans for j, plan in enumerate(space_plans)),
    )
    _materialise(corpus, dict(plans), order, rng)
    _assign_statuses(corpus, rng)
    corpus.generation = 0
    return corpus


def _add_fixtures(corpus: Corpus, rng: Random) -> int:
    fixtures = load_fixture_pages()
    nodes: dict[int, tuple[str, int, int | None, int]] = {}  # id -> title, position, parent, depth
    for fx in fixtures:
        chain = list(fx.ancestors)
        for depth, anc in enumerate(chain):
            parent = chain[depth - 1].id if depth else None
            if anc.id not in nodes or nodes[anc.id][3] < 0:
                nodes[anc.id] = (anc.title, anc.position, parent, depth)
        parent = chain[-1].id if chain else None
        nodes[fx.id] = (fx.title, fx.position, parent, len(chain))
    fixture_ids = {fx.id for fx in fixtures}
    corpus._fixtures = {fx.id: fx for fx in fixtures}
    ordered = sorted(nodes, key=lambda i: (nodes[i][3], i))
    start = EPOCH_MS - _SPAN_MS
    step = (_SPAN_MS // 3) // max(1, len(ordered))
    for n, page_id in enumerate(ordered):
        title, position, parent, _depth = nodes[page_id]
        created = start + n * step + rng.randrange(max(1, step))
        author = rng.randrange(len(USERS))
        page = Page(
            id=page_id,
            space_key="QM",
            parent_id=parent,
            title=title,
            position=position,
            created_ms=created,
            creator=author,
            topic=KIND_FIXTURE if page_id in fixture_ids else KIND_SECTION,
            labels=("querypie", "manual") if page_id in fixture_ids else (),
        )
        _set_history(page, rng, max_versions=12)
        corpus._index(page)
    corpus.spaces["QM"].homepage_id = ordered[0]
    return len(ordered)


def _set_history(page: Page, rng: Random, max_versions: int = 30) -> None:
    versions = 1 + min(int(rng.expovariate(0.45)), max_versions - 1)
    page.version = versions
    if versions > 1:
        room = max(1, EPOCH_MS - 60_000 - page.created_ms)
        page.modified_ms = page.created_ms + int(room * (rng.random() ** 0.5))
        page.modifier = rng.randrange(len(USERS))
        page.minor_edit = rng.random() < 0.2
        page.message = rng.choice(("", "", "", "Update", "오타 수정", "Clarify steps", "담당자 변경"))


def _materialise(
    corpus: Corpus, plans: dict[str, list[_Plan]], order: list[tuple[float, str, int]], rng: Random
) -> None:
    ids: dict[tuple[str, int], int] = {}
    next_id = 1_000_001
    start = EPOCH_MS - _SPAN_MS + _SPAN_MS // 3
    span = _SPAN_MS - _SPAN_MS // 3 - 2 * _DAY_MS
    step = span // max(1, len(order))
    positions: dict[int | None, int] = {}
    for ordinal, (_key_sort, key, j) in enumerate(order):
        plan = plans[key][j]
        page_id = next_id
        next_id += 1 + rng.randrange(9)
        ids[(key, j)] = page_id
        parent_id = ids[(key, plan.parent)] if plan.parent is not None else None
        position = positions.get(parent_id, 0)
        positions[parent_id] = position + 1
        created = start + ordinal * step + rng.randrange(max(1, step))
        creator = rng.randrange(len(USERS))
        if key == "~alice":
            creator = 0
        page = Page(
            id=page_id,
            space_key=key,
            parent_id=parent_id,
            title=plan.title,
            position=position,
            created_ms=created,
            creator=creator,
            topic=plan.topic if plan.kind == 0 else plan.kind,
            subject=plan.subject,
            variant=plan.variant,
            ordinal=ordinal,
            labels=plan.labels,
        )
        _set_history(page, rng)
        corpus._index(page)
        if plan.kind == KIND_HOME:
            corpus.spaces[key].homepage_id = page_id


def _assign_statuses(corpus: Corpus, rng: Random) -> None:
    for page_id in sorted(corpus._pages):
        page = corpus._pages[page_id]
        if page.topic < 0 or page.space_key == "LEGACY" or corpus.has_children(page_id):
            continue
        roll = rng.random()
        if roll < 0.015:
            page.status = "archived"
        elif roll < 0.0225:
            page.status = "trashed"
            page.restore_parent_id = page.parent_id
            corpus._titles.get(page.space_key, {}).pop(page.title.casefold(), None)


def format_instant(ms: int) -> str:
    """Format epoch milliseconds as Confluence does: ``2026-01-05T09:00:00.000Z``."""
    dt = datetime.fromtimestamp(ms // 1000, tz=UTC) + timedelta(milliseconds=ms % 1000)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"
