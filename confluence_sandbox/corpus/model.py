"""What the corpus is made of: users, spaces, pages, attachments, search-test records, and their constants."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from confluence_sandbox import bodies
from confluence_sandbox.topics import SUBJECTS_BY_KIND, Subject, Topic

EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
EPOCH_MS = int(EPOCH.timestamp() * 1000)
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


def format_instant(ms: int) -> str:
    """Format epoch milliseconds as Confluence does: ``2026-01-05T09:00:00.000Z``."""
    dt = datetime.fromtimestamp(ms // 1000, tz=UTC) + timedelta(milliseconds=ms % 1000)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"
