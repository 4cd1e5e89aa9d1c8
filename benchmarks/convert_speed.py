"""Converter and chunker throughput on the real pages, single core.

``python -m benchmarks.convert_speed [--seconds N] [FIXTURE_DIR]`` prints pages/s of
:func:`convert_storage` and of plain ``markdownify.markdownify`` on the same pages, and chunks/s of
:func:`chunk_markdown` on the converted Markdown. Each figure repeats the whole page set until ``seconds`` of this
process's CPU time have passed (three rounds at least) and reports the median round, a per-core number; the converter's
fastest round is printed beside it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import markdownify

from confluence_pipeline.convert.chunking import chunk_markdown
from confluence_pipeline.convert.storage import convert_storage
from confluence_pipeline.convert.tokens import get_encoding
from confluence_sandbox.fixtures import FixturePage, load_fixture_pages


@dataclass(frozen=True)
class ConverterBench:
    """Converter throughput (pages/s and MB/s of storage format) against plain markdownify."""

    pages: int
    storage_bytes: int
    pages_per_second: float
    fastest_pages_per_second: float
    megabytes_per_second: float
    markdownify_pages_per_second: float

    @property
    def speedup(self) -> float:
        """How many times faster than plain markdownify."""
        return self.pages_per_second / self.markdownify_pages_per_second if self.markdownify_pages_per_second else 0.0


@dataclass(frozen=True)
class ChunkerBench:
    """Chunker throughput on the converted pages."""

    pages: int
    chunks_per_page_set: int
    chunks_per_second: float
    pages_per_second: float


def _repeat(seconds: float, items: Sequence[object], work: Callable[[object], object]) -> list[float]:
    """Run ``work`` over all items, round after round, until ``seconds`` of CPU time have passed.

    Returns:
        The CPU seconds of each round. CPU time of this process, not wall time: other work on a shared machine does
        not count while this process waits for a core.
    """
    rounds: list[float] = []
    spent = 0.0
    while spent < seconds or len(rounds) < 3:
        started = time.process_time()
        for item in items:
            work(item)
        rounds.append(time.process_time() - started)
        spent += rounds[-1]
    return rounds


def _typical(rounds: list[float]) -> float:
    # The median round: on a shared machine a few rounds run several times slower (another process's burst takes the
    # core's caches and clock), and those outliers would dominate a total; the fastest round is printed beside it.
    return statistics.median(rounds) or 1e-9


def bench_converter(
    pages: Sequence[FixturePage] | None = None, *, seconds: float = 3.0, baseline: bool = True
) -> ConverterBench:
    """Measure converter pages/s on the real pages, and plain markdownify's for comparison.

    Args:
        pages: the pages; the default fixture directory's when omitted.
        seconds: minimum time spent on each measurement.
        baseline: also measure plain ``markdownify.markdownify`` (0 when False).

    Returns:
        The throughput figures.
    """
    pages = list(pages) if pages is not None else load_fixture_pages()
    convert_storage(pages[0].storage, pages[0].context)  # warm caches and imports outside the timing
    rounds = _repeat(seconds, pages, lambda page: convert_storage(page.storage, page.context))  # type: ignore[attr-defined]
    total_bytes = sum(len(page.storage.encode("utf-8")) for page in pages)
    baseline_rate = 0.0
    if baseline:
        base_rounds = _repeat(seconds, pages, lambda page: markdownify.markdownify(page.storage))  # type: ignore[attr-defined]
        baseline_rate = len(pages) / _typical(base_rounds)
    return ConverterBench(
        pages=len(pages),
        storage_bytes=total_bytes,
        pages_per_second=len(pages) / _typical(rounds),
        fastest_pages_per_second=len(pages) / (min(rounds) or 1e-9),
        megabytes_per_second=total_bytes / _typical(rounds) / 1e6,
        markdownify_pages_per_second=baseline_rate,
    )


def bench_chunker(
    pages: Sequence[FixturePage] | None = None, *, seconds: float = 3.0, max_tokens: int = 512, overlap_tokens: int = 64
) -> ChunkerBench:
    """Measure chunker chunks/s on the converted real pages.

    Args:
        pages: the pages; the default fixture directory's when omitted.
        seconds: minimum time spent measuring.
        max_tokens: chunk size bound.
        overlap_tokens: overlap between chunks of a section.

    Returns:
        The throughput figures.
    """
    pages = list(pages) if pages is not None else load_fixture_pages()
    documents = [(page.title, convert_storage(page.storage, page.context).markdown) for page in pages]
    get_encoding()
    per_set = sum(
        len(chunk_markdown(markdown, title=title, max_tokens=max_tokens, overlap_tokens=overlap_tokens))
        for title, markdown in documents
    )
    rounds = _repeat(
        seconds,
        documents,
        lambda doc: chunk_markdown(doc[1], title=doc[0], max_tokens=max_tokens, overlap_tokens=overlap_tokens),  # type: ignore[index]
    )
    return ChunkerBench(
        pages=len(documents),
        chunks_per_page_set=per_set,
        chunks_per_second=per_set / _typical(rounds),
        pages_per_second=len(documents) / _typical(rounds),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print converter and chunker throughput.

    Args:
        argv: command-line arguments.

    Returns:
        The process exit code.
    """
    parser = argparse.ArgumentParser(prog="python -m benchmarks.convert_speed", description=__doc__)
    parser.add_argument("fixture_dir", nargs="?", type=Path, help="real pages (default: the shared fixtures)")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement (default 3)")
    args = parser.parse_args(argv)
    pages = load_fixture_pages(args.fixture_dir)
    converter = bench_converter(pages, seconds=args.seconds)
    print(
        f"converter: {converter.pages_per_second:8.1f} pages/s  ({converter.megabytes_per_second:.2f} MB/s of storage "
        f"format, {converter.pages} real pages, 1 core; median round, fastest round "
        f"{converter.fastest_pages_per_second:.1f} pages/s)"
    )
    print(
        f"markdownify (plain): {converter.markdownify_pages_per_second:8.1f} pages/s  "
        f"-> converter is {converter.speedup:.1f}x faster"
    )
    chunker = bench_chunker(pages, seconds=args.seconds)
    print(
        f"chunker:   {chunker.chunks_per_second:8.1f} chunks/s  ({chunker.pages_per_second:.1f} pages/s, "
        f"{chunker.chunks_per_page_set} chunks per pass over {chunker.pages} pages, 512/64 tokens)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
