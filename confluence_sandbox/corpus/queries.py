"""What generated pages are about, for writing search tests (see the package docstring)."""

from __future__ import annotations

from collections.abc import Sequence

from confluence_sandbox.corpus.index import CorpusIndex
from confluence_sandbox.corpus.model import (
    Page,
    PageKeywords,
    QueryCandidate,
    TopicSummary,
    _code_term,
    _subjects,
)
from confluence_sandbox.topics import TOPICS


class CorpusQueries(CorpusIndex):
    """Search-test helpers: page keywords, query candidates with one right answer, topic counts, page lookup."""

    def keywords(self, page_id: int | str) -> PageKeywords | None:
        """Return what a generated page is about, or None for home/section/folder/fixture/created pages."""
        page = self.page(page_id)
        if page is None or page.topic < 0:
            return None
        topic = TOPICS[page.topic]
        subject = _subjects(topic)[page.subject]
        variant = topic.variants[page.variant]
        fields = subject.fields()
        return PageKeywords(
            page_id=str(page.id),
            space_key=page.space_key,
            title=page.title,
            topic=topic.key,
            language=topic.lang,
            subject=subject.name,
            subject_ko=subject.ko,
            variant=page.variant,
            terms=variant.terms,
            code=_code_term(subject, page.ordinal),
            jira_key=self._jira_key(page),
            queries=tuple((lang, q.format(**fields)) for lang, q in variant.queries),
        )

    def _searchable(self, page: Page) -> bool:
        space = self.spaces.get(page.space_key)
        return page.status == "current" and space is not None and space.status == "current"

    def query_candidates(
        self, language: str | None = None, kinds: Sequence[str] = ("topic", "code")
    ) -> list[QueryCandidate]:
        """Return search queries with one known right answer each.

        ``topic`` candidates come from the page's variant queries, and only for combinations (topic, subject,
        variant) that exactly one current page in a current space has. ``code`` candidates name the page's unique
        code (error code, data-quality check id or policy id) in a short sentence.

        Args:
            language: ``en`` or ``ko`` to keep only queries in that language.
            kinds: Which kinds of candidate to return.

        Returns:
            Candidates ordered by page id.
        """
        with self.lock:
            searchable = [p for p in self._pages.values() if p.topic >= 0 and self._searchable(p)]
        searchable.sort(key=lambda p: p.id)
        combos: dict[tuple[int, int, int], int] = {}
        for p in searchable:
            combos[(p.topic, p.subject, p.variant)] = combos.get((p.topic, p.subject, p.variant), 0) + 1
        out: list[QueryCandidate] = []
        for p in searchable:
            kw = self.keywords(p.id)
            assert kw is not None
            if "topic" in kinds and combos[(p.topic, p.subject, p.variant)] == 1:
                for lang, query in kw.queries:
                    if language in (None, lang):
                        out.append(QueryCandidate(query, lang, "topic", kw.page_id, p.title, p.space_key))
            if "code" in kinds:
                for lang, template in (("ko", "{code} 오류 원인"), ("en", "what does {code} mean")):
                    if language in (None, lang):
                        query = template.format(code=kw.code)
                        out.append(QueryCandidate(query, lang, "code", kw.page_id, p.title, p.space_key))
        return out

    def topics(self) -> list[TopicSummary]:
        """Summarise the corpus's topics and how many pages each has."""
        counts: dict[int, int] = {}
        with self.lock:
            for p in self._pages.values():
                if p.topic >= 0:
                    counts[p.topic] = counts.get(p.topic, 0) + 1
        return [
            TopicSummary(t.key, t.lang, t.description, t.section, tuple(v.title for v in t.variants), counts.get(i, 0))
            for i, t in enumerate(TOPICS)
        ]

    def find_pages(self, term: str) -> list[Page]:
        """Return pages whose title or keywords (terms, subject, code, Jira key) contain ``term``, any case."""
        needle = term.casefold()
        out = []
        for p in self.pages():
            hay = [p.title]
            kw = self.keywords(p.id)
            if kw is not None:
                hay.extend((kw.subject, kw.subject_ko, kw.code, kw.jira_key, *kw.terms))
            if any(needle in h.casefold() for h in hay):
                out.append(p)
        return out
