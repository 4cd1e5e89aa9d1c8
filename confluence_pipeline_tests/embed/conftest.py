from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from confluence_pipeline.embed.openai_provider import OpenAIEmbedder
from confluence_sandbox.openai_server import FakeOpenAIServer

TEST_KEY = "sk-test-local-0123456789abcdef"


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(api_key=TEST_KEY) as server:
        yield server


@pytest.fixture
def make_embedder(fake_openai: FakeOpenAIServer) -> Iterator[Callable[..., OpenAIEmbedder]]:
    created: list[OpenAIEmbedder] = []

    def make(**overrides: Any) -> OpenAIEmbedder:
        options: dict[str, Any] = {
            "api_key": TEST_KEY,
            "base_url": fake_openai.base_url,
            "backoff_base_s": 0.001,
            "backoff_max_s": 0.005,
            "timeout_s": 10.0,
        }
        options.update(overrides)
        embedder = OpenAIEmbedder(**options)
        created.append(embedder)
        return embedder

    yield make
    for embedder in created:
        embedder.close()
