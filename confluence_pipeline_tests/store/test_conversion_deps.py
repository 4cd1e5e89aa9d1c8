"""Macros resolved from the store at conversion time, and dependants kept fresh, on the embedded PostgreSQL.

Pages are written the way the sync writes them (``upsert_pages``), then go through the real stages: Markdown, chunks,
local embeddings, and search.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from confluence_pipeline.convert.resolve import PageIndex, ResolveLimits, StoredPage
from confluence_pipeline.convert.storage import ConvertContext, convert_storage
from confluence_pipeline.search import search
from confluence_pipeline.stages import StageSettings, convert_space
from confluence_pipeline.store.references import StoreResolver, dependants, read_snapshot
from confluence_pipeline_tests.store.wiki import PROVIDER, Wiki

ONCALL = "<h2>Escalation</h2><p>Page the quartermaster rotation through the zebrafish pager.</p>"


def include(ref: str) -> str:
    return f'<ac:structured-macro ac:name="include"><ac:parameter ac:name="">{ref}</ac:parameter></ac:structured-macro>'


def by_title(title: str, space: str = "ENG") -> str:
    return f'<ac:link><ri:page ri:content-title="{title}" ri:space-key="{space}" /></ac:link>'


def by_id(page_id: str) -> str:
    return f'<ac:link><ri:page ri:content-id="{page_id}" /></ac:link>'


def children() -> str:
    return (
        '<ac:structured-macro ac:name="children"><ac:parameter ac:name="all">true</ac:parameter></ac:structured-macro>'
    )


@pytest.fixture
def wiki(conn: psycopg.Connection) -> Wiki:
    wiki = Wiki(conn)
    wiki.put("1", "Engineering home", "<p>Welcome.</p>")
    wiki.put("2", "On-call procedure", ONCALL, parent="1")
    wiki.put("3", "Service handbook", "<p>Read this first.</p>" + include(by_title("On-call procedure")), parent="1")
    wiki.put("4", "Unrelated", "<p>Nothing to see.</p>", parent="1")
    return wiki


@pytest.mark.parametrize("form", ["title+space", "content-id"])
def test_include_puts_the_included_text_in_the_chunks_and_search_finds_the_page(
    conn: psycopg.Connection, wiki: Wiki, form: str
) -> None:
    if form == "content-id":
        wiki.put("3", "Service handbook", "<p>Read this first.</p>" + include(by_id("2")), parent="1")
    assert wiki.run() == (4, 4)
    text = wiki.live_text("3")
    assert "Included from [On-call procedure](https://wiki.example.com/display/ENG/On-call+procedure)" in text
    assert "zebrafish pager" in text
    assert dependants(conn, "2") == ["3"]
    for mode in ("text", "hybrid"):
        results = search(conn, "quartermaster zebrafish", PROVIDER, k=5, mode=mode, collapse_pages=True)
        assert "3" in {r.page_id for r in results}, mode


def test_editing_the_included_page_rechunks_both_pages_and_nothing_else(conn: psycopg.Connection, wiki: Wiki) -> None:
    wiki.run()
    assert wiki.run() == (0, 0)  # an unchanged store converts nothing
    wiki.put("2", "On-call procedure", ONCALL.replace("zebrafish", "narwhal"), parent="1")
    assert wiki.run() == (2, 2)
    assert "narwhal pager" in wiki.live_text("3") and "zebrafish" not in wiki.live_text("3")
    assert wiki.run() == (0, 0)


def test_an_include_cycle_terminates_with_a_warning(wiki: Wiki) -> None:
    wiki.put("5", "A", "<p>A text.</p>" + include(by_title("B")), parent="1")
    wiki.put("6", "B", "<p>B text.</p>" + include(by_id("5")), parent="1")
    converted, _ = wiki.run()
    assert converted == 6
    assert "B text." in wiki.markdown("5") and "A text." in wiki.markdown("6")
    assert any("include cycle" in w for w in wiki.warnings("5"))
    assert any("include cycle" in w for w in wiki.warnings("6"))
    assert wiki.run() == (0, 0)


def test_a_trashed_included_page_turns_into_a_link_and_a_warning(wiki: Wiki) -> None:
    wiki.run()
    wiki.trash("2")
    assert wiki.run() == (1, 1)
    assert wiki.markdown("3") == (
        "Read this first.\n\n[On-call procedure](https://wiki.example.com/display/ENG/On-call+procedure)\n"
    )
    assert wiki.warnings("3") == [
        'page 3 "Service handbook": include source "On-call procedure" in space ENG is not in the store; '
        "rendered as a link"
    ]
    assert "zebrafish" not in wiki.live_text("3")
    # It comes back unchanged: its Markdown stands, its chunks return, and the include shows it again.
    wiki.put("2", "On-call procedure", ONCALL, parent="1")
    assert wiki.run() == (1, 2)
    assert "zebrafish pager" in wiki.live_text("3")


def test_children_follow_moves_and_renames_of_the_child_pages(wiki: Wiki) -> None:
    wiki.put("7", "Team index", children(), parent="1")
    wiki.put("8", "Team Alpha", "<p>Alpha.</p>", parent="7")
    wiki.run()
    assert wiki.markdown("7") == "- [Team Alpha](https://wiki.example.com/display/ENG/Team+Alpha)\n"
    # An edit of a child's body changes nothing the listing shows: only the child converts.
    wiki.put("8", "Team Alpha", "<p>Alpha, edited.</p>", parent="7")
    assert wiki.run() == (1, 1)
    # A move into the listed tree and a rename re-convert the listing page; the moved page's own Markdown stands, the
    # renamed page converts again (its title is part of its content).
    wiki.put("4", "Unrelated", "<p>Nothing to see.</p>", parent="7")
    wiki.put("8", "Team Beta", "<p>Alpha, edited.</p>", parent="7")
    assert wiki.run()[0] == 2
    assert wiki.markdown("7") == (
        "- [Team Beta](https://wiki.example.com/display/ENG/Team+Beta)\n"
        "- [Unrelated](https://wiki.example.com/display/ENG/Unrelated)\n"
    )


def test_convert_command_renders_links_alone_and_resolves_from_the_store(
    wiki: Wiki, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from confluence_pipeline.cli import main

    body = tmp_path / "page.xhtml"
    body.write_text("<p>Intro.</p>" + include(by_title("On-call procedure")), encoding="utf-8")
    argv = ["convert", str(body), "--space", "ENG", "--base-url", "https://wiki.example.com"]
    assert main(argv) == 0
    assert capsys.readouterr().out == (
        "Intro.\n\n[On-call procedure](https://wiki.example.com/display/ENG/On-call+procedure)\n"
    )
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("CONVERT_INCLUDE_MAX_CHARS", "30")
    assert main([*argv, "--from-store"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Intro.\n\n*Included from [On-call procedure]")
    assert "## Escalation" in out and "zebrafish" not in out  # cut by the configured bound


def test_pages_with_and_without_resolved_macros_convert_together_with_the_worker_pool(
    conn: psycopg.Connection, wiki: Wiki
) -> None:
    for n in range(70):
        wiki.put(str(100 + n), f"Plain {n}", f"<p>Plain page {n}.</p>", parent="1")
    result = convert_space(conn, "ENG", StageSettings(workers=2, site_url="https://wiki.example.com"))
    assert result.processed == 74 and result.extra["pages_with_dependencies"] == 1
    assert "zebrafish pager" in wiki.markdown("3") and wiki.markdown("150") == "Plain page 50.\n"


def test_labels_attachments_and_the_space_home_are_dependencies_too(wiki: Wiki) -> None:
    label_list = (
        '<ac:structured-macro ac:name="contentbylabel"><ac:parameter ac:name="labels">runbook</ac:parameter>'
        '<ac:parameter ac:name="sort">title</ac:parameter></ac:structured-macro>'
    )
    gallery = (
        '<ac:structured-macro ac:name="gallery"><ac:parameter ac:name="page">'
        f"{by_title('Photos')}</ac:parameter></ac:structured-macro>"
    )
    tree = (
        '<ac:structured-macro ac:name="pagetree"><ac:parameter ac:name="root">'
        + by_title("@home")
        + ("</ac:parameter></ac:structured-macro>")
    )
    wiki.put("20", "Runbook index", label_list, parent="1")
    wiki.put("21", "Photos", "<p>Photos.</p>", parent="1", attachments=("a.png",))
    wiki.put("22", "Gallery", gallery, parent="1")
    wiki.put("23", "Map", tree, parent="1")
    wiki.run()
    assert wiki.markdown("20") == ""
    assert wiki.markdown("22") == "![a.png](https://files.example.com/21/a.png)\n"
    assert "[Runbook index]" in wiki.markdown("23")
    assert wiki.run() == (0, 0)
    # A label added to a page: the listing converts again (and the labelled page, whose row changed, does not).
    wiki.put("2", "On-call procedure", ONCALL, parent="1", labels=("runbook",))
    assert wiki.run()[0] == 1
    assert wiki.markdown("20") == "- [On-call procedure](https://wiki.example.com/display/ENG/On-call+procedure)\n"
    # An attachment added to the other page: the gallery converts again (and so does the page itself).
    wiki.put("21", "Photos", "<p>Photos.</p>", parent="1", attachments=("a.png", "b.png"))
    assert wiki.run()[0] == 2
    assert "b.png" in wiki.markdown("22")
    # A new top-level page under the home: the page tree converts again.
    wiki.put("24", "Newcomer", "<p>Hi.</p>", parent="1")
    converted, _ = wiki.run()
    assert converted == 2 and "[Newcomer]" in wiki.markdown("23")


class _CountingConnection:
    """The connection a resolver reads through, counting its statements."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.statements = 0

    def execute(self, *args: Any, **kwargs: Any) -> psycopg.Cursor[Any]:
        self.statements += 1
        return self.conn.execute(*args, **kwargs)


