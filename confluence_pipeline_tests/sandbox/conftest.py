"""Fixtures for the sandbox tests: servers started in-process on free ports, clients, and the real fixtures."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from confluence_sandbox import SandboxServer, generate_corpus

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "confluence-cloud-pages"


def _fixture_dir() -> Path:
    candidates = [
        os.environ.get("SANDBOX_CAPTURE_DIR"),
        REPO_ROOT.parent / "shared" / "fixtures" / "confluence-cloud-pages",
    ]
    for candidate in candidates:
        if candidate and Path(candidate, "README.md").exists() and any(Path(candidate).glob("*/page.v1.yaml")):
            return Path(candidate)
    return BUNDLED_FIXTURES


FIXTURE_DIR = _fixture_dir()
FIXTURE_IDS = sorted(p.parent.name for p in FIXTURE_DIR.glob("*/page.v1.yaml"))


def load_yaml(page_id: str, name: str) -> Any:
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load((FIXTURE_DIR / page_id / name).read_text(encoding="utf-8"), Loader=loader)


@pytest.fixture(scope="session")
def fixture_yaml() -> Callable[[str, str], Any]:
    """Load ``<page id>/<file>`` from the real Confluence Cloud capture."""
    return load_yaml


@pytest.fixture
def make_server() -> Iterator[Callable[..., SandboxServer]]:
    """Start sandbox servers on free ports; all of them stop at the end of the test."""
    servers: list[SandboxServer] = []

    def factory(
        pages: int = 150,
        seed: int = 7,
        flavor: str = "cloud",
        timezone: str = "UTC",
        include_fixtures: bool = True,
        **kwargs: Any,
    ) -> SandboxServer:
        corpus = generate_corpus(pages, seed, flavor=flavor, include_fixtures=include_fixtures, timezone=timezone)
        server = SandboxServer(corpus, **kwargs).start()
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def cloud_ro() -> Iterator[SandboxServer]:
    """A Cloud sandbox shared by the read-only tests of a module (never mutate it)."""
    server = SandboxServer(generate_corpus(400, 11, timezone="Asia/Seoul")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dc_ro() -> Iterator[SandboxServer]:
    """A Data Center sandbox under /confluence shared by the read-only tests of a module."""
    server = SandboxServer(generate_corpus(400, 11, flavor="dc"), context_path="/confluence").start()
    yield server
    server.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run tests that take ``fixture_page_id`` once per real captured page."""
    if "fixture_page_id" in metafunc.fixturenames:
        metafunc.parametrize("fixture_page_id", FIXTURE_IDS)
