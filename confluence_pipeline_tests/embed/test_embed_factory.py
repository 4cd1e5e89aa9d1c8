from __future__ import annotations

import pytest

from confluence_pipeline.defs.resources import SettingError, configured_resources
from confluence_pipeline.embed.base import EmbeddingError
from confluence_pipeline.embed.factory import EmbeddingSettings, build_provider
from confluence_pipeline.embed.local import LocalEmbedder
from confluence_pipeline.embed.openai_provider import OpenAIEmbedder
from confluence_sandbox.openai_server import FakeOpenAIServer

from .conftest import TEST_KEY

SECRET = "sk-live-abcdefghijklmnop1234"


def _embedding_settings(environ: dict[str, str]) -> EmbeddingSettings:
    """The embedding settings the resources build from an environment."""
    return configured_resources(environ).embeddings.settings()


def test_defaults_from_an_empty_environment() -> None:
    settings = _embedding_settings({})
    assert settings == EmbeddingSettings()
    assert settings.provider == "auto"
    assert settings.model == "text-embedding-3-small"
    assert settings.dimensions == 1536
    assert settings.resolved_provider == "local"


def test_reads_every_variable() -> None:
    settings = _embedding_settings(
        {
            "OPENAI_API_KEY": SECRET,
            "OPENAI_BASE_URL": "http://localhost:11434/v1",
            "EMBEDDING_PROVIDER": "OpenAI",
            "EMBEDDING_MODEL": "nomic-embed-text",
            "EMBEDDING_DIMENSIONS": "768",
            "EMBEDDING_BATCH_SIZE": "64",
            "EMBEDDING_MAX_BATCH_TOKENS": "100000",
            "EMBEDDING_CONCURRENCY": "2",
            "EMBEDDING_MAX_RETRIES": "0",
            "EMBEDDING_LOCAL_DIMENSIONS": "1024",
        }
    )
    assert settings == EmbeddingSettings(
        provider="openai",
        api_key=SECRET,
        base_url="http://localhost:11434/v1",
        model="nomic-embed-text",
        dimensions=768,
        batch_size=64,
        max_batch_tokens=100_000,
        concurrency=2,
        max_retries=0,
        local_dimensions=1024,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EMBEDDING_DIMENSIONS", "many"),
        ("EMBEDDING_BATCH_SIZE", "0"),
        ("EMBEDDING_CONCURRENCY", "-1"),
        ("EMBEDDING_MAX_RETRIES", "1.5"),
        ("EMBEDDING_PROVIDER", "cohere"),
    ],
)
def test_invalid_values_name_the_variable(name: str, value: str) -> None:
    # Malformed values are refused when the resources are bound, out-of-range ones by the settings object.
    with pytest.raises((EmbeddingError, SettingError), match=name) as caught:
        _embedding_settings({name: value})
    assert caught.value.setting == name


@pytest.mark.parametrize("name", ["EMBEDDING_DIMENSIONS", "EMBEDDING_LOCAL_DIMENSIONS"])
def test_more_dimensions_than_the_search_index_takes_are_refused_up_front(name: str) -> None:
    # text-embedding-3-large's 3,072 are indexed (as halfvec); past 4,000 the index could never be built.
    assert getattr(_embedding_settings({name: "3072"}), name.removeprefix("EMBEDDING_").lower()) == 3072
    with pytest.raises(EmbeddingError, match=f"{name}=4001 is more than the 4,000 dimensions") as caught:
        _embedding_settings({name: "4001"})
    assert caught.value.setting == name


def test_blank_values_count_as_unset() -> None:
    settings = _embedding_settings({"OPENAI_API_KEY": "  ", "EMBEDDING_DIMENSIONS": ""})
    assert settings.api_key is None and settings.dimensions == 1536
    assert settings.resolved_provider == "local"


def test_auto_selects_local_without_key() -> None:
    provider = build_provider(_embedding_settings({}))
    assert isinstance(provider, LocalEmbedder)
    assert provider.describe()["provider"] == "local"
    assert provider.model == "local-hash-v1-384"


def test_auto_selects_openai_with_key() -> None:
    provider = build_provider(_embedding_settings({"OPENAI_API_KEY": SECRET}))
    assert isinstance(provider, OpenAIEmbedder)
    description = provider.describe()
    assert description == {
        "provider": "openai",
        "model": "text-embedding-3-small",
        "dimensions": 1536,
        "base_url_host": "api.openai.com",
        "batch_size": 256,
        "max_batch_tokens": 250_000,
        "concurrency": 4,
        "max_retries": 6,
    }
    assert SECRET not in repr(description) + repr(provider)
    provider.close()


def test_auto_selects_openai_with_base_url_only_and_it_works() -> None:
    with FakeOpenAIServer(api_key=None) as server:
        provider = build_provider(_embedding_settings({"OPENAI_BASE_URL": server.base_url}))
        assert isinstance(provider, OpenAIEmbedder)
        assert provider.embed(["no key needed"]).shape == (1, 1536)
        assert provider.describe()["base_url_host"] == f"127.0.0.1:{server.port}"
        provider.close()


def test_explicit_local_wins_over_a_key() -> None:
    settings = _embedding_settings(
        {"OPENAI_API_KEY": SECRET, "EMBEDDING_PROVIDER": "local", "EMBEDDING_LOCAL_DIMENSIONS": "256"}
    )
    provider = build_provider(settings)
    assert isinstance(provider, LocalEmbedder)
    assert provider.dimensions == 256


def test_explicit_openai_without_key_names_the_setting() -> None:
    with pytest.raises(EmbeddingError, match="OPENAI_API_KEY"):
        build_provider(_embedding_settings({"EMBEDDING_PROVIDER": "openai"}))


def test_settings_repr_masks_secrets() -> None:
    settings = EmbeddingSettings(api_key=SECRET, base_url="https://user:hunter2@proxy.example.com/v1")
    shown = repr(settings)
    assert SECRET not in shown and "hunter2" not in shown
    assert "api_key='***'" in shown
    assert "proxy.example.com" in shown
    assert "api_key=None" in repr(EmbeddingSettings())


def test_end_to_end_through_settings(fake_openai: FakeOpenAIServer) -> None:
    settings = _embedding_settings(
        {"OPENAI_API_KEY": TEST_KEY, "OPENAI_BASE_URL": fake_openai.base_url, "EMBEDDING_BATCH_SIZE": "2"}
    )
    provider = build_provider(settings)
    assert provider.embed(["a b", "c d", "e f"]).shape == (3, 1536)
    assert sorted(b.inputs for b in fake_openai.batches) == [1, 2]


def test_embedding_errors_never_carry_the_key() -> None:
    error = EmbeddingError(f"bad key {SECRET} with header Authorization: Bearer abc.def", secrets=[SECRET])
    assert SECRET not in str(error) and "abc.def" not in str(error)
