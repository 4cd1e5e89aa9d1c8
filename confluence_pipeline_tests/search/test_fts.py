"""Full-text query terms: what a user types becomes tsquery terms that match what chunks store, Korean and English."""

from __future__ import annotations

import psycopg
import pytest

from confluence_pipeline.store.fts import MAX_TERMS, fts_document, fts_query, query_terms


def test_identifiers_become_phrases_of_their_parts() -> None:
    terms = {t.text: t for t in query_terms("What does PAYGW-E1043 mean for payment-gateway and churn_features?")}
    assert terms["paygw-e1043"].tsquery == "('paygw' <-> 'e1043')"
    assert terms["payment-gateway"].lexemes == ("payment", "gateway")
    # PostgreSQL's parser cuts words at "_", so the query names the parts the tsvector really holds.
    assert terms["churn_features"].tsquery == "('churn' <-> 'features')"
    # Function words match every chunk and are dropped.
    assert not {"what", "does", "for", "and"} & set(terms)


def test_korean_words_match_by_bigrams_without_their_particles() -> None:
    terms = {t.text: t for t in query_terms("데이터베이스에 접속하는 방법을 알려줘")}
    assert terms["데이터베이스"].tsquery == "('데이' & '이터' & '터베' & '베이' & '이스')"
    assert "접속" in terms and "방법" in terms
    assert "알려줘" not in terms


def test_a_query_of_function_words_still_searches_and_long_queries_are_cut() -> None:
    assert fts_query("how to") == "('how') | ('to')"
    assert fts_query("!!! ???") is None
    assert len(query_terms(" ".join(f"word{i}" for i in range(40)))) == MAX_TERMS


@pytest.mark.parametrize(
    ("text", "query"),
    [
        (
            "장애 대응: 결제 게이트웨이(payment-gateway) 응답 지연. 관련 오류 코드: `PAYGW-E1027`.",
            "결제 게이트웨이 응답 지연",
        ),
        (
            "장애 대응: 결제 게이트웨이(payment-gateway) 응답 지연. 관련 오류 코드: `PAYGW-E1027`.",
            "PAYGW-E1027 오류는?",
        ),
        ("analytics.churn_features 테이블의 컬럼, 파티션 키, 보존 기간", "churn_features 보존 기간이"),
        ("Roll back payment-gateway with kubectl rollout undo", "payment-gateway rollback kubectl"),
        ("알림 이름은 SESST_응답_지연이며 #session-store-oncall 채널로 전달됩니다", "SESST_응답_지연 알림"),
    ],
)
def test_every_term_of_a_query_matches_the_chunk_that_contains_it(
    conn: psycopg.Connection, text: str, query: str
) -> None:
    document = fts_document(text)
    for term in query_terms(query):
        present = all(part in text.lower() for part in term.lexemes if part.isascii())
        matched = conn.execute(
            "SELECT to_tsvector('simple', %s) @@ to_tsquery('simple', %s)", (document, term.tsquery)
        ).fetchone()[0]
        if present:
            assert matched, (term, text)


def test_an_identifier_phrase_does_not_match_its_parts_apart(conn: psycopg.Connection) -> None:
    document = fts_document("the gateway for payment retries")
    (term,) = query_terms("payment-gateway")
    assert not conn.execute(
        "SELECT to_tsvector('simple', %s) @@ to_tsquery('simple', %s)", (document, term.tsquery)
    ).fetchone()[0]


def test_a_latin_name_with_a_korean_particle_is_found_by_the_name(conn: psycopg.Connection) -> None:
    document = fts_document("Grafana의 대시보드에서 Kafka를 확인합니다")
    for query in ("grafana", "kafka", "Grafana의"):
        (term,) = query_terms(query)
        assert conn.execute(
            "SELECT to_tsvector('simple', %s) @@ to_tsquery('simple', %s)", (document, term.tsquery)
        ).fetchone()[0], query
