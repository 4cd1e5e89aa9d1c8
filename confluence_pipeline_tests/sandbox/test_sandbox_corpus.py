from __future__ import annotations

import re
from collections import Counter
from html.entities import name2codepoint

import pytest
from lxml import etree

from confluence_sandbox import CorpusError, generate_corpus
from confluence_sandbox.corpus import EPOCH_MS, Corpus
from confluence_sandbox.fixtures import load_fixture_pages

_XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}
_NS = (
    'xmlns:ac="http://atlassian.com/content" xmlns:ri="http://atlassian.com/resource/identifier" '
    'xmlns:at="http://atlassian.com/template"'
)
# Storage format uses HTML entities (&nbsp;, &rarr;, &lsquo; …) that XML does not predefine.
_DTD = (
    "<!DOCTYPE r ["
    + "".join(f'<!ENTITY {name} "&#{code};">' for name, code in name2codepoint.items() if name not in _XML_ENTITIES)
    + "]>"
)


def parse_storage(storage: str) -> etree._Element:
    return etree.fromstring(f"{_DTD}<r {_NS}>{storage}</r>".encode(), etree.XMLParser(resolve_entities=True))


def test_same_seed_same_corpus_and_bodies() -> None:
    a = generate_corpus(600, 5, timezone="Asia/Seoul")
    b = generate_corpus(600, 5, timezone="Asia/Seoul")
    assert a.snapshot() == b.snapshot()
    pages = a.pages()
    assert [a.body(p) for p in pages[::7]] == [b.body(b.page(p.id)) for p in pages[::7]]  # type: ignore[arg-type]
    assert [a.attachments(p) for p in pages[::5]] == [b.attachments(b.page(p.id)) for p in pages[::5]]  # type: ignore[arg-type]
    c = generate_corpus(600, 6, timezone="Asia/Seoul")
    assert c.snapshot() != a.snapshot()


def test_page_count_includes_fixture_tree() -> None:
    with_fixtures = generate_corpus(300, 1)
    assert len(with_fixtures) == 300
    qm = with_fixtures.pages(space_key="QM")
    assert len(qm) == 28
    assert len(generate_corpus(300, 1, include_fixtures=False)) == 300
    assert "QM" not in generate_corpus(300, 1, include_fixtures=False).spaces
    assert len(generate_corpus(5, 1)) == 28  # smaller than the fixture tree: just the tree


def test_spaces_and_tree_shape() -> None:
    corpus = generate_corpus(2000, 3)
    spaces = corpus.spaces
    assert {"ENG", "OPS", "DATA", "HR", "QM", "~alice", "LEGACY"} <= set(spaces)
    assert spaces["~alice"].type == "personal"
    assert spaces["LEGACY"].status == "archived"
    assert spaces["DATA"].name == "데이터 팀"
    for space in spaces.values():
        home = corpus.space_home(space.key)
        assert home is not None and home.parent_id is None and home.space_key == space.key
    depths = Counter(len(corpus.ancestors(p)) for p in corpus.pages())
    assert max(depths) >= 4 and depths[3] > 100
    statuses = Counter(p.status for p in corpus.pages())
    assert statuses["current"] > 1900 and statuses["archived"] > 0 and statuses["trashed"] > 0
    titles = Counter((p.space_key, p.title.casefold()) for p in corpus.pages() if p.status != "trashed")
    assert max(titles.values()) == 1
    for page in corpus.pages():
        assert page.created_ms <= page.modified_ms < EPOCH_MS
        assert page.version >= 1
        for ancestor in corpus.ancestors(page):
            assert ancestor.created_ms <= page.created_ms
    users = {corpus.user_at(p.creator).display_name for p in corpus.pages()}
    assert {"김민준", "Alice Kim"} <= users


def test_fixture_pages_keep_ids_titles_ancestors_bodies(fixture_yaml) -> None:
    corpus = generate_corpus(100, 2)
    for fx in load_fixture_pages():
        page = corpus.page(fx.id)
        assert page is not None and page.title == fx.title and page.space_key == "QM"
        assert [a.id for a in corpus.ancestors(page)] == [a.id for a in fx.ancestors]
        assert [a.title for a in corpus.ancestors(page)] == [a.title for a in fx.ancestors]
        if page.version == 1:
            assert corpus.body(page) == fx.body()
        else:
            assert corpus.body(page).startswith(fx.body())
        assert [a.title for a in corpus.attachments(page)] == [a.title for a in fx.attachments]


