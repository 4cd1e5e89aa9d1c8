"""Preparing embedding inputs and running them as batches bounded by input count, tokens and concurrency.

Plain functions over token counts and a ``run_batch`` callable, so they know nothing of HTTP: the provider in
:mod:`confluence_pipeline.embed.openai_provider` supplies the request, its retries and its errors.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np

from confluence_pipeline.convert.tokens import count_tokens, truncate_tokens

__all__ = ["Aborted", "BatchRunner", "PreparedInputs", "plan_batches", "prepare_inputs", "run_batches"]

BatchRunner = Callable[[list[str], list[int], threading.Event], np.ndarray]
"""Embeds one batch (texts, their token counts, the abort event) and returns its vectors."""


class Aborted(Exception):
    """Another batch of the same call failed; stop this one without spending more requests."""


@dataclass(frozen=True)
class PreparedInputs:
    """Inputs ready to send.

    Attributes:
        texts: the inputs, empty ones replaced by a space and long ones truncated.
        tokens: the token count of each prepared input.
        truncated: (position, original token count) of each input that was truncated.
    """

    texts: list[str]
    tokens: list[int]
    truncated: list[tuple[int, int]]


def prepare_inputs(texts: Sequence[str], max_input_tokens: int) -> PreparedInputs:
    """Replace empty inputs (OpenAI rejects them), count tokens and truncate inputs over the model's limit.

    Args:
        texts: the caller's inputs.
        max_input_tokens: the model's input limit in tokens.

    Returns:
        The prepared inputs with their token counts and what was truncated.

    Raises:
        TypeError: an input is not a string.
    """
    prepared: list[str] = []
    tokens: list[int] = []
    truncated: list[tuple[int, int]] = []
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"embed() takes strings, got {type(text).__name__} at position {position}")
        if not text:
            text = " "
        count = count_tokens(text)
        if count > max_input_tokens:
            original = count
            text = truncate_tokens(text, max_input_tokens)
            count = count_tokens(text)
            truncated.append((position, original))
        prepared.append(text)
        tokens.append(count)
    return PreparedInputs(prepared, tokens, truncated)


def plan_batches(tokens: Sequence[int], batch_size: int, max_batch_tokens: int) -> list[tuple[int, int]]:
    """Split inputs into consecutive batches bounded by input count and by tokens.

    Args:
        tokens: the token count of each input, in order.
        batch_size: most inputs per batch.
        max_batch_tokens: most tokens per batch (a single longer input still forms a batch of its own).

    Returns:
        (start, end) index spans covering every input once, in order.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    batch_tokens = 0
    for position, count in enumerate(tokens):
        full = position - start >= batch_size or batch_tokens + count > max_batch_tokens
        if position > start and full:
            spans.append((start, position))
            start, batch_tokens = position, 0
        batch_tokens += count
    spans.append((start, len(tokens)))
    return spans


def run_batches(
    inputs: PreparedInputs, spans: list[tuple[int, int]], out: np.ndarray, run_batch: BatchRunner, concurrency: int
) -> None:
    """Run every batch, at most ``concurrency`` at once, writing each batch's vectors into its rows of ``out``.

    The first failing batch sets the abort event that every ``run_batch`` receives, so the others stop retrying
    at once; its exception is raised (:class:`Aborted` from the others is not).

    Args:
        inputs: the prepared inputs.
        spans: the batches, from :func:`plan_batches`.
        out: the result array, one row per input.
        run_batch: embeds one batch.
        concurrency: batches in flight at once.
    """
    abort = threading.Event()
    if len(spans) == 1 or concurrency == 1:
        for start, end in spans:
            out[start:end] = run_batch(inputs.texts[start:end], inputs.tokens[start:end], abort)
        return
    pool = ThreadPoolExecutor(max_workers=min(concurrency, len(spans)), thread_name_prefix="embed")
    futures: dict[Future[np.ndarray], tuple[int, int]] = {}
    try:
        for start, end in spans:
            future = pool.submit(run_batch, inputs.texts[start:end], inputs.tokens[start:end], abort)
            futures[future] = (start, end)
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:
            error = future.exception()
            if error is not None and not isinstance(error, Aborted):
                # Stop the other batches' retries at once; the caller re-runs the whole call later anyway.
                abort.set()
                raise error
        for future, (start, end) in futures.items():
            out[start:end] = future.result()
    except BaseException:
        abort.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
