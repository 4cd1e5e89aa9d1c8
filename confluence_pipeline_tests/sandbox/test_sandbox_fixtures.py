"""The one loader of the real pages: both layouts, the bundle builder, the default directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from confluence_sandbox import fixtures


def test_bundle_built_from_a_capture_loads_like_the_capture(tmp_path: Path, bundled_capture: Path) -> None:
    assert fixtures.build_bundle(bundled_capture, tmp_path) == 2
    from_capture = fixtures.load_fixture_pages(bundled_capture)
    from_bundle = fixtures.load_fixture_pages(tmp_path)
    assert [p.id for p in from_capture] == [p.id for p in from_bundle] == [544113141, 1911652402]
    assert from_capture == from_bundle
    assert [p.context for p in from_capture] == [p.context for p in from_bundle]
    # The packaged bundle holds the same pages.
    packaged = {p.id: p for p in fixtures.load_fixture_pages(fixtures.BUNDLE_DIR)}
    assert all(packaged[p.id] == p for p in from_capture)


def test_shared_capture_and_packaged_bundle_agree() -> None:
    if not fixtures.SHARED_CAPTURE.is_dir():
        pytest.skip(f"{fixtures.SHARED_CAPTURE} not present")
    assert fixtures.load_fixture_pages(fixtures.SHARED_CAPTURE) == fixtures.load_fixture_pages(fixtures.BUNDLE_DIR)


def test_a_fixture_page_carries_what_the_sandbox_and_the_converter_need(bundled_capture: Path) -> None:
    page = next(p for p in fixtures.load_fixture_pages(bundled_capture) if p.id == 544113141)
    assert page.page_id == "544113141" and page.title == "DB Access History"
    assert page.body() == page.storage == (bundled_capture / "544113141" / "page.xhtml").read_text(encoding="utf-8")
    assert page.ancestors and all(a.title for a in page.ancestors)
    assert page.context.base_url == fixtures.FIXTURE_BASE_URL and page.context.space_key == fixtures.FIXTURE_SPACE
    attachment = page.attachments[0]
    assert attachment.download.startswith("/download/attachments/544113141/")
    assert page.context.attachments[attachment.title] == fixtures.FIXTURE_BASE_URL + attachment.download.split("?")[0]


def test_the_environment_variable_chooses_the_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bundled_capture: Path
) -> None:
    monkeypatch.setenv(fixtures.FIXTURES_ENV, str(bundled_capture))
    assert fixtures.default_fixture_dir() == bundled_capture
    assert fixtures.capture_dir() == bundled_capture
    assert len(fixtures.load_fixture_pages()) == 2
    monkeypatch.setenv(fixtures.FIXTURES_ENV, str(fixtures.BUNDLE_DIR))
    assert fixtures.default_fixture_dir() == fixtures.BUNDLE_DIR
    assert fixtures.capture_dir() is None  # a bundle holds no REST responses
    monkeypatch.setenv(fixtures.FIXTURES_ENV, str(tmp_path))
    assert fixtures.default_fixture_dir() is None
    with pytest.raises(FileNotFoundError, match=fixtures.FIXTURES_ENV):
        fixtures.load_fixture_pages()
    with pytest.raises(FileNotFoundError, match=r"pages\.json"):
        fixtures.load_fixture_pages(tmp_path)


def test_without_the_variable_the_shared_capture_is_preferred(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(fixtures.FIXTURES_ENV, raising=False)
    expected = fixtures.SHARED_CAPTURE if fixtures.SHARED_CAPTURE.is_dir() else fixtures.BUNDLE_DIR
    assert fixtures.default_fixture_dir() == expected
