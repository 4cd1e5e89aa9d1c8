"""Chunker: heading paths, token bounds, code/table integrity, oversize splitting, overlap, stability."""

from __future__ import annotations

import hashlib
import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from confluence_pipeline.convert.chunking import SEPARATOR, chunk_markdown
from confluence_pipeline.convert.storage import convert_storage
from confluence_pipeline.convert.tokens import count_tokens
from confluence_sandbox.fixtures import FixturePage

DOC = """Intro paragraph before any heading.

# Install

Install with pip.

## Linux

Use the package manager.

```bash
# not a heading
apt install thing
```

## Windows

| Step | What |
| --- | --- |
| 1 | Download |
| 2 | Run |

# Use

Run it.
"""


def body(chunk_text: str) -> str:
    return chunk_text.split("\n\n", 1)[1] if "\n\n" in chunk_text else ""


def test_heading_paths_and_context_line() -> None:
    chunks = chunk_markdown(DOC, title="Guide")
    assert [c.section_title for c in chunks] == [
        "Guide",
        "Guide › Install",
        "Guide › Install › Linux",
        "Guide › Install › Windows",
        "Guide › Use",
    ]
    assert SEPARATOR == " › "
    for chunk in chunks:
        assert chunk.text.startswith(chunk.section_title + "\n\n")
        assert chunk.token_count == count_tokens(chunk.text)
        assert chunk.content_hash == hashlib.sha256(chunk.embedding_input.encode()).hexdigest()
    assert [c.index for c in chunks] == list(range(len(chunks)))
    # A '#' line inside a fence is code, not a heading.
    assert "# not a heading" in chunks[2].text
    assert chunks[2].text == (
        "Guide › Install › Linux\n\nUse the package manager.\n\n```bash\n# not a heading\napt install thing\n```"
    )


def test_empty_heading_lives_in_its_children_paths_only() -> None:
    chunks = chunk_markdown("# A\n\n## B\n\ntext\n\n## C\n", title="T")
    assert [c.section_title for c in chunks] == ["T › A › B", "T › A › C"]
    assert chunks[1].text == "T › A › C"  # a last, empty heading still keeps its words


def test_heading_markup_is_cleaned_in_paths() -> None:
    chunks = chunk_markdown("## **Bold** [link](http://x) `code` a\\_b ##\n\ntext\n", title="  Page   title ")
    assert chunks[0].section_title == "Page title › Bold link code a_b"


def test_an_empty_page_still_gets_one_chunk_with_its_title() -> None:
    # Every current page needs a chunk to be searchable by title and to go live.
    for markdown in ("", "\n\n  \n"):
        chunks = chunk_markdown(markdown, title="Empty page")
        assert [(c.section_title, c.text) for c in chunks] == [("Empty page", "Empty page")]


def test_a_heading_with_nothing_under_it_keeps_its_words() -> None:
    chunks = chunk_markdown("# Intro\n\ntext\n\n## Appendix\n---", title="T")
    assert [c.section_title for c in chunks] == ["T › Intro", "T › Intro › Appendix"]
    assert chunks[-1].text == "T › Intro › Appendix"


def test_a_heading_with_nothing_under_it_keeps_its_words_when_its_path_is_long() -> None:
    # The context line of a chunk is cut to a quarter of the budget; an empty section's path is the whole chunk.
    chunks = chunk_markdown("# .a.가#b\n## H2", title="T", max_tokens=40, overlap_tokens=0)
    assert chunks[-1].text == "T › .a.가#b › H2"
    long = " ".join(f"word{n}" for n in range(60))
    chunks = chunk_markdown(f"# {long}", title="T", max_tokens=40, overlap_tokens=0)
    assert all(c.token_count <= 40 for c in chunks)
    assert all(f"word{n}" in " ".join(c.text for c in chunks) for n in range(60))
    # With a body, the cut path is a chunk of its own first.
    chunks = chunk_markdown("# .a.가#b\n## H2\n`", title="T", max_tokens=40, overlap_tokens=0)
    assert [c.text for c in chunks] == ["T › .a.가#b › H2", "T › .a.가#b › H…\n\n`"]