def test_a_tree_listing_reads_the_store_once_per_level_and_lists_what_memory_lists(
    conn: psycopg.Connection, wiki: Wiki
) -> None:
    wiki.put("7", "Team index", children(), parent="1")
    tree: list[tuple[str, str]] = []
    for team in range(4):
        tree.append((f"7{team}", "7"))
        for member in range(3):
            tree.append((f"7{team}{member}", f"7{team}"))
            tree.append((f"7{team}{member}0", f"7{team}{member}"))
    for page_id, parent in tree:
        wiki.put(page_id, f"Page {page_id}", "<p>Leaf.</p>", parent=parent)
    context = ConvertContext(page_id="7", page_title="Team index", space_key="ENG", base_url="https://wiki.example.com")
    counting = _CountingConnection(conn)
    with read_snapshot(conn):
        resolver = StoreResolver(counting)  # type: ignore[arg-type]
        from_store = convert_storage(wiki.pages["7"].body_storage, replace(context, resolver=resolver)).markdown
    # The children of 7, then one read per level below it (three levels of descendants, the last with no children).
    assert counting.statements == 4
    in_memory = PageIndex(
        StoredPage(page_id=p.page_id, space_key="ENG", title=p.title, parent_id=p.parent_id)
        for p in wiki.pages.values()
    )
    assert from_store == convert_storage(wiki.pages["7"].body_storage, replace(context, resolver=in_memory)).markdown
    assert from_store.count("\n") == len(tree)
    assert "    - [Page 7320](https://wiki.example.com/display/ENG/Page+7320)\n" in from_store


