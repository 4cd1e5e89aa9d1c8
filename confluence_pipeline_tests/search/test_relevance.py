"""Search relevance on the sandbox corpus: 30 written queries, Korean and English, through the real pipeline.

The query → page pairs live in :mod:`benchmarks.relevance` (``CASES``), where
``python -m benchmarks.relevance`` prints the same figures.
"""

from __future__ import annotations

import pytest

from benchmarks.relevance import CASES, corpus_problems, evaluate, format_report, ingest_corpus
from confluence_pipeline.embed.local import LocalEmbedder
from confluence_pipeline.store.db import connect


def test_the_cases_are_thirty_and_in_both_languages() -> None:
    assert len(CASES) == 30
    assert sum(c.language == "ko" for c in CASES) == 15
    assert len({c.query for c in CASES}) == 30


def test_hybrid_search_finds_the_expected_page_in_the_top_5_for_90_percent(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = ingest_corpus(db_url)
    assert corpus_problems(corpus) == []
    with connect(db_url, autocommit=True) as conn:
        report = evaluate(conn, LocalEmbedder(log_selection=False))
    summary = format_report(report)
    with capsys.disabled():
        print("\n" + format_report(report, misses=False))
    assert report.rate("hybrid") >= 0.9, summary
    # Both languages work, not just one of them carrying the figure.
    for language in ("en", "ko"):
        hits, total = report.modes["hybrid"].by_language[language]
        assert hits / total >= 0.8, summary
