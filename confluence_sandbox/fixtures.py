"""Real Confluence Cloud pages bundled with the sandbox (CC BY 4.0, see ``fixtures/README.md``).

The bundle keeps each page's storage body unmodified (``fixtures/<id>.xhtml``) plus the metadata the sandbox needs
to serve the page the way Confluence served it (``fixtures/pages.json``: title, position, ancestors, attachments).
:func:`build_bundle` derives that bundle from the captured REST v1 responses (``page.v1.yaml``,
``ancestors.v1.yaml``, ``attachments.v1.yaml``) so it can be rebuilt from the original capture.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

BUNDLE_DIR = Path(__file__).resolve().parent / "fixtures"


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


@dataclass(frozen=True, slots=True)
class FixturePage:
    """A real page: metadata plus a lazily read storage body."""

    id: int
    title: str
    position: int
    ancestors: tuple[FixtureAncestor, ...]
    attachments: tuple[FixtureAttachment, ...]

    def body(self) -> str:
        """Return the page's storage-format body exactly as captured."""
        return _read_body(self.id)


@cache
def _read_body(page_id: int) -> str:
    return (BUNDLE_DIR / f"{page_id}.xhtml").read_text(encoding="utf-8")


@cache
def load_fixture_pages() -> tuple[FixturePage, ...]:
    """Load the bundled fixture pages, ordered by page id.

    Returns:
        The fixture pages (bodies are read on first use and then cached; they total about 250 KB).
    """
    raw = json.loads((BUNDLE_DIR / "pages.json").read_text(encoding="utf-8"))
    pages = []
    for item in raw["pages"]:
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
            )
        )
    return tuple(sorted(pages, key=lambda p: p.id))


def build_bundle(source_dir: Path, dest_dir: Path = BUNDLE_DIR) -> int:
    """Derive the sandbox's fixture bundle from captured REST v1 responses.

    Args:
        source_dir: A folder with one sub-folder per page id holding ``page.v1.yaml``, ``ancestors.v1.yaml``,
            ``attachments.v1.yaml`` and ``page.xhtml`` (the layout of ``shared/fixtures/confluence-cloud-pages``).
        dest_dir: Where to write ``pages.json`` and the ``<id>.xhtml`` bodies.

    Returns:
        The number of pages bundled.
    """
    import yaml

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    dest_dir.mkdir(parents=True, exist_ok=True)
    pages: list[dict[str, Any]] = []
    for folder in sorted(p for p in source_dir.iterdir() if (p / "page.v1.yaml").exists()):
        page = yaml.load((folder / "page.v1.yaml").read_text(encoding="utf-8"), Loader=loader)
        ancestors = yaml.load((folder / "ancestors.v1.yaml").read_text(encoding="utf-8"), Loader=loader)
        attachments = yaml.load((folder / "attachments.v1.yaml").read_text(encoding="utf-8"), Loader=loader)
        pages.append(
            {
                "id": str(page["id"]),
                "title": page["title"],
                "position": int(page.get("extensions", {}).get("position", 0)),
                "ancestors": [
                    {"id": str(a["id"]), "title": a["title"], "position": int(a["extensions"]["position"])}
                    for a in ancestors["results"]
                ],
                "attachments": [
                    {
                        "id": a["id"],
                        "title": a["title"],
                        "media_type": a["extensions"]["mediaType"],
                        "file_size": int(a["extensions"]["fileSize"]),
                        "media_type_description": a["extensions"].get("mediaTypeDescription", ""),
                        "file_id": a["extensions"].get("fileId", ""),
                        "download": a["_links"]["download"],
                        "comment": a["extensions"].get("comment", ""),
                    }
                    for a in attachments["results"]
                ],
            }
        )
        shutil.copyfile(folder / "page.xhtml", dest_dir / f"{page['id']}.xhtml")
    payload = {"source": "querypie/querypie-docs confluence-mdx/tests/testcases (CC BY 4.0)", "pages": pages}
    (dest_dir / "pages.json").write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    load_fixture_pages.cache_clear()
    _read_body.cache_clear()
    return len(pages)
