from __future__ import annotations

import base64
import json
import socket
import urllib.request
from typing import Any

import numpy as np
import openai
import pytest

from confluence_pipeline.embed.local import LocalEmbedder
from confluence_sandbox.openai_server import FakeOpenAIServer

from .conftest import TEST_KEY


def admin(server: FakeOpenAIServer, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{server.admin_url}/{path}", data=data, method="GET" if body is None else "POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def client(server: FakeOpenAIServer, key: str = TEST_KEY) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=server.base_url, max_retries=0, timeout=10)


def test_sdk_default_base64_round_trip(fake_openai: FakeOpenAIServer) -> None:
    texts = ["hello world", "데이터베이스 접속"]
    response = client(fake_openai).embeddings.create(model="text-embedding-3-small", input=texts)
    assert fake_openai.requests[0].encoding_format == "base64"
    vectors = np.array([item.embedding for item in response.data], dtype=np.float32)
    np.testing.assert_allclose(vectors, LocalEmbedder(1536, log_selection=False).embed(texts), atol=1e-6)
    assert [item.index for item in response.data] == [0, 1]
    assert response.usage.prompt_tokens == response.usage.total_tokens == fake_openai.requests[0].tokens > 0
    assert response.model == "text-embedding-3-small"


def test_float_format_and_dimensions(fake_openai: FakeOpenAIServer) -> None:
    response = client(fake_openai).embeddings.create(
        model="text-embedding-3-large", input="one text", dimensions=64, encoding_format="float"
    )
    assert len(response.data[0].embedding) == 64
    assert isinstance(response.data[0].embedding[0], float)


def test_token_array_inputs(fake_openai: FakeOpenAIServer) -> None:
    response = client(fake_openai).embeddings.create(model="text-embedding-3-small", input=[[9906, 1917]])
    assert len(response.data) == 1
    assert fake_openai.batches[0].texts == ("Hello world",)
    assert fake_openai.batches[0].tokens == 2


def test_wrong_key_gets_openai_style_401(fake_openai: FakeOpenAIServer) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        client(fake_openai, key="sk-wrong-key-abcdefgh").embeddings.create(model="text-embedding-3-small", input="x")
    assert caught.value.code == "invalid_api_key"
    assert "sk-wrong-key-abcdefgh" not in str(caught.value)
    assert fake_openai.requests[0].status == 401


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"model": "nope", "input": "x"}, openai.NotFoundError),
        ({"model": "text-embedding-3-small", "input": ""}, openai.BadRequestError),
        ({"model": "text-embedding-3-small", "input": ["x"] * 2049}, openai.BadRequestError),
        ({"model": "text-embedding-3-small", "input": "word " * 9000}, openai.BadRequestError),
        ({"model": "text-embedding-ada-002", "input": "x", "dimensions": 8}, openai.BadRequestError),
        ({"model": "text-embedding-3-small", "input": "x", "dimensions": 4096}, openai.BadRequestError),
    ],
)
def test_openai_request_limits(fake_openai: FakeOpenAIServer, kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        client(fake_openai).embeddings.create(**kwargs)


def test_faults_over_http_and_stats(fake_openai: FakeOpenAIServer) -> None:
    admin(fake_openai, "faults", {"fail_next_with": [429, 503], "retry_after": 2})
    sdk = client(fake_openai)
    with pytest.raises(openai.RateLimitError) as rate_limited:
        sdk.embeddings.create(model="text-embedding-3-small", input="x")
    assert rate_limited.value.response.headers["retry-after"] == "2"
    assert rate_limited.value.response.headers["retry-after-ms"] == "2000"
    with pytest.raises(openai.InternalServerError):
        sdk.embeddings.create(model="text-embedding-3-small", input="x")
    sdk.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    stats = admin(fake_openai, "stats")
    assert stats["requests"] == 3
    assert stats["by_status"] == {"200": 1, "429": 1, "503": 1}
    assert stats["inputs"] == 2
    assert stats["batches"][-1]["inputs"] == 2

    admin(fake_openai, "faults", {"always_status": 500, "latency_ms": 1})
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            sdk.embeddings.create(model="text-embedding-3-small", input="x")
    admin(fake_openai, "reset", {})
    sdk.embeddings.create(model="text-embedding-3-small", input="x")
    assert admin(fake_openai, "stats")["by_status"] == {"200": 1}


def test_keep_alive_connections_use_tcp_nodelay(fake_openai: FakeOpenAIServer) -> None:
    sdk = client(fake_openai)
    for _ in range(3):
        sdk.embeddings.create(model="text-embedding-3-small", input="x")
    assert fake_openai._server is not None
    connections = fake_openai._server.open_connections()
    assert len(connections) == 1, "the SDK's keep-alive connection should be reused"
    assert connections[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    sdk.close()


def test_models_endpoint_and_base_urls(fake_openai: FakeOpenAIServer) -> None:
    models = client(fake_openai).models.list()
    assert {m.id for m in models.data} == {"text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002"}
    assert fake_openai.base_url == f"http://127.0.0.1:{fake_openai.port}/v1"
    assert fake_openai.admin_url == f"http://127.0.0.1:{fake_openai.port}/_fake"


def test_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        FakeOpenAIServer(host="0.0.0.0")
    with pytest.raises(ValueError, match="loopback"):
        FakeOpenAIServer(host="example.com")


def test_stop_releases_the_port() -> None:
    server = FakeOpenAIServer().start()
    port = server.port
    server.stop()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_base64_payload_is_little_endian_float32(fake_openai: FakeOpenAIServer) -> None:
    body = json.dumps({"model": "text-embedding-3-small", "input": ["abc"], "encoding_format": "base64"}).encode()
    request = urllib.request.Request(
        fake_openai.base_url + "/embeddings",
        data=body,
        headers={"Authorization": f"Bearer {TEST_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        payload = json.loads(response.read())
    assert payload["object"] == "list"
    item = payload["data"][0]
    assert item["object"] == "embedding" and item["index"] == 0
    vector = np.frombuffer(base64.b64decode(item["embedding"]), dtype="<f4")
    assert vector.shape == (1536,)
