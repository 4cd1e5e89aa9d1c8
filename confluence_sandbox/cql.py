"""A tokenizer, recursive-descent parser and evaluator for the CQL subset the sandbox answers.

Grammar (keywords and field names are case-insensitive)::

    query    := [or_expr] [ORDER BY order (, order)*] EOF
    or_expr  := and_expr (OR and_expr)*
    and_expr := not_expr (AND not_expr)*
    not_expr := NOT not_expr | "(" or_expr ")" | clause
    clause   := field op value | field [NOT] IN "(" value ("," value)* ")"
    value    := "quoted" | 'quoted' | word | function "(" [value ("," value)*] ")"
    order    := field [ASC | DESC]

Fields: ``space`` (alias ``space.key``), ``type``, ``id`` (alias ``content``), ``title``, ``label``, ``status``,
``created``, ``lastmodified``, ``ancestor``, ``parent``, ``creator``. Dates are ``"yyyy-MM-dd HH:mm"``,
``"yyyy/MM/dd HH:mm"``, ``"yyyy-MM-dd"`` or ``"yyyy/MM/dd"`` in the site's time zone, or ``now("-4h")``,
``startOfDay()``, ``startOfWeek()``, ``startOfMonth()``, ``startOfYear()`` (and ``endOf…``) with an optional
offset. As in Confluence, dates compare at minute precision: a page's UTC instant is truncated to its minute, so
``lastmodified >= "2026-01-05 10:30"`` includes an edit at 10:30:45 and ``> "… 10:30"`` excludes it.
Anything else raises :class:`CqlError`, which the server reports as HTTP 400.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from confluence_sandbox.corpus import Corpus, Page

_MINUTE_MS = 60_000


class CqlError(ValueError):
    """A CQL query the sandbox cannot parse or does not support."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message if position is None else f"{message} (at character {position})")
        self.detail = message
        self.position = position


@dataclass(frozen=True, slots=True)
class Token:
    """A lexical token; ``kind`` is STRING, WORD, OP, LPAREN, RPAREN, COMMA or EOF."""

    kind: str
    text: str
    position: int


_OPERATORS = ("!=", "!~", ">=", "<=", "=", "~", ">", "<")
_WORD_STOP = set(" \t\r\n()=,!~<>\"'")
KEYWORDS = {"AND", "OR", "NOT", "IN", "ORDER", "BY", "ASC", "DESC"}


def tokenize(text: str) -> list[Token]:
    """Split CQL into tokens.

    Args:
        text: The CQL query.

    Returns:
        The tokens, ending with an EOF token.

    Raises:
        CqlError: On an unterminated string or a stray character.
    """
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "\"'":
            quote, start, i = ch, i, i + 1
            buf: list[str] = []
            while i < n and text[i] != quote:
                if text[i] == "\\" and i + 1 < n:
                    buf.append(text[i + 1])
                    i += 2
                else:
                    buf.append(text[i])
                    i += 1
            if i >= n:
                raise CqlError("unterminated string", start)
            tokens.append(Token("STRING", "".join(buf), start))
            i += 1
            continue
        if ch == "(":
            tokens.append(Token("LPAREN", ch, i))
            i += 1
            continue
        if ch == ")":
            tokens.append(Token("RPAREN", ch, i))
            i += 1
            continue
        if ch == ",":
            tokens.append(Token("COMMA", ch, i))
            i += 1
            continue
        # A personal space key such as ~alice is a value, not the ~ operator, when it follows an operator.
        value_position = bool(tokens) and tokens[-1].kind in ("OP", "LPAREN", "COMMA")
        if ch == "~" and value_position and i + 1 < n and (text[i + 1].isalnum() or text[i + 1] == "_"):
            start, i = i, i + 1
            while i < n and text[i] not in _WORD_STOP:
                i += 1
            tokens.append(Token("WORD", text[start:i], start))
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if op is not None:
            tokens.append(Token("OP", op, i))
            i += len(op)
            continue
        if ch in _WORD_STOP:
            raise CqlError(f"unexpected character {ch!r}", i)
        start = i
        while i < n and text[i] not in _WORD_STOP:
            i += 1
        tokens.append(Token("WORD", text[start:i], start))
    tokens.append(Token("EOF", "", n))
    return tokens


