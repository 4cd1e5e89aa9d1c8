from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from confluence_pipeline.embed.base import EmbeddingProvider
from confluence_pipeline.embed.local import LocalEmbedder

SAMPLES = [
    "How to rotate the PostgreSQL replication credentials without downtime",
    "데이터베이스에 접속하는 방법과 접근 권한을 설정합니다.",
    "Mixed: Kubernetes 클러스터의 노드 autoscaling 설정",
    "",
    "!!! ---",
]

# Small wiki-like corpus: pages share everyday vocabulary ("configure", "team", "설정") but each has rarer terms.
CORPUS = {
    "backup": "Nightly backup schedule for the billing database. The pg_dump job runs at 02:00 and uploads "
    "compressed archives to object storage. Restore drills happen every quarter; the team verifies checksums.",
    "oncall": "On-call rotation for the platform team. PagerDuty escalates after fifteen minutes; the secondary "
    "engineer acknowledges incidents and writes the postmortem within two days.",
    "vpn": "Configure the corporate VPN client with WireGuard. Import the tunnel profile, enable split tunnelling "
    "for internal subnets and check the handshake in the status panel.",
    "release": "Release checklist for the mobile app: bump the version, tag the commit, run the canary rollout to "
    "five percent of users and watch crash-free sessions before promoting the build.",
    "onboarding": "Onboarding guide for new engineers: request laptop access, join the team channels, pair with a "
    "buddy for the first week and configure your development environment.",
    "kafka": "Kafka consumer lag alerts fire when a partition falls more than ten thousand offsets behind. Scale "
    "the consumer group or investigate slow deserialisation in the ingestion service.",
    "sso": "Single sign-on uses SAML with Okta as the identity provider. Map the groups claim to roles and rotate "
    "the signing certificate before it expires.",
    "audit": "DB Access History 메뉴에서 데이터베이스 접속 이력을 조회합니다. 사용자 이름, 클라이언트 IP, "
    "에러 메시지로 검색할 수 있으며 결과는 CSV 파일로 내보낼 수 있습니다.",
    "masking": "데이터 마스킹 정책을 설정하면 민감한 컬럼의 값이 조회 결과에서 가려집니다. 주민등록번호와 전화번호 "
    "컬럼에 마스킹 패턴을 지정하세요.",
    "approval": "접근 요청 승인 워크플로우: 사용자가 권한을 요청하면 팀장이 승인하고, 보안 담당자가 최종 검토합니다. "
    "승인된 권한은 만료일 이후 자동으로 회수됩니다.",
    "proxy": "에이전트 프록시 서버를 설치하고 방화벽에서 포트를 열어야 합니다. 설치 후 상태 페이지에서 연결을 "
    "확인하세요.",
    "quota": "Storage quota per space is fifty gigabytes. Attachments larger than the limit are rejected; ask an "
    "administrator to raise the quota for archival spaces.",
}