def test_a_leading_heading_that_repeats_the_title_is_named_once() -> None:
    chunks = chunk_markdown("# Deploy guide\n\nintro\n\n## Rollback\n\nsteps", title="Deploy guide")
    assert [c.section_title for c in chunks] == ["Deploy guide", "Deploy guide › Rollback"]


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError):
        chunk_markdown("x", title="T", max_tokens=10)
    with pytest.raises(ValueError):
        chunk_markdown("x", title="T", max_tokens=100, overlap_tokens=50)
    with pytest.raises(ValueError):
        chunk_markdown("x", title="T", overlap_tokens=-1)


def _paragraphs(count: int) -> str:
    return "\n\n".join(f"Paragraph {i} says something about topic {i} and then some more words." for i in range(count))


def test_token_bound_and_overlap_between_chunks_of_a_section() -> None:
    chunks = chunk_markdown("# Big\n\n" + _paragraphs(60), title="T", max_tokens=120, overlap_tokens=30)
    assert len(chunks) > 5
    assert all(c.token_count <= 120 for c in chunks)
    assert all(c.section_title == "T › Big" for c in chunks)
    # Each later chunk starts with the previous chunk's last paragraph (it fits in 30 tokens).
    for previous, chunk in itertools.pairwise(chunks):
        last = body(previous.text).split("\n\n")[-1]
        assert body(chunk.text).startswith(last)
    # Nothing is lost.
    joined = "\n\n".join(body(c.text) for c in chunks)
    for i in range(60):
        assert f"Paragraph {i} says" in joined


def test_no_overlap_when_disabled() -> None:
    chunks = chunk_markdown(_paragraphs(40), title="T", max_tokens=100, overlap_tokens=0)
    seen = [body(c.text) for c in chunks]
    assert sum(text.count("Paragraph") for text in seen) == 40


def test_code_block_and_table_are_not_split_when_they_fit() -> None:
    code = "```python\n" + "\n".join(f"x{i} = {i}" for i in range(25)) + "\n```"
    table = "| a | b |\n| --- | --- |\n" + "\n".join(f"| {i} | v{i} |" for i in range(20))
    markdown = "# S\n\n" + _paragraphs(3) + "\n\n" + code + "\n\n" + _paragraphs(3) + "\n\n" + table + "\n"
    chunks = chunk_markdown(markdown, title="T", max_tokens=200, overlap_tokens=20)
    assert all(c.token_count <= 200 for c in chunks)
    assert sum(code in c.text for c in chunks) == 1
    assert sum(table in c.text for c in chunks) == 1


def test_oversize_code_block_is_split_on_lines_repeating_the_fence() -> None:
    lines = [f"    value_{i} = compute({i})  # step {i}" for i in range(200)]
    markdown = "# Code\n\n- item\n\n  ````sql\n" + "\n".join("  " + line for line in lines) + "\n  ````\n"
    chunks = chunk_markdown(markdown, title="T", max_tokens=150, overlap_tokens=20)
    code_chunks = [c for c in chunks if "value_" in c.text]
    assert len(code_chunks) > 3
    recovered: list[str] = []
    for chunk in code_chunks:
        assert chunk.token_count <= 150
        part = body(chunk.text).split("\n")
        start = part.index("  ````sql")  # the first part follows the list item it belongs to
        assert part[-1] == "  ````", chunk.text
        recovered.extend(line[2:] for line in part[start + 1 : -1])
    assert recovered == lines  # every line once, in order, indentation intact


def test_oversize_table_is_split_repeating_the_header() -> None:
    header = "| Name | Description |\n| --- | --- |"
    rows = [f"| row {i} | a fairly long description of row number {i} |" for i in range(120)]
    chunks = chunk_markdown("## T\n\n" + header + "\n" + "\n".join(rows), title="P", max_tokens=128, overlap_tokens=16)
    assert len(chunks) > 3
    recovered: list[str] = []
    for chunk in chunks:
        assert chunk.token_count <= 128
        assert body(chunk.text).startswith(header + "\n")
        recovered.extend(body(chunk.text).split("\n")[2:])
    assert recovered == rows