def test_a_wide_deep_tree_reads_ahead_a_bounded_number_of_pages(conn: psycopg.Connection, wiki: Wiki) -> None:
    wiki.put("7", "Team index", children(), parent="1")
    parents = ["7"]
    for _ in range(6):  # six levels, two children a page: 126 pages below 7
        below = []
        for parent in parents:
            for n in range(2):
                below.append(f"{parent}{n}")
                wiki.put(below[-1], f"Page {below[-1]}", "<p>Leaf.</p>", parent=parent)
        parents = below
    asked: list[str] = []

    class Recording(StoreResolver):
        def prefetch_children(self, page_ids: Iterable[str]) -> None:
            page_ids = list(page_ids)
            asked.extend(page_ids)
            super().prefetch_children(page_ids)

    limits = ResolveLimits(max_listed_pages=2)
    context = ConvertContext(
        page_id="7", page_title="Team index", space_key="ENG", base_url="https://wiki.example.com", limits=limits
    )
    with read_snapshot(conn):
        from_store = convert_storage(wiki.pages["7"].body_storage, replace(context, resolver=Recording(conn))).markdown
    in_memory = PageIndex(
        StoredPage(page_id=p.page_id, space_key="ENG", title=p.title, parent_id=p.parent_id)
        for p in wiki.pages.values()
    )
    assert from_store == convert_storage(wiki.pages["7"].body_storage, replace(context, resolver=in_memory)).markdown
    assert from_store == (
        "- [Page 70](https://wiki.example.com/display/ENG/Page+70)\n"
        "  - [Page 700](https://wiki.example.com/display/ENG/Page+700)\n"
    )
    # Two pages a level at most, and no more than four times the listing's bound (plus the root) in all: the seven
    # levels would be thirteen pages.
    assert asked == ["7", "70", "71", "700", "701", "7000", "7001", "70000", "70001"]