def test_forty_thousand_pages_build_lazily() -> None:
    corpus = generate_corpus(40_000, 9)
    assert len(corpus) == 40_000
    assert corpus._body_cache == {}  # nothing rendered while building
    page = corpus.pages(space_key="OPS")[-1]
    body = corpus.body(page)
    assert body and corpus.body(page) is body  # cached once rendered
    assert len(corpus._body_cache) == 1
    kw = corpus.keywords(page.id)
    assert kw is None or kw.code in body


def test_bodies_are_well_formed_and_use_confluence_markup() -> None:
    cloud = generate_corpus(400, 4)
    dc = generate_corpus(400, 4, flavor="dc")
    seen: Counter[str] = Counter()
    for corpus in (cloud, dc):
        for page in corpus.pages():
            storage = corpus.body(page)
            root = parse_storage(storage)  # raises on malformed XML
            for el in root.iter():
                if isinstance(el.tag, str):
                    seen[etree.QName(el).localname] += 1
                    if el.tag.endswith("structured-macro"):
                        seen["macro:" + el.get("{http://atlassian.com/content}name", "")] += 1
            if re.search("[가-힣]", storage):
                seen["korean"] += 1
            if "&nbsp;" in storage:
                seen["entity"] += 1
    needed = {
        "h1", "h2", "h3", "p", "ul", "ol", "table", "th", "td", "code", "strong", "time",
        "macro:code", "macro:info", "macro:note", "macro:warning", "macro:tip", "macro:panel", "macro:expand",
        "macro:status", "macro:jira", "macro:toc", "macro:children", "macro:anchor",
        "plain-text-body", "rich-text-body", "parameter", "link", "link-body", "plain-text-link-body",
        "page", "attachment", "user", "image", "url", "task-list", "task", "task-status", "layout",
        "layout-section", "layout-cell", "emoticon", "placeholder", "inline-comment-marker", "korean", "entity",
    }  # fmt: skip
    assert needed <= set(seen), needed - set(seen)
    cloud_body = "".join(cloud.body(p) for p in cloud.pages()[:200])
    dc_body = "".join(dc.body(p) for p in dc.pages()[:200])
    assert "ri:account-id=" in cloud_body and "ri:userkey=" not in cloud_body
    assert "ri:userkey=" in dc_body and "ri:account-id=" not in dc_body
    assert 'rowspan="2"' in cloud_body and 'colspan="2"' in cloud_body


def test_bodies_mention_known_users_and_existing_attachments() -> None:
    corpus = generate_corpus(300, 8)
    account_ids = {u.account_id for u in corpus.users}
    for page in corpus.pages():
        storage = corpus.body(page)
        assert set(re.findall(r'ri:account-id="([^"]+)"', storage)) <= account_ids or corpus.is_fixture(page)
        if not corpus.is_fixture(page):
            names = {a.title for a in corpus.attachments(page)}
            assert set(re.findall(r'ri:attachment ri:filename="([^"]+)"', storage)) <= names


def test_attachments_have_realistic_metadata() -> None:
    corpus = generate_corpus(500, 12)
    attachments = [(p, a) for p in corpus.pages() for a in corpus.attachments(p)]
    assert len(attachments) > 200
    media = Counter(a.media_type for _, a in attachments)
    assert {"image/png", "application/pdf"} <= set(media)
    ids = [a.id for _, a in attachments]
    assert len(ids) == len(set(ids))
    for page, att in attachments:
        assert att.download.startswith(f"/download/attachments/{page.id}/")
        assert att.file_size > 0
    assert any(a.title.startswith("스크린샷") for _, a in attachments)


def test_query_candidates_are_unambiguous() -> None:
    corpus = generate_corpus(1500, 21)
    ko = corpus.query_candidates(language="ko", kinds=("topic",))
    en = corpus.query_candidates(language="en", kinds=("topic",))
    assert len(ko) >= 30 and len(en) >= 30
    assert all(re.search("[가-힣]", c.query) for c in ko[:50])
    for cand in ko[:40] + en[:40]:
        kw = corpus.keywords(cand.page_id)
        assert kw is not None and (cand.language, cand.query) in kw.queries
        same = [
            p
            for p in corpus.pages(statuses=["current"])
            if (kw2 := corpus.keywords(p.id)) is not None and (cand.language, cand.query) in kw2.queries
        ]
        assert [str(p.id) for p in same] == [cand.page_id]
    code = corpus.query_candidates(kinds=("code",))
    first = code[0]
    kw = corpus.keywords(first.page_id)
    assert kw is not None and kw.code in first.query
    page = corpus.page(first.page_id)
    assert page is not None and kw.code in corpus.body(page)
    assert [str(p.id) for p in corpus.find_pages(kw.code)] == [first.page_id]
    topics = {t.key: t for t in corpus.topics()}
    assert topics["runbook_en"].page_count > 0 and topics["datapipe_ko"].language == "ko"