QUERIES = [
    ("pg_dump restore drill", "backup"),
    ("who acknowledges PagerDuty incidents", "oncall"),
    ("wireguard tunnel handshake", "vpn"),
    ("canary rollout crash-free sessions", "release"),
    ("buddy for new engineers", "onboarding"),
    ("consumer lag partition offsets", "kafka"),
    ("okta SAML signing certificate", "sso"),
    ("데이터베이스 접속 이력 조회", "audit"),
    ("주민등록번호 마스킹", "masking"),
    ("권한 승인 요청", "approval"),
    ("프록시 방화벽 포트", "proxy"),
    ("attachment quota gigabytes", "quota"),
]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def test_shape_dtype_and_unit_rows() -> None:
    embedder = LocalEmbedder()
    vectors = embedder.embed(SAMPLES)
    assert vectors.shape == (len(SAMPLES), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert np.isfinite(vectors).all()


def test_protocol_model_name_and_describe(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="confluence_pipeline.embed.local"):
        embedder = LocalEmbedder(dimensions=512)
    assert isinstance(embedder, EmbeddingProvider)
    assert embedder.provider_name == "local"
    assert embedder.model == "local-hash-v1-512"
    assert embedder.dimensions == 512
    assert "local offline embedder" in caplog.text
    description = embedder.describe()
    assert description["provider"] == "local"
    assert description["model"] == "local-hash-v1-512"
    assert "local offline embedder" in description["description"]


def test_empty_input_list_and_stats() -> None:
    embedder = LocalEmbedder()
    assert embedder.embed([]).shape == (0, 384)
    embedder.embed(["alpha beta", "gamma"])
    snapshot = embedder.stats.snapshot()
    assert snapshot["requests"] == 1
    assert snapshot["inputs"] == 2
    assert snapshot["tokens"] == 3


def test_batch_composition_does_not_change_vectors() -> None:
    embedder = LocalEmbedder()
    together = embedder.embed(SAMPLES)
    one_by_one = np.vstack([embedder.embed([text]) for text in SAMPLES])
    np.testing.assert_array_equal(together, one_by_one)


def test_deterministic_across_processes() -> None:
    here = LocalEmbedder().embed(SAMPLES)
    script = (
        "import hashlib, json, sys\n"
        "from confluence_pipeline.embed.local import LocalEmbedder\n"
        "texts = json.loads(sys.stdin.read())\n"
        "print(hashlib.sha256(LocalEmbedder(log_selection=False).embed(texts).tobytes()).hexdigest())\n"
    )
    digests = set()
    for seed in ("1", "4242"):
        result = subprocess.run(
            [sys.executable, "-c", script],
            input=json.dumps(SAMPLES),
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=60,
        )
        digests.add(result.stdout.strip())
    assert digests == {hashlib.sha256(here.tobytes()).hexdigest()}


def test_korean_particles_stay_close() -> None:
    embedder = LocalEmbedder()
    base, with_particle, other_particle, unrelated = embedder.embed(
        ["데이터베이스", "데이터베이스에", "데이터베이스를", "사용자 권한"]
    )
    assert cosine(base, with_particle) > 0.8
    assert cosine(base, other_particle) > 0.8
    assert cosine(base, unrelated) < 0.3

    query, doc, distractor = embedder.embed(
        ["데이터베이스에 접속하는 방법", "데이터베이스 접속 설정 가이드", "사용자 권한 승인 절차"]
    )
    assert cosine(query, doc) > cosine(query, distractor) + 0.2


def test_english_plural_and_case_fold() -> None:
    embedder = LocalEmbedder()
    servers, server, other = embedder.embed(["Database SERVERS", "database server", "attachment quota"])
    assert cosine(servers, server) > 0.99
    assert cosine(servers, other) < 0.3


@pytest.mark.parametrize("dimensions", [384, 1536])
def test_lexical_search_ranks_pages_sharing_rare_terms(dimensions: int) -> None:
    embedder = LocalEmbedder(dimensions)
    names = list(CORPUS)
    documents = embedder.embed([CORPUS[name] for name in names])
    queries = embedder.embed([query for query, _ in QUERIES])
    scores = queries @ documents.T
    for row, (query, expected) in enumerate(QUERIES):
        ranking = [names[i] for i in np.argsort(-scores[row])]
        assert ranking[0] == expected, f"{query!r} ranked {ranking[:3]}"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=300), min_size=1, max_size=5))
def test_any_text_gives_a_finite_unit_vector(texts: list[str]) -> None:
    vectors = LocalEmbedder(64, log_selection=False).embed(texts)
    assert vectors.shape == (len(texts), 64)
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="dimensions"):
        LocalEmbedder(8)
    with pytest.raises(TypeError):
        LocalEmbedder().embed([b"bytes"])  # type: ignore[list-item]


def test_exact_identifier_outranks_its_siblings() -> None:
    embedder = LocalEmbedder()
    documents = [
        f"Runbook for identity-broker. Error IDBRK-E{code} means the token cache is stale; restart the broker pods "
        f"and check the session store latency dashboard before paging the team."
        for code in (1228, 1229, 1230, 1301)
    ]
    vectors = embedder.embed(documents)
    for position, code in enumerate((1228, 1229, 1230, 1301)):
        query = embedder.embed([f"what does IDBRK-E{code} mean"])[0]
        assert int(np.argmax(vectors @ query)) == position


def test_identifier_parts_still_match() -> None:
    embedder = LocalEmbedder()
    table, parts, other = embedder.embed(["search_queries table schema", "search queries", "billing invoices"])
    assert cosine(table, parts) > 0.4
    assert cosine(table, other) < 0.2
