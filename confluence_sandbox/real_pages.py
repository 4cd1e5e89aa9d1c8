"""The real Confluence pages used by the fidelity check, the benchmark and the golden tests.

Two layouts are read:

* the original capture (``shared/fixtures/confluence-cloud-pages/<id>/page.xhtml`` with ``page.v1.yaml`` and
  ``attachments.v1.yaml``), and
* the sandbox bundle in this repository (``confluence_sandbox/fixtures/<id>.xhtml`` + ``pages.json``).

Both give the same :class:`FixturePage`: the body and a :class:`ConvertContext` like the one the pipeline builds
(site ``https://querypie.atlassian.net/wiki``, space ``QM``, attachment download URLs without their version query).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from confluence_pipeline.convert.storage import ConvertContext

FIXTURE_BASE_URL = "https://querypie.atlassian.net/wiki"
FIXTURE_SPACE = "QM"
FIXTURES_ENV = "CONVERT_FIXTURES_DIR"

_REPO_ROOT = Path(__file__).resolve().parents[1]
_CANDIDATES = (
    _REPO_ROOT.parent / "shared" / "fixtures" / "confluence-cloud-pages",
    _REPO_ROOT / "confluence_sandbox" / "fixtures",
)


@dataclass(frozen=True)
class FixturePage:
    """One real page: id, title, storage body and the context to convert it with."""

    page_id: str
    title: str
    storage: str
    context: ConvertContext


def default_fixture_dir() -> Path | None:
    """Find the real pages: ``$CONVERT_FIXTURES_DIR``, the shared capture, then the sandbox bundle.

    Returns:
        The first directory that exists, or None.
    """
    configured = os.environ.get(FIXTURES_ENV)
    candidates = (Path(configured),) if configured else _CANDIDATES
    for candidate in candidates:
        if candidate.is_dir() and (any(candidate.glob("*/page.xhtml")) or (candidate / "pages.json").is_file()):
            return candidate
    return None


def _download_url(base: str, download: str | None) -> str | None:
    if not download:
        return None
    return base.rstrip("/") + download.split("?", 1)[0]


def _load_yaml(path: Path) -> dict:  # type: ignore[type-arg]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=loader) or {}


def _capture_page(folder: Path) -> FixturePage:
    meta = _load_yaml(folder / "page.v1.yaml")
    base = ((meta.get("_links") or {}).get("base")) or FIXTURE_BASE_URL
    space_path = ((meta.get("_expandable") or {}).get("space")) or ""
    space = space_path.rstrip("/").rsplit("/", 1)[-1] or FIXTURE_SPACE
    attachments: dict[str, str] = {}
    attachment_file = folder / "attachments.v1.yaml"
    if attachment_file.is_file():
        for item in _load_yaml(attachment_file).get("results") or []:
            url = _download_url(base, (item.get("_links") or {}).get("download"))
            if item.get("title") and url:
                attachments[item["title"]] = url
    page_id = str(meta.get("id") or folder.name)
    title = str(meta.get("title") or "")
    storage = (folder / "page.xhtml").read_text(encoding="utf-8")
    context = ConvertContext(page_id=page_id, page_title=title, space_key=space, base_url=base, attachments=attachments)
    return FixturePage(page_id, title, storage, context)


def _bundle_pages(folder: Path) -> list[FixturePage]:
    bundle = json.loads((folder / "pages.json").read_text(encoding="utf-8"))
    pages = []
    for entry in bundle.get("pages") or []:
        page_id = str(entry["id"])
        body = folder / f"{page_id}.xhtml"
        if not body.is_file():
            continue
        attachments = {}
        for item in entry.get("attachments") or []:
            url = _download_url(FIXTURE_BASE_URL, item.get("download"))
            if item.get("title") and url:
                attachments[item["title"]] = url
        title = str(entry.get("title") or "")
        context = ConvertContext(
            page_id=page_id,
            page_title=title,
            space_key=FIXTURE_SPACE,
            base_url=FIXTURE_BASE_URL,
            attachments=attachments,
        )
        pages.append(FixturePage(page_id, title, body.read_text(encoding="utf-8"), context))
    return sorted(pages, key=lambda page: page.page_id)


def load_fixture_pages(folder: Path | str | None = None) -> list[FixturePage]:
    """Load every real page of a fixture directory (either layout), sorted by page id.

    Args:
        folder: the directory; :func:`default_fixture_dir` when omitted.

    Returns:
        The pages.

    Raises:
        FileNotFoundError: when no fixture directory is given or found.
    """
    path = Path(folder) if folder is not None else default_fixture_dir()
    if path is None or not path.is_dir():
        raise FileNotFoundError(
            f"no Confluence fixture pages found; set {FIXTURES_ENV} or pass a directory (looked in {_CANDIDATES})"
        )
    if (path / "pages.json").is_file():
        return _bundle_pages(path)
    return sorted(
        (_capture_page(sub) for sub in path.iterdir() if (sub / "page.xhtml").is_file()), key=lambda page: page.page_id
    )
