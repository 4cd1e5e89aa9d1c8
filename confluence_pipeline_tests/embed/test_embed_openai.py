from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import pytest

from confluence_pipeline.convert.tokens import count_tokens
from confluence_pipeline.embed.base import EmbeddingError, EmbeddingProvider
from confluence_pipeline.embed.local import LocalEmbedder
from confluence_pipeline.embed.openai_provider import OpenAIEmbedder
from confluence_pipeline.embed.openai_retries import parse_reset_duration
from confluence_sandbox.openai_server import FakeOpenAIServer

from .conftest import TEST_KEY

MakeEmbedder = Callable[..., OpenAIEmbedder]

TEXTS = [f"chunk {i}: the replication slot {i} on host db-{i % 7} lags behind" for i in range(23)]


def expected_vectors(texts: list[str], dimensions: int = 1536) -> np.ndarray:
    return LocalEmbedder(dimensions, log_selection=False).embed(texts)


def test_embeds_in_order_through_the_real_sdk(make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer) -> None:
    embedder = make_embedder()
    assert isinstance(embedder, EmbeddingProvider)
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 1536)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, expected_vectors(TEXTS), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    (batch,) = fake_openai.batches
    assert batch.model == "text-embedding-3-small"
    assert batch.dimensions == 1536
    assert batch.encoding_format == "base64"
    stats = embedder.stats.snapshot()
    assert stats["requests"] == 1 and stats["retries"] == 0
    assert stats["inputs"] == len(TEXTS)
    assert stats["tokens"] == batch.tokens == sum(count_tokens(t) for t in TEXTS)


def test_empty_call_makes_no_request(make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer) -> None:
    assert make_embedder().embed([]).shape == (0, 1536)
    assert fake_openai.requests == []


def test_empty_string_is_sent_as_a_space(make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer) -> None:
    vectors = make_embedder().embed(["", "text"])
    assert vectors.shape == (2, 1536)
    assert fake_openai.batches[0].texts == (" ", "text")


def test_batches_bounded_by_count(make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer) -> None:
    embedder = make_embedder(batch_size=5, concurrency=1)
    embedder.embed(TEXTS)
    assert [b.inputs for b in fake_openai.batches] == [5, 5, 5, 5, 3]
    assert embedder.stats.requests == 5


def test_batches_bounded_by_tokens(make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer) -> None:
    texts = [" ".join(["token"] * n) for n in (30, 50, 20, 60, 10, 45, 5, 80)]
    counts = [count_tokens(t) for t in texts]
    limit = 80
    expected: list[int] = []
    used = size = 0
    for count in counts:
        if size and used + count > limit:
            expected.append(size)
            used = size = 0
        used, size = used + count, size + 1
    expected.append(size)

    embedder = make_embedder(batch_size=100, max_batch_tokens=limit, concurrency=1)
    vectors = embedder.embed(texts)
    batches = fake_openai.batches
    assert [b.inputs for b in batches] == expected
    assert len(batches) > 3
    assert all(b.tokens <= limit for b in batches)
    np.testing.assert_allclose(vectors, expected_vectors(texts), atol=1e-6)


