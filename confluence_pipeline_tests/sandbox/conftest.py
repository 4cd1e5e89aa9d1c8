"""Fixtures for the sandbox tests: servers started in-process on free ports, clients, and the real fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from confluence_sandbox import SandboxServer, generate_corpus
from confluence_sandbox.fixtures import capture_dir, load_capture_yaml

# Two of the captured pages, so that the response-shape tests run from a fresh clone; all ten when the capture is here.
BUNDLED_CAPTURE = Path(__file__).resolve().parent / "fixtures" / "confluence-cloud-pages"
FIXTURE_DIR = capture_dir() or BUNDLED_CAPTURE
FIXTURE_IDS = sorted(p.parent.name for p in FIXTURE_DIR.glob("*/page.v1.yaml"))


def load_yaml(page_id: str, name: str) -> Any:
    return load_capture_yaml(FIXTURE_DIR, page_id, name)


@pytest.fixture(scope="session")
def bundled_capture() -> Path:
    """The two captured pages kept in this repository (REST v1 responses and bodies)."""
    return BUNDLED_CAPTURE


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