def _new(corpus: Corpus) -> int:
    return corpus.create_page("ENG", "Sandbox test page", now_ms=EPOCH_MS + 1000, body="<p>v1</p>").id


def test_mutations_follow_confluence_rules() -> None:
    corpus = generate_corpus(200, 3)
    gen = corpus.generation
    pid = _new(corpus)
    page = corpus.page(pid)
    assert page is not None and page.version == 1 and corpus.body(page) == "<p>v1</p>"
    assert corpus.ancestors(page)[-1].id == corpus.spaces["ENG"].homepage_id
    assert corpus.generation > gen
    with pytest.raises(CorpusError) as dup:
        corpus.create_page("ENG", "sandbox TEST page", now_ms=EPOCH_MS)
    assert dup.value.status == 400
    corpus.edit_page(pid, now_ms=EPOCH_MS + 5000)
    assert page.version == 2 and page.modified_ms == EPOCH_MS + 5000
    assert corpus.body(page).startswith("<p>v1</p>") and corpus.body(page) != "<p>v1</p>"
    with pytest.raises(CorpusError) as stale:
        corpus.edit_page(pid, now_ms=EPOCH_MS + 6000, expected_version=2)
    assert stale.value.status == 409
    other = corpus.pages(space_key="OPS")[3]
    corpus.move_page(pid, now_ms=EPOCH_MS + 7000, parent_id=other.id)
    assert page.space_key == "OPS" and corpus.ancestors(page)[-1].id == other.id and page.version == 2
    with pytest.raises(CorpusError):
        corpus.move_page(other.id, now_ms=EPOCH_MS, parent_id=pid)  # under its own descendant
    child = corpus.create_page("OPS", "Child of test page", now_ms=EPOCH_MS + 8000, parent_id=pid)
    corpus.set_status(pid, "trashed", now_ms=EPOCH_MS + 9000)
    assert page.status == "trashed" and child.parent_id == other.id  # children move up
    corpus.set_status(pid, "current", now_ms=EPOCH_MS + 9500)
    assert page.status == "current" and page.parent_id == other.id
    assert corpus.delete_page(pid) == [pid]
    assert corpus.page(pid) is None
    with pytest.raises(CorpusError) as gone:
        corpus.edit_page(pid, now_ms=EPOCH_MS)
    assert gone.value.status == 404


def test_unknown_flavor_and_timezone_are_rejected() -> None:
    with pytest.raises(ValueError):
        generate_corpus(10, 1, flavor="server")
    with pytest.raises(Exception, match="Mars"):
        generate_corpus(10, 1, timezone="Mars/Olympus")


def test_real_profile_pages_weigh_like_the_real_ones() -> None:
    corpus = generate_corpus(400, 9, profile="real")
    again = generate_corpus(400, 9, profile="real")
    assert set(corpus.spaces) == {"ENG", "OPS", "DATA", "HR"}
    assert len(corpus) == 400
    topic_pages = [p for p in corpus.pages(statuses=["current"]) if p.topic >= 0]
    bodies = [corpus.body(p) for p in topic_pages]
    assert bodies[::9] == [again.body(again.page(p.id)) for p in topic_pages[::9]]  # type: ignore[arg-type]
    for page, body in zip(topic_pages, bodies, strict=True):
        parse_storage(body)  # well-formed storage format
        keywords = corpus.keywords(page.id)
        assert keywords is not None and keywords.code in body
    real = [len(p.storage.encode()) for p in load_fixture_pages()]
    average = sum(len(b.encode()) for b in bodies) / len(bodies)
    # The same weight as the real pages on average (within a third), and never one body twice.
    assert 0.66 * sum(real) / len(real) < average < 1.5 * sum(real) / len(real)
    assert len(set(bodies)) == len(bodies)
    assert sum("<table" in b for b in bodies) > len(bodies) // 4
    assert sum('ac:name="code"' in b for b in bodies) > len(bodies) // 10
    with pytest.raises(ValueError, match="profile"):
        generate_corpus(10, 1, profile="huge")
