"""The real Confluence Cloud pages (CC BY 4.0, see ``fixtures/README.md``): one loader for all their users.

The sandbox serves them as space ``QM``, the converter's golden tests and fidelity check read them, and the
converter benchmark times them. Two layouts hold the same ten pages:

* the original capture, ``<dir>/<id>/`` with the REST v1 responses ``page.v1.yaml``, ``ancestors.v1.yaml`` and
  ``attachments.v1.yaml`` plus the storage body ``page.xhtml`` (``../shared/fixtures/confluence-cloud-pages`` next
  to the repository), and
* the bundle in this package, ``fixtures/pages.json`` plus ``fixtures/<id>.xhtml``, which :func:`build_bundle`
  derives from the capture so that a fresh clone has the pages too.

:func:`default_fixture_dir` prefers ``$CONVERT_FIXTURES_DIR``, then the shared capture, then the bundle. Either layout
gives the same :class:`FixturePage`: the body, the metadata the sandbox serves (position, ancestors, attachments) and
a :class:`~confluence_pipeline.convert.context.ConvertContext` like the one the pipeline builds (site
``https://querypie.atlassian.net/wiki``, space ``QM``, attachment download URLs without their version query).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import yaml

from confluence_pipeline.convert.context import ConvertContext

__all__ = [
    "BUNDLE_DIR",
    "FIXTURES_ENV",
    "FIXTURE_BASE_URL",
    "FIXTURE_SPACE",
    "SHARED_CAPTURE",
    "FixtureAncestor",
    "FixtureAttachment",
    "FixturePage",
    "build_bundle",
    "capture_dir",
    "default_fixture_dir",
    "load_capture_yaml",
    "load_fixture_pages",
]

FIXTURES_ENV = "CONVERT_FIXTURES_DIR"
FIXTURE_BASE_URL = "https://querypie.atlassian.net/wiki"
FIXTURE_SPACE = "QM"
_REPO_ROOT = Path(__file__).resolve().parents[1]
BUNDLE_DIR = _REPO_ROOT / "confluence_sandbox" / "fixtures"
SHARED_CAPTURE = _REPO_ROOT.parent / "shared" / "fixtures" / "confluence-cloud-pages"
_SOURCE = "querypie/querypie-docs confluence-mdx/tests/testcases (CC BY 4.0)"


@dataclass(frozen=True, slots=True)
class FixtureAncestor:
    """An ancestor of a fixture page as Confluence reported it."""

    id: int
    title: str
    position: int


@dataclass(frozen=True, slots=True)
class FixtureAttachment:
    """One attachment of a fixture page, with the values Confluence returned for it."""

    id: str
    title: str
    media_type: str
    file_size: int
    media_type_description: str
    file_id: str
    download: str
    comment: str


@dataclass(frozen=True)
class FixturePage:
    """One real page: metadata, storage body and the context to convert it with.

    Attributes:
        id: the page id.
        title: the page title.
        position: the page's position among its siblings.
        ancestors: root first, as ``ancestors.v1.yaml`` lists them.
        attachments: the page's attachments.
        storage: the storage-format body, exactly as captured.
        base_url: the site the page came from.
        space_key: the page's space.
    """

    id: int
    title: str
    position: int
    ancestors: tuple[FixtureAncestor, ...]
    attachments: tuple[FixtureAttachment, ...]
    storage: str
    base_url: str = FIXTURE_BASE_URL
    space_key: str = FIXTURE_SPACE

    @property
    def page_id(self) -> str:
        """The page id as the REST API spells it (a string)."""
        return str(self.id)

    def body(self) -> str:
        """Return the storage-format body exactly as captured (the sandbox corpus's name for :attr:`storage`)."""
        return self.storage

    @cached_property
    def context(self) -> ConvertContext:
        """The conversion context the pipeline would build for this page."""
        base = self.base_url.rstrip("/")
        attachments = {a.title: base + a.download.split("?", 1)[0] for a in self.attachments if a.title and a.download}
        return ConvertContext(
            page_id=self.page_id,
            page_title=self.title,
            space_key=self.space_key,
            base_url=self.base_url,
            attachments=attachments,
        )


def _is_capture(folder: Path) -> bool:
    return any(folder.glob("*/page.xhtml")) and any(folder.glob("*/page.v1.yaml"))


def _is_bundle(folder: Path) -> bool:
    return (folder / "pages.json").is_file()


def capture_dir() -> Path | None:
    """Find the original capture (REST v1 responses): ``$CONVERT_FIXTURES_DIR`` if it is one, else the shared one.

    Returns:
        The capture directory, or None when neither exists.
    """
    configured = os.environ.get(FIXTURES_ENV)
    for candidate in (Path(configured),) if configured else (SHARED_CAPTURE,):
        if candidate.is_dir() and _is_capture(candidate):
            return candidate
    return None


def default_fixture_dir() -> Path | None:
    """Find the real pages: ``$CONVERT_FIXTURES_DIR``, the shared capture, then the bundle.

    Returns:
        The first directory that holds pages in either layout, or None.
    """
    configured = os.environ.get(FIXTURES_ENV)
    for candidate in (Path(configured),) if configured else (SHARED_CAPTURE, BUNDLE_DIR):
        if candidate.is_dir() and (_is_capture(candidate) or _is_bundle(candidate)):
            return candidate
    return None


def load_fixture_pages(folder: Path | str | None = None) -> tuple[FixturePage, ...]:
    """Load every real page of a fixture directory (either layout), ordered by page id.

    Args:
        folder: the directory; :func:`default_fixture_dir` when omitted.

    Returns:
        The pages (loaded once per directory, then cached).

    Raises:
        FileNotFoundError: no fixture directory is given or found, or it holds pages in neither layout.
    """
    path = Path(folder) if folder is not None else default_fixture_dir()
    if path is None or not path.is_dir():
        raise FileNotFoundError(
            f"no Confluence fixture pages found in {path or 'any default location'}; set {FIXTURES_ENV} to a "
            f"capture (<id>/page.xhtml + page.v1.yaml) or a bundle (pages.json), or restore {BUNDLE_DIR}"
        )
    return _load_pages(path.resolve())


@cache
def _load_pages(path: Path) -> tuple[FixturePage, ...]:
    if _is_bundle(path):
        pages = _bundle_pages(path)
    elif _is_capture(path):
        pages = [_capture_page(sub) for sub in path.iterdir() if (sub / "page.xhtml").is_file()]
    else:
        raise FileNotFoundError(
            f"{path} holds no Confluence fixture pages: expected <id>/page.xhtml with page.v1.yaml (a capture) or "
            "pages.json (a bundle)"
        )
    return tuple(sorted(pages, key=lambda page: page.id))


def load_capture_yaml(folder: Path, page_id: str, name: str) -> Any:
    """Read one captured REST v1 response.

    Args:
        folder: the capture directory.
        page_id: the page's sub-directory.
        name: the file, e.g. ``page.v1.yaml``.

    Returns:
        The parsed YAML (an empty dict for an empty file).
    """
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with (folder / page_id / name).open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=loader) or {}


