"""Full-text documents and queries that work for Korean as well as English.

PostgreSQL has no Korean stemmer, and Korean attaches particles to words (``데이터베이스에``), so a plain
``simple`` tsvector would never match ``데이터베이스``. Both documents and queries therefore add the character
bigrams of every Hangul run; words in other scripts are kept whole and lowercased. The ``simple`` configuration then
indexes the tokens as they are.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\w+", re.UNICODE)
_HANGUL = re.compile(r"[\uac00-\ud7a3]+")


def _expand(word: str) -> list[str]:
    tokens = [word]
    for run in _HANGUL.findall(word):
        if len(run) >= 2:
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    return tokens


def fts_document(text: str) -> str:
    """The text to feed ``to_tsvector('simple', …)`` for a chunk."""
    out: list[str] = []
    for word in _TOKEN.findall(text.lower()):
        if _HANGUL.search(word):
            out.extend(_expand(word))
        else:
            out.append(word)
    return " ".join(out)


def fts_query(query: str) -> str | None:
    """A ``to_tsquery('simple', …)`` expression for a user query, or None when it has no searchable word.

    Words are OR-ed (hybrid search ranks, it does not filter); a Hangul word matches when all of its bigrams do.
    """
    terms: list[str] = []
    for word in dict.fromkeys(_TOKEN.findall(query.lower())):
        if _HANGUL.search(word):
            grams = _expand(word)[1:] or [word]
            terms.append("(" + " & ".join(f"'{g}'" for g in dict.fromkeys(grams)) + ")")
        else:
            terms.append(f"'{word}'")
    return " | ".join(terms) if terms else None