def test_over_long_input_is_truncated_with_a_warning(
    make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    long_text = "word " * 300
    embedder = make_embedder(max_input_tokens=50)
    with caplog.at_level(logging.WARNING, logger="confluence_pipeline.embed.openai_provider"):
        vectors = embedder.embed(["short text", long_text])
    assert vectors.shape == (2, 1536)
    assert "Truncated 1 input" in caplog.text
    assert embedder.stats.truncated == 1
    (batch,) = fake_openai.batches
    assert batch.texts is not None
    assert count_tokens(batch.texts[1]) <= 50
    assert long_text.startswith(batch.texts[1].rstrip())


def test_default_limit_keeps_inputs_under_the_server_limit(
    make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer
) -> None:
    embedder = make_embedder()
    embedder.embed(["lorem ipsum " * 6000])
    assert embedder.stats.truncated == 1
    assert fake_openai.batches[0].tokens <= 8191


def test_429_with_retry_after_then_success(make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.fail_next_with([429], retry_after=0.25)
    embedder = make_embedder()
    started = time.monotonic()
    vectors = embedder.embed(TEXTS[:3])
    elapsed = time.monotonic() - started
    np.testing.assert_allclose(vectors, expected_vectors(TEXTS[:3]), atol=1e-6)
    assert elapsed >= 0.25, "retry-after was not honoured"
    assert [r.status for r in fake_openai.requests] == [429, 200]
    assert embedder.stats.retries == 1
    assert embedder.stats.requests == 2


def test_429_with_ratelimit_reset_header_is_honoured(
    make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.fail_next_with([429, 429], retry_after=0.15, retry_header="ratelimit-reset")
    embedder = make_embedder()
    started = time.monotonic()
    embedder.embed(TEXTS[:2])
    assert time.monotonic() - started >= 0.3
    assert embedder.stats.retries == 2


def test_500_storm_exhausts_retries_with_a_clear_error(
    make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.always_status(500)
    embedder = make_embedder(max_retries=6)
    with pytest.raises(EmbeddingError) as caught:
        embedder.embed(TEXTS[:4])
    error = caught.value
    message = str(error)
    assert "returned 500 on 7 attempts" in message
    assert "EMBEDDING_MAX_RETRIES" in message
    assert error.retryable and error.status == 500 and error.attempts == 7
    assert TEST_KEY not in message and "sk-" not in message
    assert len(fake_openai.requests) == 7
    assert embedder.stats.requests == 7 and embedder.stats.retries == 6 and embedder.stats.inputs == 0
    assert error.__cause__ is None and error.__suppress_context__


def test_storm_stops_every_concurrent_batch(make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.always_status(503)
    embedder = make_embedder(batch_size=2, concurrency=4, max_retries=3)
    with pytest.raises(EmbeddingError, match="returned 503 on 4 attempts"):
        embedder.embed(TEXTS)
    # 12 batches would make 48 requests if each retried to the end. The first failure stops the others: at most
    # the 4 in-flight batches run out of attempts, plus a request a worker may start before the stop is seen.
    assert len(fake_openai.requests) <= 4 * 4 + 4


def test_wrong_key_fails_fast_naming_the_setting(fake_openai: FakeOpenAIServer) -> None:
    secret = "sk-proj-WRONGsecretValue987654321"
    embedder = OpenAIEmbedder(api_key=secret, base_url=fake_openai.base_url, backoff_base_s=0.001)
    with embedder, pytest.raises(EmbeddingError) as caught:
        embedder.embed(TEXTS[:2])
    message = str(caught.value)
    assert "OPENAI_API_KEY" in message and "401" in message
    assert caught.value.setting == "OPENAI_API_KEY"
    assert not caught.value.retryable
    assert secret not in message and "WRONG" not in message and "4321" not in message
    assert len(fake_openai.requests) == 1


def test_unknown_model_names_embedding_model(make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer) -> None:
    embedder = make_embedder(model="text-embedding-9-imaginary")
    with pytest.raises(EmbeddingError, match="EMBEDDING_MODEL") as caught:
        embedder.embed(TEXTS[:2])
    assert caught.value.status == 404
    assert len(fake_openai.requests) == 1


def test_dimensions_sent_to_text_embedding_3(make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer) -> None:
    vectors = make_embedder(dimensions=256).embed(TEXTS[:3])
    assert vectors.shape == (3, 256)
    assert fake_openai.batches[0].dimensions == 256
    np.testing.assert_allclose(vectors, expected_vectors(TEXTS[:3], 256), atol=1e-6)


def test_dimension_mismatch_is_a_clear_error(make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer) -> None:
    embedder = make_embedder(model="text-embedding-ada-002", dimensions=256)
    with pytest.raises(EmbeddingError) as caught:
        embedder.embed(TEXTS[:2])
    assert "model text-embedding-ada-002 returned 1536 dims but EMBEDDING_DIMENSIONS=256" in str(caught.value)
    assert caught.value.setting == "EMBEDDING_DIMENSIONS"
    # ada-002 does not accept a dimensions parameter, so none was sent.
    assert fake_openai.requests[0].dimensions is None


def test_order_preserved_when_batches_finish_out_of_order(
    make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer
) -> None:
    texts = [f"document number {i} about topic {i * 7919 % 101}" for i in range(60)]
    # The first request fails and is retried after a pause, so later batches complete first.
    fake_openai.fail_next_with([500], retry_after=0.2)
    fake_openai.set_latency(5)
    embedder = make_embedder(batch_size=4, concurrency=4)
    vectors = embedder.embed(texts)
    np.testing.assert_allclose(vectors, expected_vectors(texts), atol=1e-6)
    assert len(fake_openai.batches) == 15
    assert embedder.stats.retries == 1


def test_dropped_connection_is_retried(make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.fail_next_with([0])
    embedder = make_embedder()
    vectors = embedder.embed(TEXTS[:2])
    assert vectors.shape == (2, 1536)
    assert embedder.stats.retries == 1


def test_unreachable_server_names_base_url() -> None:
    with FakeOpenAIServer() as server:
        base_url = server.base_url
    embedder = OpenAIEmbedder(
        api_key=TEST_KEY, base_url=base_url, max_retries=2, backoff_base_s=0.001, backoff_max_s=0.002
    )
    with embedder, pytest.raises(EmbeddingError) as caught:
        embedder.embed(["hello"])
    assert "on 3 attempts" in str(caught.value)
    assert caught.value.setting == "OPENAI_BASE_URL"
    assert caught.value.retryable


def test_float_fallback_when_server_rejects_base64() -> None:
    with FakeOpenAIServer(api_key=None, accept_base64=False) as server:
        with OpenAIEmbedder(api_key=None, base_url=server.base_url, backoff_base_s=0.001) as embedder:
            first = embedder.embed(TEXTS[:3])
            second = embedder.embed(TEXTS[3:5])
        assert [r.encoding_format for r in server.requests] == ["base64", "float", "float"]
        assert [r.status for r in server.requests] == [400, 200, 200]
    np.testing.assert_allclose(first, expected_vectors(TEXTS[:3]), atol=1e-6)
    np.testing.assert_allclose(second, expected_vectors(TEXTS[3:5]), atol=1e-6)


def test_compatible_server_with_other_model_and_native_size() -> None:
    with FakeOpenAIServer(api_key=None, dimensions=768, models=["nomic-embed-text"]) as server:
        with OpenAIEmbedder(
            api_key=None, base_url=server.base_url, model="nomic-embed-text", dimensions=768, encoding_format="float"
        ) as embedder:
            vectors = embedder.embed(TEXTS[:3])
        assert server.batches[0].dimensions is None
    np.testing.assert_allclose(vectors, expected_vectors(TEXTS[:3], 768), atol=1e-6)


def test_describe_and_repr_hide_the_key(make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer) -> None:
    embedder = make_embedder()
    description = embedder.describe()
    assert description["provider"] == "openai"
    assert description["model"] == "text-embedding-3-small"
    assert description["dimensions"] == 1536
    assert description["base_url_host"] == f"127.0.0.1:{fake_openai.port}"
    assert TEST_KEY not in repr(description) + repr(embedder)


def test_missing_key_without_base_url_names_the_setting() -> None:
    with pytest.raises(EmbeddingError, match="OPENAI_API_KEY"):
        OpenAIEmbedder(api_key=None)


@pytest.mark.parametrize(
    ("argument", "setting"),
    [
        ({"batch_size": 0}, "EMBEDDING_BATCH_SIZE"),
        ({"dimensions": 0}, "EMBEDDING_DIMENSIONS"),
        ({"concurrency": 0}, "EMBEDDING_CONCURRENCY"),
        ({"max_retries": -1}, "EMBEDDING_MAX_RETRIES"),
        ({"base_url": "localhost:11434"}, "OPENAI_BASE_URL"),
    ],
)
def test_invalid_settings_are_named(argument: dict[str, object], setting: str) -> None:
    with pytest.raises(EmbeddingError) as caught:
        OpenAIEmbedder(api_key=TEST_KEY, **argument)  # type: ignore[arg-type]
    assert caught.value.setting == setting


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("20ms", 0.02), ("1s", 1.0), ("1.5s", 1.5), ("6m0s", 360.0), ("1h2m3s", 3723.0), ("2", 2.0), ("soon", None)],
)
def test_parse_reset_durations(value: str, seconds: float | None) -> None:
    assert parse_reset_duration(value) == (pytest.approx(seconds) if seconds is not None else None)
