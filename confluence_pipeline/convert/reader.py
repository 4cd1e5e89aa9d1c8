"""The text a reader reads in a chunk's Markdown: what is embedded and indexed for full text.

Stored chunks keep their Markdown links and images, for display and citation. But a link's destination is not
something a reader reads: on real pages 12.7% of the characters of chunks are link and image URLs, which dilute both
the embedding and the full-text vector (``display``, ``wiki``, ``atlassian`` in every chunk) and, with a paid
embedding API, cost tokens. :func:`reader_text` keeps link text and image alt text and drops the destinations; fenced
code is left exactly as written. Bare autolinks (``<https://…>``) are URLs the reader does read: their text stays.

Its SHA-256 is a chunk's ``content_hash``, the embedding cache key (see
:mod:`confluence_pipeline.convert.chunking`): a chunk without links keeps the key it always had.
"""

from __future__ import annotations

import re

READER_TEXT_VERSION = 2
"""Version of what chunks are embedded and indexed as: 1 was the raw chunk text, 2 drops link destinations. Chunk sets
cut under an older version are cut again (and go live once their new vectors exist, page by page)."""

# Destinations as the converter writes them: no spaces, parentheses percent-encoded (one level of nesting tolerated for
# hand-written Markdown).
_DESTINATION = r"\((?:[^()\s]|\([^()\s]*\))*\)"
_IMAGE = re.compile(r"!\[((?:\\.|[^\]\\])*)\]" + _DESTINATION)
_LINK = re.compile(r"\[((?:\\.|\[[^\]]*\]|[^\]\\\[])*)\]" + _DESTINATION)
_AUTOLINK = re.compile(r"<((?:https?|mailto|ftp):[^>\s]+)>")
_FENCE = re.compile(r"^(?:[ \t]*>)*[ \t]*(`{3,}|~{3,})")


def _strip(line: str) -> str:
    if "](" in line:
        line = _IMAGE.sub(r"\1", line)
        line = _LINK.sub(r"\1", line)
    if "<" in line:
        line = _AUTOLINK.sub(r"\1", line)
    return line


def reader_text(markdown: str) -> str:
    """Markdown without link and image destinations: link text and alt text stay, code blocks stay verbatim.

    Args:
        markdown: a chunk's text (or any Markdown the converter wrote).

    Returns:
        The text to embed and to index for full text.
    """
    if "](" not in markdown and "<" not in markdown:
        return markdown
    out: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        match = _FENCE.match(line)
        if fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
            out.append(line)
        elif match:
            fence = match.group(1)
            out.append(line)
        else:
            out.append(_strip(line))
    return "\n".join(out)
