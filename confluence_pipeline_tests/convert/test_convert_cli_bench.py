"""The `convert` CLI command and the benchmark functions."""

from __future__ import annotations

import argparse
import io
import logging
import sys
from pathlib import Path

import pytest

from benchmarks import convert_speed as bench
from confluence_pipeline.convert import cli
from confluence_sandbox.fixtures import FixturePage

STORAGE = '<h1>Title</h1><p>Hi <ac:link><ri:page ri:content-title="Other Page" /></ac:link></p>'


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="confluence-pipeline")
    cli.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_convert_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "page.xhtml"
    path.write_text(STORAGE, encoding="utf-8")
    args = _parse(["convert", str(path), "--space", "ENG", "--base-url", "https://wiki.example.com/"])
    assert args.func(args) == 0
    assert capsys.readouterr().out == "# Title\n\nHi [Other Page](https://wiki.example.com/display/ENG/Other+Page)\n"


def test_convert_stdin_with_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("<p>broken <b>page"))
    args = _parse(["convert", "--page-id", "9"])
    with caplog.at_level(logging.WARNING):
        assert args.func(args) == 0
    assert capsys.readouterr().out == "broken **page**\n"
    assert [r.getMessage()[:54] for r in caplog.records] == ["page 9: storage format is not well-formed XML (Opening"]


def test_convert_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parse(["convert", "/nonexistent/page.xhtml"])
    assert args.func(args) == 2
    assert "cannot read /nonexistent/page.xhtml" in capsys.readouterr().err


def test_bench_functions(fixture_pages: list[FixturePage]) -> None:
    converter = bench.bench_converter(fixture_pages, seconds=0.05)
    assert converter.pages == 10 and converter.pages_per_second > 0 and converter.markdownify_pages_per_second > 0
    assert converter.speedup > 1
    chunker = bench.bench_chunker(fixture_pages, seconds=0.05)
    assert chunker.chunks_per_second > 0 and chunker.chunks_per_page_set > 10


def test_bench_main_prints_figures(capsys: pytest.CaptureFixture[str], fixture_pages: list[FixturePage]) -> None:
    from confluence_sandbox.fixtures import default_fixture_dir

    assert bench.main(["--seconds", "0.02", str(default_fixture_dir())]) == 0
    out = capsys.readouterr().out
    assert "pages/s" in out and "markdownify" in out and "chunks/s" in out
