"""Generating the corpus: spaces, page trees, histories and statuses, deterministic for a seed."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from random import Random
from typing import Any

from confluence_sandbox import plays
from confluence_sandbox.corpus.model import (
    EPOCH,
    EPOCH_MS,
    KIND_FIXTURE,
    KIND_FOLDER,
    KIND_HOME,
    KIND_SECTION,
    USERS,
    Page,
    Space,
    _label_slug,
    _subjects,
)
from confluence_sandbox.corpus.store import Corpus
from confluence_sandbox.fixtures import load_fixture_pages
from confluence_sandbox.topics import SPACE_TOPICS, TOPIC_INDEX, TOPICS, Subject

_DAY_MS = 86_400_000
_SPAN_MS = 420 * _DAY_MS

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


@cache
def _fields(subject: Subject) -> dict[str, Any]:
    return subject.fields()


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
    include_plays: bool = False,
    plays_as_of: date | None = None,
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
        include_plays: Add the Play tracking space ``PLAY`` (:mod:`confluence_sandbox.plays`, fixed page ids) on top
            of ``pages``.
        plays_as_of: The day the Play pages are current to (default: the epoch's day).
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
    if include_plays:
        as_of = plays_as_of or plays.default_as_of(EPOCH)
        plays.add_play_space(corpus, seed=seed, as_of=as_of, created_ms=EPOCH_MS - _SPAN_MS - _DAY_MS)
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
