"""Heading-aware, token-bounded chunks of a page's Markdown, for embedding and search.

How a page is cut:

1. **Sections.** The Markdown is split at ATX headings (``#`` … ``######``, never inside fenced code). Each section's
   path is the page title followed by its enclosing headings: ``Page › Section › Subsection``; that path is the
   chunk's ``section_title`` and the first line of its text, so a chunk read alone still says where it comes from.
   A heading whose section is empty and is followed by a deeper heading contributes only to its children's paths.
2. **Blocks.** A section body is split into blocks at blank lines, except that a fenced code block (blank lines
   included) and a table (consecutive ``|`` lines) are single blocks.
3. **Packing.** Blocks are packed greedily, in order, into chunks of at most ``max_tokens`` cl100k tokens counting
   the context line. A block is never split unless it alone exceeds the budget; then it is split on lines, and each
   part of a code block repeats the opening and closing fence, each part of a table its header and separator
   rows (a single line longer than the budget is cut at token boundaries as a last resort).
4. **Overlap.** When a section needs several chunks and the previous chunk ended in prose, the next chunk starts
   with up to ``overlap_tokens`` tokens of that prose (whole lines when they fit, else the last words). Code and
   tables are never used as overlap, so they are never shown truncated.

Stability: chunks depend only on their own section's Markdown and path, so the same Markdown always gives the
same chunks, and editing one section changes only that section's chunk texts and hashes (indexes of later chunks
shift only if the number of chunks in the edited section changes). ``content_hash`` is the sha256 of the chunk's
embedding input (:func:`~confluence_pipeline.convert.reader.reader_text` of ``text``: its links without their
destinations), so two chunks that read the same share one vector.

Defaults suit OpenAI text-embedding-3-small (cl100k_base, 8,191-token input limit): 512-token chunks keep
retrieval precise and an embedding batch small; 64 tokens of overlap bridge a sentence cut at a chunk boundary.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property

from confluence_pipeline.convert.reader import reader_text
from confluence_pipeline.convert.tokens import count_joined, count_tokens, get_encoding, tail_tokens, truncate_tokens

SEPARATOR = " › "

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+$")
_FENCE_OPEN = re.compile(r"^((?:[ \t]*>)*[ \t]*)(`{3,}|~{3,})(.*)$")
_TABLE_LINE = re.compile(r"^(?:[ \t]*>)*[ \t]*\|")
_TABLE_SEPARATOR = re.compile(r"^(?:[ \t]*>)*[ \t]*\|?[ \t]*:?-{1,}:?[ \t]*(?:\|[ \t]*:?-{1,}:?[ \t]*)*\|?[ \t]*$")
_RULE = re.compile(r"^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(?<!\\)(?:\*\*|__|(?<!\w)[*_]|[*_](?!\w)|`)")
_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")

# A multi-line block with more characters than this many per token of the budget may be over it (Korean text runs
# near a token a character): its lines are counted first, as splitting it needs, and its own count is added up from
# theirs instead of encoding the block a second time.
_LONG_BLOCK_CHARS_PER_TOKEN = 1

_CODE = "code"
_TABLE = "table"
_TEXT = "text"


@dataclass(frozen=True)
class Chunk:
    """One piece of a page, ready to embed.

    Attributes:
        index: position of the chunk within the page, from 0.
        section_title: ``Page title › Section › Subsection``.
        text: the context line (``section_title``), a blank line, then the Markdown of the chunk.
        token_count: cl100k tokens of ``text``.
        content_hash: sha256 hex of :attr:`embedding_input`, the embedding cache key.
    """

    index: int
    section_title: str
    text: str
    token_count: int
    content_hash: str

    @cached_property
    def embedding_input(self) -> str:
        """What is embedded and indexed for full text: ``text`` without link and image destinations."""
        # Cached: the chunker hashes it and the chunk stage indexes it for full text, both in the same worker.
        return reader_text(self.text)


@dataclass
class _Piece:
    text: str
    tokens: int
    kind: str
    block: int


def chunk_markdown(markdown: str, *, title: str, max_tokens: int = 512, overlap_tokens: int = 64) -> list[Chunk]:
    """Cut a page's Markdown into heading-aware chunks of at most ``max_tokens`` tokens.

    Args:
        markdown: the page's Markdown (as produced by ``convert_storage``).
        title: the page title, the root of every chunk's heading path.
        max_tokens: upper bound on each chunk's ``token_count``, context line included (at least 32).
        overlap_tokens: prose tokens repeated at the start of a section's next chunk (0 disables overlap).

    Returns:
        The chunks in document order. An empty page gives no chunks.

    Raises:
        ValueError: if ``max_tokens`` < 32 or ``overlap_tokens`` is negative or not below ``max_tokens // 2``.
    """
    if max_tokens < 32:
        raise ValueError(f"max_tokens must be at least 32, got {max_tokens}")
    if overlap_tokens < 0 or overlap_tokens >= max_tokens // 2:
        raise ValueError(f"overlap_tokens must be in [0, {max_tokens // 2}), got {overlap_tokens}")
    title = _clean_heading(title) or "Untitled"
    chunks: list[Chunk] = []

    def add(section_title: str, text: str, tokens: int) -> None:
        read = reader_text(text)
        chunk = Chunk(
            index=len(chunks),
            section_title=section_title,
            text=text,
            token_count=tokens,
            content_hash=hashlib.sha256(read.encode("utf-8")).hexdigest(),
        )
        vars(chunk)["embedding_input"] = read  # the cached_property's slot: derived once, here
        chunks.append(chunk)

    for path, body in _sections(markdown.replace("\r\n", "\n").replace("\r", "\n")):
        # Pages often open with a heading that repeats their title; the path names it once.
        if path and title and path[0].strip().casefold() == title.strip().casefold():
            path = path[1:]
        section_title = SEPARATOR.join([title, *path])
        before = len(chunks)
        for text, tokens in _chunk_section(section_title, body, max_tokens, overlap_tokens):
            add(section_title, text, tokens)
        if len(chunks) == before and path:
            # A heading with nothing readable under it is still words a reader sees, and findable.
            add(section_title, section_title, count_tokens(section_title))
    if not chunks:
        # An empty page is still a page: one chunk with its title keeps it searchable and lets it go live.
        add(title, title, count_tokens(title))
    return chunks


def _clean_heading(text: str) -> str:
    text = _LINK.sub(r"\1", text)
    text = _EMPHASIS.sub("", text)
    text = _UNESCAPE.sub(r"\1", text)
    return " ".join(text.split())


def _fence_close(line: str, fence: str) -> bool:
    match = _FENCE_OPEN.match(line)
    return bool(
        match and match.group(2)[0] == fence[0] and len(match.group(2)) >= len(fence) and not match.group(3).strip()
    )


def _sections(markdown: str) -> list[tuple[list[str], str]]:
    """Split Markdown at ATX headings outside fences: (heading path, body) per section."""
    raw: list[tuple[int, list[str], list[str]]] = []  # (level, path, body lines)
    stack: list[tuple[int, str]] = []
    level = 0
    path: list[str] = []
    lines: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        if fence is not None:
            if _fence_close(line, fence):
                fence = None
            lines.append(line)
            continue
        opening = _FENCE_OPEN.match(line)
        if opening and not (opening.group(2)[0] == "`" and "`" in opening.group(3)):
            fence = opening.group(2)
            lines.append(line)
            continue
        heading = _HEADING.match(line)
        if heading:
            raw.append((level, path, lines))
            level = len(heading.group(1))
            text = _clean_heading(_CLOSING_HASHES.sub("", heading.group(2) or ""))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, text or "#" * level))
            path = [name for _, name in stack]
            lines = []
            continue
        lines.append(line)
    raw.append((level, path, lines))
    sections: list[tuple[list[str], str]] = []
    for position, (section_level, section_path, body_lines) in enumerate(raw):
        body = "\n".join(body_lines).strip("\n")
        if not body.strip():
            following = raw[position + 1][0] if position + 1 < len(raw) else 0
            # An empty heading lives on in its subsections' paths; an empty preamble or a last, empty heading
            # only matters if it is a heading at all.
            if not section_path or following > section_level:
                continue
            body = ""
        sections.append((section_path, body))
    return sections


def _blocks(body: str) -> list[tuple[str, list[str]]]:
    """Split a section body into (kind, lines) blocks: fenced code, tables and blank-line separated text."""
    blocks: list[tuple[str, list[str]]] = []
    current: list[str] = []

    def flush() -> None:
        if current and not (len(current) == 1 and _RULE.match(current[0])):
            is_table = all(_TABLE_LINE.match(line) for line in current)
            blocks.append((_TABLE if is_table else _TEXT, current.copy()))
        current.clear()

    lines = body.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        opening = _FENCE_OPEN.match(line)
        if opening and not (opening.group(2)[0] == "`" and "`" in opening.group(3)):
            flush()
            fence = opening.group(2)
            code = [line]
            index += 1
            while index < len(lines):
                code.append(lines[index])
                index += 1
                if _fence_close(code[-1], fence):
                    break
            blocks.append((_CODE, code))
            continue
        if not line.strip():
            flush()
        elif current and (_TABLE_LINE.match(line) is None) != (_TABLE_LINE.match(current[-1]) is None):
            # A table directly after (or before) prose without a blank line is still its own block.
            flush()
            current.append(line)
        else:
            current.append(line)
        index += 1
    flush()
    return blocks


def _hard_split(text: str, limit: int) -> list[str]:
    """Cut one over-long line into pieces of at most ``limit`` tokens, preferring whitespace boundaries."""
    encoding = get_encoding()
    tokens = encoding.encode_ordinary(text)
    _, offsets = encoding.decode_with_offsets(tokens)
    pieces: list[str] = []
    start_token = 0
    start_char = 0
    while start_token < len(tokens):
        end_token = min(start_token + max(1, limit - 2), len(tokens))
        end_char = len(text) if end_token >= len(tokens) else offsets[end_token]
        if end_token < len(tokens):
            space = text.rfind(" ", start_char + 1, end_char)
            if space > start_char + (end_char - start_char) // 2:
                end_char = space
                while end_token > start_token + 1 and offsets[end_token] > end_char:
                    end_token -= 1
        if end_char <= start_char:
            end_char = len(text) if end_token >= len(tokens) else max(offsets[end_token], start_char + 1)
        piece = text[start_char:end_char]
        if piece.strip():
            pieces.append(piece.strip() if pieces else piece.rstrip())
        start_char = end_char
        start_token = end_token
        while start_token < len(tokens) and offsets[start_token] < start_char:
            start_token += 1
    return pieces


def _lines_tokens(lines: list[tuple[str, int]]) -> tuple[str, int]:
    """The lines joined by newlines, and their token count (from the lines' own counts when that is exact)."""
    text = "\n".join(line for line, _ in lines)
    tokens = count_joined(lines, ["\n"] * (len(lines) - 1))
    return text, count_tokens(text) if tokens is None else tokens


def _split_lines(
    lines: list[str], head: list[str], foot: list[str], budget: int, counts: list[int] | None = None
) -> list[tuple[str, int]]:
    """Group lines into parts of at most ``budget`` tokens, each wrapped in ``head`` and ``foot`` lines.

    ``counts`` are the lines' token counts, when known.

    Returns:
        (text, tokens) per part.
    """
    fixed = count_tokens("\n".join(head + foot)) + 2 if head or foot else 0
    room = max(8, budget - fixed)
    head_counted = [(line, count_tokens(line)) for line in head]
    foot_counted = [(line, count_tokens(line)) for line in foot]
    parts: list[tuple[str, int]] = []
    group: list[tuple[str, int]] = []
    used = 0

    def emit() -> None:
        if group:
            parts.append(_lines_tokens(head_counted + group + foot_counted))
            group.clear()

    for position, line in enumerate(lines):
        line_tokens = count_tokens(line) if counts is None else counts[position]
        cost = line_tokens + 1
        if cost > room:
            emit()
            used = 0
            for piece in _hard_split(line, room - 1):
                text = "\n".join([*head, piece, *foot])
                parts.append((text, count_tokens(text)))
            continue
        if used + cost > room:
            emit()
            used = 0
        group.append((line, line_tokens))
        used += cost
    emit()
    return parts


def _split_block(kind: str, lines: list[str], budget: int, counts: list[int] | None) -> list[tuple[str, int]]:
    if kind == _CODE:
        closed = len(lines) > 1 and _fence_close(lines[-1], _FENCE_OPEN.match(lines[0]).group(2))  # type: ignore[union-attr]
        inner = slice(1, -1) if closed else slice(1, None)
        opening = _FENCE_OPEN.match(lines[0])
        closing = (
            lines[-1] if closed else (opening.group(1) if opening else "") + (opening.group(2) if opening else "```")
        )
        return _split_lines(lines[inner], [lines[0]], [closing], budget, counts and counts[inner])
    if kind == _TABLE and len(lines) > 2 and _TABLE_SEPARATOR.match(lines[1]):
        return _split_lines(lines[2:], lines[:2], [], budget, counts and counts[2:])
    return _split_lines(lines, [], [], budget, counts)


def _overlap(piece: _Piece, limit: int) -> _Piece | None:
    """The end of a prose piece, at most ``limit`` tokens: whole trailing lines if possible, else the last words."""
    if limit <= 0 or piece.kind != _TEXT:
        return None
    lines = piece.text.split("\n")
    taken: list[str] = []
    used = 0
    last: list[int] | None = None  # the end of the last line's encoding
    for line in reversed(lines):
        # A long line's count is not needed, only that it is over the limit: its last tokens tell that.
        tokens, whole = tail_tokens(line, limit)
        if last is None:
            last = tokens
        cost = len(tokens) + 1
        if not whole or used + cost > limit:
            break
        taken.insert(0, line)
        used += cost
    if taken and len(taken) < len(lines):
        text = "\n".join(taken).strip()
    elif taken:
        text = piece.text
    else:
        tail = get_encoding().decode_bytes((last or [])[-limit:]).decode("utf-8", errors="ignore")
        space = tail.find(" ")
        text = (tail[space + 1 :] if 0 <= space < len(tail) // 2 else tail).strip()
    if not text:
        return None
    return _Piece(text, piece.tokens if text == piece.text else count_tokens(text), _TEXT, piece.block)


def _render(context: str, context_tokens: int, pieces: list[_Piece]) -> tuple[str, int]:
    """The chunk text (context line, blank line, pieces) and its token count."""
    separators = ["\n\n"]
    for position in range(1, len(pieces)):
        same_block = pieces[position - 1].block == pieces[position].block and pieces[position].kind == _TEXT
        separators.append("\n" if same_block else "\n\n")
    parts = [context]
    for separator, piece in zip(separators, pieces, strict=True):
        parts.append(separator)
        parts.append(piece.text)
    text = "".join(parts).rstrip()
    tokens = None
    if not pieces or not pieces[-1].text[-1:].isspace():
        # The pieces were counted alone; their sum (with what each separator adds) is the chunk's count.
        tokens = count_joined([(context, context_tokens), *((p.text, p.tokens) for p in pieces)], separators)
    return text, count_tokens(text) if tokens is None else tokens


def _chunk_section(section_title: str, body: str, max_tokens: int, overlap_tokens: int) -> list[tuple[str, int]]:
    context = section_title
    context_tokens = count_tokens(context)
    # The heading path is the context line of each chunk, cut to a quarter of the budget. When it is cut, or when
    # the section has nothing else, the whole path is a chunk of its own first: the cut drops the path's last words,
    # the section's own heading, and an empty parent heading's words appear nowhere else.
    head: list[tuple[str, int]] = []
    if context_tokens > max_tokens // 4 or not body.strip():
        if context_tokens <= max_tokens:
            head = [(context, context_tokens)]
        else:
            head = [(part, count_tokens(part)) for part in _hard_split(context, max_tokens)]
    if not body.strip():
        return head
    if context_tokens > max_tokens // 4:
        context = truncate_tokens(context, max_tokens // 4).rstrip() + "…"
        context_tokens = count_tokens(context)
    # A little slack: token counts of joined text can differ by a token or two from the sum of the parts.
    budget = max_tokens - context_tokens - 6
    queue: list[_Piece] = []
    for block_id, (kind, lines) in enumerate(_blocks(body)):
        text = "\n".join(lines)
        counts = None
        tokens = None
        if len(lines) > 1 and len(text) > _LONG_BLOCK_CHARS_PER_TOKEN * budget:
            counts = [count_tokens(line) for line in lines]
            tokens = count_joined(list(zip(lines, counts, strict=True)), ["\n"] * (len(lines) - 1))
        if tokens is None:
            tokens = count_tokens(text)
        if tokens <= budget:
            queue.append(_Piece(text, tokens, kind, block_id))
        else:
            parts = _split_block(kind, lines, budget, counts)
            queue.extend(_Piece(part, count, kind, block_id) for part, count in parts)
    chunks: list[tuple[str, int]] = []
    current: list[_Piece] = []
    seeded = False  # current[0] is overlap carried from the previous chunk
    used = 0
    position = 0
    while position < len(queue) or current:
        piece = queue[position] if position < len(queue) else None
        if piece is not None and seeded and len(current) == 1 and used + piece.tokens + 2 > budget:
            # Overlap never becomes a chunk of its own: without room for what follows it, it is dropped.
            current, used, seeded = [], 0, False
        if piece is not None and (not current or used + piece.tokens + 2 <= budget):
            current.append(piece)
            used += piece.tokens + 2
            position += 1
            continue
        rendered, tokens = _render(context, context_tokens, current)
        while len(current) > 1 and tokens > max_tokens:
            # Joined text can tokenize longer than its parts: drop the overlap first, then hand pieces back.
            if seeded:
                current.pop(0)
                seeded = False
            else:
                current.pop()
                position -= 1
            rendered, tokens = _render(context, context_tokens, current)
        if tokens > max_tokens:
            lone = current[0]
            halves = _hard_split(lone.text, max(8, lone.tokens // 2))
            queue[position - 1 : position] = [_Piece(h, count_tokens(h), _TEXT, lone.block) for h in halves]
            position -= 1
            current, used, seeded = [], 0, False
            continue
        chunks.append((rendered, tokens))
        seed = _overlap(current[-1], overlap_tokens) if position < len(queue) else None
        current, used, seeded = [], 0, False
        if seed is not None and seed.tokens + 2 + queue[position].tokens + 2 <= budget:
            current, used, seeded = [seed], seed.tokens + 2, True
    return head + chunks