@dataclass(frozen=True, slots=True)
class Value:
    """A clause value: a quoted string, a bare word or a function call."""

    kind: str  # "string" | "word" | "function"
    text: str
    args: tuple[Value, ...] = ()
    position: int = 0


@dataclass(frozen=True, slots=True)
class Clause:
    """``field op value(s)``; ``field`` is the canonical field name, ``op`` upper-case for IN / NOT IN."""

    field: str
    op: str
    values: tuple[Value, ...]
    position: int


@dataclass(frozen=True, slots=True)
class And:
    """Conjunction."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Disjunction."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """Negation."""

    item: Node


Node = Clause | And | Or | Not

FIELD_ALIASES = {
    "space": "space",
    "space.key": "space",
    "type": "type",
    "id": "id",
    "content": "id",
    "title": "title",
    "label": "label",
    "status": "status",
    "created": "created",
    "lastmodified": "lastmodified",
    "ancestor": "ancestor",
    "parent": "parent",
    "creator": "creator",
}
_SET_OPS = frozenset({"=", "!=", "IN", "NOT IN"})
FIELD_OPERATORS: dict[str, frozenset[str]] = {
    "space": _SET_OPS,
    "type": _SET_OPS,
    "id": _SET_OPS,
    "label": _SET_OPS,
    "status": _SET_OPS,
    "ancestor": _SET_OPS,
    "parent": _SET_OPS,
    "creator": _SET_OPS,
    "title": frozenset({"=", "!=", "~", "!~"}),
    "created": frozenset({"=", "!=", ">", ">=", "<", "<="}),
    "lastmodified": frozenset({"=", "!=", ">", ">=", "<", "<="}),
}
ORDER_FIELDS = {"lastmodified", "created", "id", "title"}
CONTENT_TYPES = {"page", "blogpost", "comment", "attachment", "folder", "whiteboard", "database", "embed"}
CONTENT_STATUSES = {"current", "archived", "trashed", "draft", "historical"}
DATE_FUNCTIONS = {
    "now",
    "startofday",
    "startofweek",
    "startofmonth",
    "startofyear",
    "endofday",
    "endofweek",
    "endofmonth",
    "endofyear",
}


@dataclass(frozen=True, slots=True)
class CqlQuery:
    """A parsed query: the filter (None when the query only orders) and ``(field, descending)`` sort keys."""

    text: str
    where: Node | None
    order: tuple[tuple[str, bool], ...]
    fields: frozenset[str] = field(default_factory=frozenset)
    uses_now: bool = False

    def mentions(self, name: str) -> bool:
        """Whether any clause uses the (canonical) field ``name``."""
        return name in self.fields


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.fields: set[str] = set()
        self.uses_now = False

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "WORD" and tok.text.upper() == word

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            tok = self.peek()
            raise CqlError(f"expected {word} but found {tok.text or 'end of query'!r}", tok.position)
        self.i += 1

    def parse(self) -> CqlQuery:
        where: Node | None = None
        if not self.keyword("ORDER") and self.peek().kind != "EOF":
            where = self.or_expr()
        order: list[tuple[str, bool]] = []
        if self.keyword("ORDER"):
            self.i += 1
            self.expect_keyword("BY")
            while True:
                tok = self.next()
                name = tok.text.lower()
                if tok.kind != "WORD" or name not in ORDER_FIELDS:
                    raise CqlError(f"cannot order by {tok.text or 'nothing'!r}", tok.position)
                desc = False
                if self.keyword("ASC") or self.keyword("DESC"):
                    desc = self.next().text.upper() == "DESC"
                order.append((name, desc))
                if self.peek().kind != "COMMA":
                    break
                self.i += 1
        tok = self.peek()
        if tok.kind != "EOF":
            raise CqlError(f"expected AND, OR or ORDER BY but found {tok.text!r}", tok.position)
        if where is None:
            raise CqlError("the query has no clause", 0)
        return CqlQuery(self.text, where, tuple(order), frozenset(self.fields), self.uses_now)

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.keyword("OR"):
            self.i += 1
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.keyword("AND"):
            self.i += 1
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Node:
        if self.keyword("NOT"):
            self.i += 1
            return Not(self.not_expr())
        if self.peek().kind == "LPAREN":
            self.i += 1
            node = self.or_expr()
            tok = self.next()
            if tok.kind != "RPAREN":
                raise CqlError(f"expected ')' but found {tok.text or 'end of query'!r}", tok.position)
            return node
        return self.clause()

    def clause(self) -> Clause:
        tok = self.next()
        if tok.kind != "WORD" or tok.text.upper() in KEYWORDS:
            raise CqlError(f"expected a field name but found {tok.text or 'end of query'!r}", tok.position)
        name = FIELD_ALIASES.get(tok.text.lower())
        if name is None:
            raise CqlError(f"unsupported field {tok.text!r}", tok.position)
        op_tok = self.peek()
        if op_tok.kind == "OP":
            self.i += 1
            op = op_tok.text
        elif self.keyword("IN"):
            self.i += 1
            op = "IN"
        elif self.keyword("NOT"):
            self.i += 1
            self.expect_keyword("IN")
            op = "NOT IN"
        else:
            raise CqlError(f"expected an operator after {tok.text!r}", op_tok.position)
        if op not in FIELD_OPERATORS[name]:
            raise CqlError(f"operator {op!r} is not supported for field {tok.text!r}", op_tok.position)
        if op in ("IN", "NOT IN"):
            lp = self.next()
            if lp.kind != "LPAREN":
                raise CqlError(f"expected '(' after {op}", lp.position)
            values = [self.value()]
            while self.peek().kind == "COMMA":
                self.i += 1
                values.append(self.value())
            rp = self.next()
            if rp.kind != "RPAREN":
                raise CqlError(f"expected ',' or ')' but found {rp.text or 'end of query'!r}", rp.position)
        else:
            values = [self.value()]
        self.fields.add(name)
        clause = Clause(name, op, tuple(values), tok.position)
        _validate(clause)
        return clause

    def value(self) -> Value:
        tok = self.next()
        if tok.kind == "STRING":
            return Value("string", tok.text, position=tok.position)
        if tok.kind != "WORD" or tok.text.upper() in KEYWORDS:
            raise CqlError(f"expected a value but found {tok.text or 'end of query'!r}", tok.position)
        if self.peek().kind == "LPAREN":
            self.i += 1
            args: list[Value] = []
            if self.peek().kind != "RPAREN":
                args.append(self.value())
                while self.peek().kind == "COMMA":
                    self.i += 1
                    args.append(self.value())
            rp = self.next()
            if rp.kind != "RPAREN":
                raise CqlError(f"expected ')' to close {tok.text}(", rp.position)
            if tok.text.lower() in DATE_FUNCTIONS:
                self.uses_now = True
            return Value("function", tok.text.lower(), tuple(args), tok.position)
        return Value("word", tok.text, position=tok.position)


def _validate(clause: Clause) -> None:
    for v in clause.values:
        if v.kind == "function":
            if clause.field in ("created", "lastmodified") and v.text in DATE_FUNCTIONS:
                continue
            if clause.field == "creator" and v.text == "currentuser":
                continue
            raise CqlError(f"function {v.text}() is not supported for field {clause.field!r}", v.position)
        if clause.field == "type" and v.text.lower() not in CONTENT_TYPES:
            raise CqlError(f"{v.text!r} is not a valid content type", v.position)
        if clause.field == "status" and v.text.lower() not in CONTENT_STATUSES:
            raise CqlError(f"{v.text!r} is not a valid content status", v.position)
        if clause.field in ("id", "ancestor", "parent") and not v.text.isdigit():
            raise CqlError(f"{v.text!r} is not a valid content id", v.position)
        if clause.field in ("created", "lastmodified"):
            parse_date_literal(v.text, ZoneInfo("UTC"), v.position)


@lru_cache(maxsize=512)
def parse_cql(text: str) -> CqlQuery:
    """Parse a CQL query (cached by text).

    Args:
        text: The query.

    Returns:
        The parsed query.

    Raises:
        CqlError: When the query is malformed or uses something outside the supported subset.
    """
    if not text or not text.strip():
        raise CqlError("the query is empty", 0)
    return _Parser(text).parse()


_DATE_RE = re.compile(r"^\s*(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?\s*$")


def parse_date_literal(text: str, tz: ZoneInfo, position: int = 0) -> int:
    """Read a CQL date literal in a time zone.

    Args:
        text: ``yyyy-MM-dd HH:mm``, ``yyyy/MM/dd HH:mm``, ``yyyy-MM-dd`` or ``yyyy/MM/dd``.
        tz: The zone the literal is written in.
        position: Where the literal starts in the query (for the error message).

    Returns:
        The start of that minute as epoch milliseconds (UTC).

    Raises:
        CqlError: When the text is not such a date.
    """
    m = _DATE_RE.match(text)
    if not m:
        raise CqlError(
            f'invalid date {text!r}: use "yyyy-MM-dd HH:mm", "yyyy/MM/dd HH:mm", "yyyy-MM-dd" or "yyyy/MM/dd"',
            position,
        )
    year, _sep, month, day, hour, minute = m.groups()
    try:
        local = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), tzinfo=tz)
    except ValueError as exc:
        raise CqlError(f"invalid date {text!r}: {exc}", position) from exc
    return int(local.timestamp()) * 1000


_OFFSET_RE = re.compile(r"^\s*([+-]?)(\d+)\s*([yMwdhm])\s*$")


def _apply_offset(dt: datetime, offset: str, position: int) -> datetime:
    if not offset:
        return dt
    m = _OFFSET_RE.match(offset)
    if not m:
        raise CqlError(f'invalid date offset {offset!r} (use e.g. "-4d", "+2h", "-30m")', position)
    sign = -1 if m.group(1) == "-" else 1
    amount = sign * int(m.group(2))
    unit = m.group(3)
    if unit == "y":
        return dt.replace(year=dt.year + amount)
    if unit == "M":
        months = dt.year * 12 + dt.month - 1 + amount
        return dt.replace(year=months // 12, month=months % 12 + 1, day=min(dt.day, 28))
    delta = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
    return dt + amount * delta[unit]


def _function_instant(value: Value, tz: ZoneInfo, now_ms: int) -> int:
    offset = value.args[0].text if value.args else ""
    now = datetime.fromtimestamp(now_ms / 1000, tz=tz)
    name = value.text
    if name == "now":
        return int(_apply_offset(now, offset, value.position).timestamp() * 1000)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    unit_start = {
        "day": day,
        "week": day - timedelta(days=(day.weekday() + 1) % 7),  # Confluence weeks start on Sunday
        "month": day.replace(day=1),
        "year": day.replace(month=1, day=1),
    }
    kind = name.removeprefix("startof").removeprefix("endof")
    start = unit_start[kind]
    if name.startswith("endof"):
        nxt = {
            "day": start + timedelta(days=1),
            "week": start + timedelta(days=7),
            "month": _apply_offset(start, "+1M", value.position),
            "year": start.replace(year=start.year + 1),
        }[kind]
        start = nxt - timedelta(minutes=1)
    return int(_apply_offset(start, offset, value.position).timestamp() * 1000)


@dataclass(slots=True)
class EvalContext:
    """What evaluation needs besides the page: the site's zone, the sandbox clock and the corpus."""

    tz: ZoneInfo
    now_ms: int
    corpus: Corpus
    current_user: str | None = None


