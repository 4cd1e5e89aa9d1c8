"""The sandbox corpus holds every element of issue 11's table, and the converter keeps all of them (both flavours)."""

from __future__ import annotations

from benchmarks.fidelity_references import ELEMENTS, measure


def test_the_corpus_exercises_every_element_and_the_converter_keeps_them() -> None:
    counts = measure(pages=160, seed=7)
    assert all(counts.found[element] > 0 for element in ELEMENTS), counts.format()
    assert all(counts.rate(element) == 1.0 for element in ELEMENTS), counts.format() + "\n" + "\n".join(counts.misses)