def _capture_page(folder: Path) -> FixturePage:
    meta = load_capture_yaml(folder.parent, folder.name, "page.v1.yaml")
    ancestors = attachments = {}
    if (folder / "ancestors.v1.yaml").is_file():
        ancestors = load_capture_yaml(folder.parent, folder.name, "ancestors.v1.yaml")
    if (folder / "attachments.v1.yaml").is_file():
        attachments = load_capture_yaml(folder.parent, folder.name, "attachments.v1.yaml")
    space_path = (meta.get("_expandable") or {}).get("space") or ""
    return FixturePage(
        id=int(meta.get("id") or folder.name),
        title=str(meta.get("title") or ""),
        position=int((meta.get("extensions") or {}).get("position", 0)),
        ancestors=tuple(
            FixtureAncestor(id=int(a["id"]), title=a["title"], position=int(a["extensions"]["position"]))
            for a in ancestors.get("results") or []
        ),
        attachments=tuple(_captured_attachment(a) for a in attachments.get("results") or []),
        storage=(folder / "page.xhtml").read_text(encoding="utf-8"),
        base_url=(meta.get("_links") or {}).get("base") or FIXTURE_BASE_URL,
        space_key=space_path.rstrip("/").rsplit("/", 1)[-1] or FIXTURE_SPACE,
    )


def _captured_attachment(item: dict[str, Any]) -> FixtureAttachment:
    extensions = item["extensions"]
    return FixtureAttachment(
        id=item["id"],
        title=item["title"],
        media_type=extensions["mediaType"],
        file_size=int(extensions["fileSize"]),
        media_type_description=extensions.get("mediaTypeDescription", ""),
        file_id=extensions.get("fileId", ""),
        download=item["_links"]["download"],
        comment=extensions.get("comment", ""),
    )


def _bundle_pages(folder: Path) -> list[FixturePage]:
    raw = json.loads((folder / "pages.json").read_text(encoding="utf-8"))
    pages = []
    for item in raw.get("pages") or []:
        body = folder / f"{item['id']}.xhtml"
        if not body.is_file():
            continue
        pages.append(
            FixturePage(
                id=int(item["id"]),
                title=item["title"],
                position=int(item["position"]),
                ancestors=tuple(
                    FixtureAncestor(id=int(a["id"]), title=a["title"], position=int(a["position"]))
                    for a in item["ancestors"]
                ),
                attachments=tuple(FixtureAttachment(**a) for a in item["attachments"]),
                storage=body.read_text(encoding="utf-8"),
            )
        )
    return pages


def build_bundle(source_dir: Path, dest_dir: Path = BUNDLE_DIR) -> int:
    """Derive the sandbox's fixture bundle from captured REST v1 responses.

    Args:
        source_dir: A capture: one sub-folder per page id holding ``page.v1.yaml``, ``ancestors.v1.yaml``,
            ``attachments.v1.yaml`` and ``page.xhtml`` (the layout of ``shared/fixtures/confluence-cloud-pages``).
        dest_dir: Where to write ``pages.json`` and the ``<id>.xhtml`` bodies.

    Returns:
        The number of pages bundled.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    pages = sorted(
        (_capture_page(folder) for folder in source_dir.iterdir() if (folder / "page.v1.yaml").exists()),
        key=lambda page: page.page_id,
    )
    entries = []
    for page in pages:
        entries.append(
            {
                "id": page.page_id,
                "title": page.title,
                "position": page.position,
                "ancestors": [{"id": str(a.id), "title": a.title, "position": a.position} for a in page.ancestors],
                "attachments": [asdict(a) for a in page.attachments],
            }
        )
        shutil.copyfile(source_dir / page.page_id / "page.xhtml", dest_dir / f"{page.page_id}.xhtml")
    payload = {"source": _SOURCE, "pages": entries}
    (dest_dir / "pages.json").write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    _load_pages.cache_clear()
    return len(pages)
