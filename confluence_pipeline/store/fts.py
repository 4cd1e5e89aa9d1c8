"""Full-text documents and queries that work for Korean as well as English.

PostgreSQL has no Korean stemmer, and Korean attaches particles to words (``데이터베이스에``), so a plain
``simple`` tsvector would never match ``데이터베이스``. Both documents and queries therefore add the character
bigrams of every Hangul run; words in other scripts are kept whole and lowercased. A word that attaches Korean to a
Latin name (``Grafana의``, ``Kafka를``) also gives the name on its own in documents. The ``simple`` configuration then
indexes the tokens as they are.

Queries are cut into terms (:func:`query_terms`), each a small ``tsquery`` of its own:

* an English word is one lexeme; function words (``how``, ``to``, ``what``) are dropped, they match every chunk;
* an identifier written with ``-``, ``.``, ``/`` or ``:`` (``payment-gateway``, ``PAYGW-E1043``, ``v1.2``) is a
  phrase of its parts (``'paygw' <-> 'e1043'``), because documents store the parts at consecutive positions: the
  identifier then matches only where it is written, not wherever one of its parts occurs;
* a Hangul word matches when all its character bigrams do, after a trailing particle is stripped from the query
  word (``원인을`` → ``원인``), so that the query does not demand the particle the document may not have.

Search ranks chunks by how many terms they match (weighted by how rare each term is), so the terms are OR-ed in
:func:`fts_query`: ranking decides, the query does not filter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_TOKEN = re.compile(r"\w+", re.UNICODE)
_HANGUL = re.compile(r"[\uac00-\ud7a3]+")
_NOT_HANGUL = re.compile(r"[^\uac00-\ud7a3]+")
# An identifier: word runs joined by -, ., / or : without spaces. "_" is a word character, so snake_case names are
# single tokens on both sides already.
_SPAN = re.compile(r"\w+(?:[-./:]\w+)*", re.UNICODE)

# Function words that occur in nearly every English chunk and in many questions; they carry no topic.
_STOP_WORDS = frozenset(
    """
    a about after again all also am an and any are as at be been being but by can could did do does doing for from
    had has have having he her here his how i if in into is it its just me my no nor not of on or our out over
    should so some such than that the their them then there these they this those to too up us was we were what
    when where which while who whom why will with would you your
    """.split()  # noqa: SIM905 - a word list reads and diffs better as text
)

# Question words and fillers of Korean queries ("어떻게", "무엇"): as common in questions as "how" and "what".
_KO_STOP_WORDS = frozenset(
    "어떻게 무엇 무엇인가요 뭔가요 뭐야 뭐 왜 언제 어디 어디서 어디에 누가 있나요 알려줘".split()  # noqa: SIM905
)

# Particles and endings stripped from the end of a Hangul query word, longest first, when two syllables remain.
_KO_SUFFIXES = tuple(
    sorted(
        """
        으로부터 에서부터 이라고 에게서 으로서 으로써 에서 에게 께서 부터 까지 보다 처럼 으로 이나
        와 과 은 는 이 가 을 를 에 로 의 도 만
        하려면 하는 하기 하여 해서 하고 하면 합니다 하세요 했다 한다 된다 되는 됩니다 입니다 습니다
        """.split(),  # noqa: SIM905 - a word list reads and diffs better as text
        key=len,
        reverse=True,
    )
)

# Queries longer than this many terms are cut: each term costs a containment test per candidate row.
MAX_TERMS = 12


@dataclass(frozen=True)
class QueryTerm:
    """One term of a user query.

    Attributes:
        text: the term as found in the query (lowercased).
        tsquery: a ``to_tsquery('simple', …)`` expression that matches chunks containing the term.
        lexemes: the lexemes the term needs (all of them), for document-frequency lookups.
    """

    text: str
    tsquery: str
    lexemes: tuple[str, ...]


def _expand(word: str) -> list[str]:
    tokens = [word]
    for run in _HANGUL.findall(word):
        if len(run) >= 2:
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    return tokens


def fts_document(text: str) -> str:
    """The text to feed ``to_tsvector('simple', …)`` for a chunk."""
    # Most words are ASCII, and str.isascii is far cheaper than a regex search: only the others can hold Hangul.
    return " ".join([word if word.isascii() else _document_word(word) for word in _TOKEN.findall(text.lower())])


@lru_cache(maxsize=1 << 14)
def _document_word(word: str) -> str:
    # Cached: a Korean page repeats its words, and expanding one is most of the cost of a chunk's document. The bound
    # keeps the cache (a few hundred bytes a word) from growing with a large corpus's long tail of rare words.
    if not _HANGUL.search(word):
        return word
    expanded = _expand(word)
    # "grafana의": the name alone too, right after the word, so "grafana" finds it.
    expanded[1:1] = [run for run in _NOT_HANGUL.findall(word) if run != word]
    return " ".join(expanded)


def _strip_particle(word: str) -> str:
    if not _HANGUL.fullmatch(word):
        return word
    for suffix in _KO_SUFFIXES:
        if len(word) - len(suffix) >= 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _quote(lexeme: str) -> str:
    # \w+ tokens hold no quote or backslash, but be safe: a tsquery literal doubles both.
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _word_term(word: str) -> QueryTerm | None:
    """The term for a single word token, or None for a stop word."""
    if word in _STOP_WORDS or word in _KO_STOP_WORDS or (len(word) == 1 and word.isascii() and word.isalpha()):
        return None
    if _HANGUL.fullmatch(word):
        word = _strip_particle(word)
        grams = list(dict.fromkeys(_expand(word)[1:])) or [word]
        expression = " & ".join(_quote(g) for g in grams)
        return QueryTerm(word, f"({expression})" if len(grams) > 1 else expression, tuple(grams))
    return QueryTerm(word, _quote(word), (word,))


def _phrase_term(span: str, parts: list[str]) -> QueryTerm:
    """An identifier: its parts at consecutive positions.

    A Hangul part spans several positions in documents (the word, then its bigrams), so such identifiers fall back
    to requiring every part anywhere.
    """
    if any(_HANGUL.search(p) for p in parts):
        terms = [t for t in (_word_term(p) for p in parts) if t is not None]
        lexemes = tuple(lex for t in terms for lex in t.lexemes)
        return QueryTerm(span, "(" + " & ".join(t.tsquery for t in terms) + ")", lexemes)
    return QueryTerm(span, "(" + " <-> ".join(_quote(p) for p in parts) + ")", tuple(parts))


def _parts(span: str) -> list[str]:
    # PostgreSQL's parser splits words at "_" too ("churn_features" is stored as 'churn' 'features' at consecutive
    # positions), so a query word is cut the same way to name the lexemes the tsvector really holds.
    return [part for token in _TOKEN.findall(span) for part in token.split("_") if part]


def query_terms(query: str) -> list[QueryTerm]:
    """Cut a user query into distinct search terms (see the module docstring), at most :data:`MAX_TERMS`."""
    terms: dict[str, QueryTerm] = {}
    spans = _SPAN.findall(query.lower())
    for span in spans:
        parts = _parts(span)
        term = _phrase_term(span, parts) if len(parts) > 1 else _word_term(parts[0])
        if term is not None and term.tsquery not in terms:
            terms[term.tsquery] = term
    if not terms:
        # A query of nothing but function words ("how to"): search for them rather than for nothing.
        for span in spans:
            parts = _parts(span)
            term = QueryTerm(span, "(" + " <-> ".join(_quote(p) for p in parts) + ")", tuple(parts))
            terms.setdefault(term.tsquery, term)
    return list(terms.values())[:MAX_TERMS]


def fts_query(query: str) -> str | None:
    """A ``to_tsquery('simple', …)`` expression for a user query, or None when it has no searchable word.

    Terms are OR-ed (hybrid search ranks, it does not filter); see :func:`query_terms` for what a term is.
    """
    terms = query_terms(query)
    return " | ".join(t.tsquery for t in terms) if terms else None
