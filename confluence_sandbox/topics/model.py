"""What the topic catalogue is made of: subjects (services, data sets, HR subjects), topics and variants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Subject:
    """What a page is about: a service, a data set or an HR subject.

    Attributes:
        kind: ``service``, ``dataset`` or ``hr``.
        name: Distinctive English name (``payment-gateway``, ``orders_daily``, ``annual leave``).
        ko: Korean name (``결제 게이트웨이``).
        code: Short upper-case code used in error codes and document ids (``PAYGW``).
        team: Owning team (English).
        team_ko: Owning team (Korean).
        stack: Implementation stack or tool.
        store: Main data store.
        queue: Message queue or ``""``.
        port: Service port (0 when it has none).
    """

    kind: str
    name: str
    ko: str
    code: str
    team: str
    team_ko: str
    stack: str
    store: str
    queue: str
    port: int

    def fields(self) -> dict[str, Any]:
        """Return the placeholders that topic templates may use."""
        return {
            "s": self.name,
            "ko": self.ko,
            "code": self.code,
            "team": self.team,
            "team_ko": self.team_ko,
            "stack": self.stack,
            "store": self.store,
            "queue": self.queue or "none",
            "port": self.port,
        }


@dataclass(frozen=True, slots=True)
class Variant:
    """One angle of a topic.

    Attributes:
        title: Title template (placeholders from :meth:`Subject.fields`).
        focus: The page's key sentence; it carries the variant's distinctive terms into the body.
        terms: Distinctive search terms of the variant (besides the subject's name).
        queries: ``(language, template)`` pairs: natural search queries whose best answer is this page.
    """

    title: str
    focus: str
    terms: tuple[str, ...]
    queries: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Topic:
    """A kind of page (runbook, design doc, 배포 절차 …) with its variants.

    Attributes:
        key: Stable identifier (``runbook_en``).
        lang: Main language of the page text (``en`` or ``ko``).
        kind: Subject kind it is written about.
        shape: Body layout used by :mod:`confluence_sandbox.bodies`.
        section: Title of the section page that groups these pages in a space.
        folder: Title template of a per-subject folder page under the section.
        labels: Labels every page of the topic carries.
        description: One line for humans choosing search queries.
        variants: The topic's variants.
    """

    key: str
    lang: str
    kind: str
    shape: str
    section: str
    folder: str
    labels: tuple[str, ...]
    description: str
    variants: tuple[Variant, ...]


def _v(title: str, focus: str, terms: tuple[str, ...], *queries: tuple[str, str]) -> Variant:
    return Variant(title, focus, terms, tuple(queries))
