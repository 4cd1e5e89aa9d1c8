"""Fixtures of the converter tests: a rich conversion context and the real Confluence pages."""

from __future__ import annotations

import pytest

from confluence_pipeline.convert.storage import ConvertContext, convert_storage
from confluence_sandbox.fixtures import FixturePage, default_fixture_dir, load_fixture_pages

CONTEXT = ConvertContext(
    page_id="42",
    page_title="Home",
    space_key="ENG",
    base_url="https://wiki.example.com",
    jira_base_url="https://jira.example.com",
    users={"557058:abc": "Ada Lovelace", "jdoe": "John Doe"},
    attachments={"known.png": "https://files.example.com/known.png"},
)


def md(storage: str, context: ConvertContext = CONTEXT) -> str:
    """Convert with the test context and fail on any warning (well-formed snippets must convert cleanly)."""
    result = convert_storage(storage, context)
    assert result.warnings == []
    return result.markdown


@pytest.fixture(scope="session")
def fixture_pages() -> list[FixturePage]:
    folder = default_fixture_dir()
    if folder is None:
        pytest.skip("real Confluence pages not found (set CONVERT_FIXTURES_DIR)")
    return list(load_fixture_pages(folder))