def test_single_line_longer_than_the_limit_is_cut_at_token_boundaries() -> None:
    line = " ".join(f"word{i}" for i in range(2000))
    chunks = chunk_markdown(line, title="T", max_tokens=100, overlap_tokens=0)
    assert all(c.token_count <= 100 for c in chunks)
    assert " ".join(body(c.text) for c in chunks).split() == line.split()


def test_overlap_that_does_not_fit_before_the_next_block_is_dropped() -> None:
    # Regression: overlap that fit by one count but not by the other looped forever on a real 10 MB page.
    markdown = "# S\n\n" + "\n\n".join(["x " * 40, "![img](https://example.com/" + "a" * 200 + ".png)"] * 30)
    chunks = chunk_markdown(markdown, title="T", max_tokens=100, overlap_tokens=40)
    assert chunks and all(c.token_count <= 100 for c in chunks)


def test_long_heading_path_is_truncated_in_the_context() -> None:
    markdown = "".join(f"{'#' * (level + 1)} {'heading ' * 40}{level}\n\n" for level in range(5)) + "text\n"
    chunks = chunk_markdown(markdown, title="T", max_tokens=128, overlap_tokens=0)
    assert chunks[-1].token_count <= 128
    assert chunks[-1].text.endswith("text")


def test_same_markdown_same_chunks() -> None:
    assert chunk_markdown(DOC, title="Guide") == chunk_markdown(DOC, title="Guide")


def test_editing_one_section_changes_only_its_chunks(fixture_pages: list[FixturePage]) -> None:
    page = next(p for p in fixture_pages if p.page_id == "1454342158")
    markdown = convert_storage(page.storage, page.context).markdown
    before = chunk_markdown(markdown, title=page.title)
    edited_markdown = markdown.replace(
        "Custom Identity Provider는 인증 API서버를", "Custom Identity Provider는 인증 API 서버를"
    )
    assert edited_markdown != markdown
    after = chunk_markdown(edited_markdown, title=page.title)
    changed_before = {c.content_hash for c in before} - {c.content_hash for c in after}
    changed_after = {c.content_hash for c in after} - {c.content_hash for c in before}
    assert len(changed_before) == len(changed_after) == 1
    (new,) = [c for c in after if c.content_hash in changed_after]
    assert new.section_title == "Identity Providers › Custom Identity Provider"
    assert all(c.section_title == new.section_title for c in before if c.content_hash in changed_before)


def test_real_pages_chunk_within_bounds_with_intact_fences(fixture_pages: list[FixturePage]) -> None:
    for page in fixture_pages:
        markdown = convert_storage(page.storage, page.context).markdown
        for max_tokens in (128, 512):
            chunks = chunk_markdown(markdown, title=page.title, max_tokens=max_tokens, overlap_tokens=32)
            for chunk in chunks:
                assert chunk.token_count <= max_tokens
                fences = [line for line in chunk.text.split("\n") if re.match(r"^[ >]*```", line)]
                assert len(fences) % 2 == 0, chunk.text


_LINE = st.one_of(
    st.text(alphabet=st.sampled_from(list("abc 가나 .,*#|`-")), min_size=0, max_size=80),
    st.sampled_from(["", "# H1", "## H2", "### H3", "```", "```py", "| a | b |", "| --- | --- |", "- item", "> q"]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_LINE, max_size=80), st.sampled_from([40, 64, 200]), st.sampled_from([0, 8, 16]))
def test_random_markdown_chunks_within_bounds_deterministically(
    lines: list[str], max_tokens: int, overlap: int
) -> None:
    markdown = "\n".join(lines)
    chunks = chunk_markdown(markdown, title="T", max_tokens=max_tokens, overlap_tokens=overlap)
    assert all(c.token_count <= max_tokens for c in chunks)
    assert chunks == chunk_markdown(markdown, title="T", max_tokens=max_tokens, overlap_tokens=overlap)
    # Every word of the page survives in some chunk.
    text = " ".join(c.text for c in chunks)
    for word in re.findall(r"\w+", markdown):
        assert word in text
