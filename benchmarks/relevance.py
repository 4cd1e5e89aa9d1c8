"""Search relevance on the sandbox corpus: hit@5 of full-text, vector and hybrid search for 30 written queries.

The corpus is ``generate_corpus(600, seed=42)`` (deterministic). It goes through the real pipeline: the local
Confluence sandbox over HTTP, sync, Markdown, chunks, and the local offline embedder. Each case below is a query a
person would type, in Korean or English, with the one page that answers it. The pairs were written by hand against
the corpus's pages (``Corpus.keywords`` and the pages' text); queries ask about what a page says and name the
service, data set or policy the way people do (``cdn purging``, ``report builder``, ``세션 스토어``); some quote an
error code or an alert name. Two English queries are about Korean pages and find them through the table or service
name they share. Two Korean queries are about pages written only in English and share no word with them:
full-text search and the lexical local embedder cannot match those, and they miss in every mode (that needs a
semantic embedding model). A case counts as a hit when the expected page is among the first five
results.

Run ``python -m benchmarks.relevance`` for the three figures (it builds a throw-away database on the
pipeline's PostgreSQL server). The test ``confluence_pipeline_tests/search/test_relevance.py`` runs the same
evaluation and requires hybrid search to reach 90%.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from confluence_pipeline.embed.base import EmbeddingProvider
from confluence_pipeline.search import MODES, search

CORPUS_PAGES = 600
CORPUS_SEED = 42
TOP_K = 5


@dataclass(frozen=True)
class RelevanceCase:
    """A query and the page that answers it.

    Attributes:
        query: what a person types.
        page_id: the expected page.
        title: the expected page's title (for people reading the list; checked against the corpus).
        language: ``ko`` or ``en``, the language of the query.
    """

    query: str
    page_id: str
    title: str
    language: str


def _case(language: str, query: str, page_id: int, title: str) -> RelevanceCase:
    return RelevanceCase(query=query, page_id=str(page_id), title=title, language=language)


CASES: tuple[RelevanceCase, ...] = (
    # English: questions about what a page says, naming the service, data set or policy as people do.
    _case("en", "which slack channel gets paged for payment-gateway latency", 1000135,
          "Runbook: payment-gateway high p99 latency"),
    _case("en", "session-store Redis password rotation through Vault without downtime", 1000272,
          "How to rotate session-store database credentials"),
    _case("en", "how long does the People team take to confirm a health checkup request", 1000246,
          "health checkup policy"),
    _case("en", "coupon-service availability zone lost its NAT gateway", 1000278,
          "Incident review: coupon-service partial outage"),
    _case("en", "inventory-api 3.4 drops the deprecated v0 API", 1000284, "inventory-api 3.4 release notes"),
    _case("en", "why did we move cdn purging to protobuf", 1000186, "ADR: adopt gRPC for cdn-purger"),
    _case("en", "shipping-tracker api port and bearer token", 1000212, "shipping-tracker API reference"),
    _case("en", "exactly-once writes for the report builder", 1000152, "report-builder design: idempotent retries"),
    _case("en", "marketing attribution table retention", 1000169, "marketing_attribution 테이블 명세"),
    _case("en", "who is eligible for a performance review", 1000589, "performance review policy"),
    _case("en", "recommendation engine grafana saturation panel", 1000250,
          "추천 엔진(recommendation-engine) 모니터링 대시보드 안내"),
    _case("en", "root cause of the auth-server partial outage", 1000438, "Incident review: auth-server partial outage"),
    _case("en", "what does USRPF-E1082 mean", 1000446, "Incident review: user-profile partial outage"),
    _case("en", "grep logs for SHIPT-E1135", 1000748, "How to rotate shipping-tracker database credentials"),
    _case("en", "notification-worker requests slower than the SLO", 1000171,
          "Runbook: notification-worker high p99 latency"),
    # Korean; the last two ask in Korean about pages written in English (see the module docstring).
    _case("ko", "세션 스토어 응답 시간이 SLO를 넘을 때 런북", 1000159,
          "장애 대응: 세션 스토어(session-store) 응답 지연"),
    _case("ko", "app_crash_reports 적재 실패 시 airflow 재실행 명령", 1000110,
          "app_crash_reports 파이프라인 운영 가이드"),
    _case("ko", "검색 인덱서 지연 원인이 된 배치 쿼리", 1000194,
          "장애 보고서: 검색 인덱서(search-indexer) 서비스 지연"),
    _case("ko", "inventory-api 로컬에서 docker compose로 실행하기", 1000238,
          "inventory-api 신규 입사자 온보딩: 로컬 개발 환경"),
    _case("ko", "성과 평가 신청 방법", 1000287, "성과 평가 제도 안내"),
    _case("ko", "webhook-relay 운영 배포 전에 확인할 체크리스트", 1000294, "webhook-relay 배포 절차"),
    _case("ko", "재택근무 대상과 기준", 1000340, "재택근무 제도 안내"),
    _case("ko", "user-profile 토큰은 어디서 발급받나요", 1000349, "user-profile 자주 묻는 질문"),
    _case("ko", "교육비 지원 신청은 어떻게 하나요", 1000376, "교육비 지원 제도 안내"),
    _case("ko", "SSO 브로커 주간 회의 액션 아이템", 1000475, "SSO 브로커(identity-broker) 주간 회의록"),
    _case("ko", "경비 정산 제도 신청 방법", 1000459, "경비 정산 제도 안내"),
    _case("ko", "NOTIW_응답_지연 알림 대응", 1000227, "장애 대응: 알림 워커(notification-worker) 응답 지연"),
    _case("ko", "SELLP-E1075 오류 원인", 1000405, "장애 대응: 판매자 포털(seller-portal) 응답 지연"),
    _case("ko", "세션 스토어 DB 비밀번호 교체", 1000272, "How to rotate session-store database credentials"),
    _case("ko", "쿠폰 서비스 부분 장애 NAT 게이트웨이", 1000278, "Incident review: coupon-service partial outage"),
)  # fmt: skip


@dataclass
class ModeFigures:
    """Hits of one search mode.

    Attributes:
        hits: cases whose page was in the top ``k``.
        total: cases evaluated.
        by_language: (hits, total) per query language.
        misses: (query, titles of the top ``k``) of each miss.
    """

    hits: int = 0
    total: int = 0
    by_language: dict[str, list[int]] = field(default_factory=dict)
    misses: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """hit@k as a share of the cases."""
        return self.hits / self.total if self.total else 0.0


@dataclass
class RelevanceReport:
    """hit@k per mode ("text", "vector", "hybrid")."""

    k: int
    modes: dict[str, ModeFigures]

    def rate(self, mode: str) -> float:
        """hit@k of one mode."""
        return self.modes[mode].rate


def corpus_problems(corpus: Any, cases: Sequence[RelevanceCase] = CASES) -> list[str]:
    """Cases whose page is missing from the corpus, not current, or has another title (the generator changed)."""
    problems = []
    for case in cases:
        page = corpus.page(case.page_id)
        if page is None:
            problems.append(f"{case.query!r}: page {case.page_id} is not in the corpus")
        elif page.title != case.title or page.status != "current":
            problems.append(
                f"{case.query!r}: page {case.page_id} is {page.title!r} ({page.status}), not {case.title!r}"
            )
    return problems


def ingest_corpus(db_url: str, pages: int = CORPUS_PAGES, seed: int = CORPUS_SEED) -> Any:
    """Serve ``generate_corpus(pages, seed)`` from a local sandbox and sync it into the database at ``db_url``.

    Returns:
        The corpus (to look pages up).
    """
    from confluence_sandbox.corpus import generate_corpus
    from confluence_sandbox.server import SandboxServer

    corpus = generate_corpus(pages, seed)
    with SandboxServer(corpus) as server:
        ingest_server(db_url, server)
    return corpus


def ingest_server(db_url: str, server: Any, provider: EmbeddingProvider | None = None) -> None:
    """Sync every space a sandbox lists into the (migrated) database at ``db_url`` through the pipeline's stages.

    Sync over HTTP, Markdown, chunks and embeddings (default: the local offline embedder at its default 384
    dimensions), space after space, in process. Then ``chunks`` is analyzed, as autovacuum would do on a live store,
    so that search has its term statistics.

    Args:
        db_url: the pipeline database.
        server: a running :class:`~confluence_sandbox.server.SandboxServer`.
        provider: the embedder.
    """
    from confluence_pipeline.confluence.sync import discover_spaces
    from confluence_pipeline.embed.local import LocalEmbedder
    from confluence_pipeline.store import pages as page_store
    from confluence_pipeline.store.db import connect

    provider = provider or LocalEmbedder(log_selection=False)
    client = sandbox_client(server)
    with connect(db_url, autocommit=True) as conn:
        spaces = discover_spaces(client)
        with conn.transaction():
            for space in spaces:
                page_store.upsert_space(conn, space)
        for space in spaces:
            sync_space_stages(conn, client, space.key, provider)
        conn.execute("ANALYZE chunks")


def sandbox_client(server: Any) -> Any:
    """A Confluence client for a local sandbox, as a user would configure it, without a client-side rate limit."""
    from confluence_pipeline.confluence.client import ConfluenceClient
    from confluence_pipeline.confluence.settings import ConfluenceSettings

    cloud = server.flavor == "cloud"
    return ConfluenceClient(
        ConfluenceSettings(
            base_url=server.base_url, deployment="cloud" if cloud else "datacenter", email=server.email,
            api_token=server.token, personal_access_token=None if cloud else server.token,
            rate_limit_rps=10_000.0, include_personal_spaces=True,
        )
    )  # fmt: skip


def sync_space_stages(conn: psycopg.Connection, client: Any, space_key: str, provider: EmbeddingProvider) -> None:
    """One space through sync, Markdown, chunks and embeddings, in process (what the ingest assets do in order)."""
    from confluence_pipeline.confluence.sync import sync_space
    from confluence_pipeline.stages import StageSettings, chunk_space, convert_space, embed_space

    stage_settings = StageSettings(workers=1)
    sync_space(conn, client, space_key)
    convert_space(conn, space_key, stage_settings)
    chunk_space(conn, space_key, stage_settings)
    embed_space(conn, space_key, [provider], stage_settings)


def evaluate(
    conn: psycopg.Connection,
    provider: EmbeddingProvider,
    cases: Sequence[RelevanceCase] = CASES,
    *,
    k: int = TOP_K,
    modes: Sequence[str] = MODES,
) -> RelevanceReport:
    """Run every case in every mode and count hits in the top ``k`` results.

    Args:
        conn: the pipeline database holding the ingested corpus.
        provider: the embedder of the active model (the local one for the sandbox).
        cases: query → page pairs.
        k: how many results count.
        modes: search modes to evaluate.

    Returns:
        hit@k per mode, per language, with the misses.
    """
    report = RelevanceReport(k=k, modes={})
    for mode in modes:
        figures = ModeFigures()
        for case in cases:
            results = search(conn, case.query, provider, k=k, mode=mode)
            hit = case.page_id in {r.page_id for r in results}
            figures.hits += hit
            figures.total += 1
            language = figures.by_language.setdefault(case.language, [0, 0])
            language[0] += hit
            language[1] += 1
            if not hit:
                figures.misses.append((case.query, [r.title for r in results]))
        report.modes[mode] = figures
    return report


def format_report(report: RelevanceReport, *, misses: bool = True) -> str:
    """The figures as text: one line per mode, then the misses of each mode."""
    lines = [f"search relevance, hit@{report.k}, {report.modes[next(iter(report.modes))].total} queries:"]
    names = {"text": "full-text only", "vector": "vector only", "hybrid": "hybrid"}
    for mode, figures in sorted(report.modes.items(), key=lambda item: list(names).index(item[0])):
        per_language = ", ".join(f"{lang} {h}/{n}" for lang, (h, n) in sorted(figures.by_language.items()))
        lines.append(
            f"  {names.get(mode, mode) + ':':<16} {figures.rate:6.1%}  ({figures.hits}/{figures.total}; {per_language})"
        )
    if misses:
        for mode, figures in report.modes.items():
            for query, titles in figures.misses:
                lines.append(f"  miss [{mode}] {query!r} → {' | '.join(titles) or 'no results'}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m benchmarks.relevance [--quiet]``; prints the figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.relevance", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="figures only, without the misses")
    args = parser.parse_args(argv)
    from benchmarks.search_speed import fresh_database
    from confluence_pipeline.cli.common import local_database
    from confluence_pipeline.embed.local import LocalEmbedder
    from confluence_pipeline.store.db import connect

    started = time.monotonic()
    urls = local_database()
    with fresh_database(urls.app, prefix="relevance") as url:
        corpus = ingest_corpus(url)
        problems = corpus_problems(corpus)
        if problems:
            print("the corpus no longer matches the cases:\n  " + "\n  ".join(problems), file=sys.stderr)
            return 1
        with connect(url, autocommit=True) as conn:
            report = evaluate(conn, LocalEmbedder(log_selection=False))
    print(format_report(report, misses=not args.quiet))
    print(f"({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