Predicate = Callable[["Page"], bool]


def compile_query(query: CqlQuery, ctx: EvalContext) -> Predicate:
    """Turn a parsed query into a predicate over pages.

    Args:
        query: The parsed query.
        ctx: Time zone, clock and corpus.

    Returns:
        A function that tells whether a page matches the filter (status defaults are the caller's business).
    """
    assert query.where is not None
    return _compile(query.where, ctx)


def _compile(node: Node, ctx: EvalContext) -> Predicate:
    if isinstance(node, And):
        parts = [_compile(n, ctx) for n in node.items]
        return lambda p: all(f(p) for f in parts)
    if isinstance(node, Or):
        parts = [_compile(n, ctx) for n in node.items]
        return lambda p: any(f(p) for f in parts)
    if isinstance(node, Not):
        inner = _compile(node.item, ctx)
        return lambda p: not inner(p)
    return _compile_clause(node, ctx)


def _set_predicate(op: str, get: Callable[[Page], Any], wanted: set[Any]) -> Predicate:
    if op in ("=", "IN"):
        return lambda p: get(p) in wanted
    return lambda p: get(p) not in wanted


def _compile_clause(c: Clause, ctx: EvalContext) -> Predicate:
    texts = [v.text for v in c.values]
    corpus = ctx.corpus
    if c.field == "space":
        return _set_predicate(c.op, lambda p: p.space_key.casefold(), {t.casefold() for t in texts})
    if c.field == "type":
        return _set_predicate(c.op, lambda p: "page", {t.lower() for t in texts})
    if c.field == "id":
        return _set_predicate(c.op, lambda p: p.id, {int(t) for t in texts})
    if c.field == "status":
        return _set_predicate(c.op, lambda p: p.status, {t.lower() for t in texts})
    if c.field == "parent":
        return _set_predicate(c.op, lambda p: p.parent_id, {int(t) for t in texts})
    if c.field == "label":
        wanted = {t.lower() for t in texts}
        if c.op in ("=", "IN"):
            return lambda p: any(label in wanted for label in p.labels)
        return lambda p: not any(label in wanted for label in p.labels)
    if c.field == "ancestor":
        wanted_ids = {int(t) for t in texts}

        def has_ancestor(p: Page) -> bool:
            return any(a.id in wanted_ids for a in corpus.ancestors(p))

        return has_ancestor if c.op in ("=", "IN") else (lambda p: not has_ancestor(p))
    if c.field == "creator":
        refs = set()
        for v in c.values:
            ref = ctx.current_user if v.kind == "function" else v.text
            user = corpus.find_user(ref) if ref else None
            refs.add(corpus.users.index(user) if user is not None else -1)
        return _set_predicate(c.op, lambda p: p.creator, refs)
    if c.field == "title":
        needle = texts[0].casefold()
        if c.op in ("~", "!~"):
            # Confluence's title ~ is a text search; the sandbox reads it as a case-insensitive substring and
            # treats the wildcards * and ? as "anything".
            parts = [part for part in re.split(r"[*?]", needle) if part]

            def contains(p: Page) -> bool:
                title = p.title.casefold()
                return all(part in title for part in parts)

            return contains if c.op == "~" else (lambda p: not contains(p))
        return (lambda p: p.title.casefold() == needle) if c.op == "=" else (lambda p: p.title.casefold() != needle)
    # created / lastmodified
    v = c.values[0]
    if v.kind == "function":
        instant = _function_instant(v, ctx.tz, ctx.now_ms)
    else:
        instant = parse_date_literal(v.text, ctx.tz, v.position)
    bound = instant - instant % _MINUTE_MS
    attr = "created_ms" if c.field == "created" else "modified_ms"

    def minute(p: Page) -> int:
        ms: int = getattr(p, attr)
        return ms - ms % _MINUTE_MS

    compare: dict[str, Predicate] = {
        "=": lambda p: minute(p) == bound,
        "!=": lambda p: minute(p) != bound,
        ">": lambda p: minute(p) > bound,
        ">=": lambda p: minute(p) >= bound,
        "<": lambda p: minute(p) < bound,
        "<=": lambda p: minute(p) <= bound,
    }
    return compare[c.op]


def sort_pages(pages: list[Page], order: Sequence[tuple[str, bool]]) -> list[Page]:
    """Sort pages by ORDER BY keys (then by id, ascending, for a stable paging order).

    Args:
        pages: The pages to sort (sorted in place and returned).
        order: ``(field, descending)`` pairs.

    Returns:
        The sorted list.
    """
    pages.sort(key=lambda p: p.id)
    getters: dict[str, Callable[[Page], Any]] = {
        "id": lambda p: p.id,
        "title": lambda p: p.title.casefold(),
        "created": lambda p: p.created_ms,
        "lastmodified": lambda p: p.modified_ms,
    }
    for name, desc in reversed(order):
        pages.sort(key=getters[name], reverse=desc)
    return pages


def constrained_spaces(query: CqlQuery) -> set[str] | None:
    """Return the space keys a query is restricted to by a top-level ``space =``/``IN`` conjunct, if any.

    The server uses it to scan only those spaces' pages.
    """
    where = query.where
    items: Sequence[Node] = where.items if isinstance(where, And) else (where,) if where is not None else ()
    for item in items:
        if isinstance(item, Clause) and item.field == "space" and item.op in ("=", "IN"):
            return {v.text for v in item.values}
    return None
