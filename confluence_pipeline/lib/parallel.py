"""CPU-bound work in a shared process pool, pipelined with the database work of the calling thread.

A stage reads a batch from the database, hands its CPU work (conversion, chunking, local embedding) to worker
processes, and writes the results back. Done one batch at a time, the workers wait while the database is read and
written, and the database waits while the workers compute. :func:`pipelined` overlaps them: while the workers
compute batch *k*, the caller reads and submits batch *k+1* and writes batch *k−1*. At most ``depth`` batches are
in flight, so memory stays bounded by the batch size, not by the size of the space.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from multiprocessing.util import Finalize
from typing import Any

# Below this many items a batch runs in the calling process: starting workers and shipping the work to them costs
# more than it saves.
PARALLEL_THRESHOLD = 64


@dataclass(frozen=True)
class WorkerPool:
    """A process pool and its number of workers."""

    executor: ProcessPoolExecutor
    workers: int


_pools: dict[int, WorkerPool] = {}
_pools_lock = threading.Lock()


def forkserver_context(preload: Sequence[str] = ()) -> BaseContext:
    """The ``forkserver`` start method, its server importing ``preload`` before it forks the first process.

    Forking a Dagster process itself is unsafe (its instance holds threads and connections), and ``spawn`` makes
    each process import everything again, seconds of CPU apiece for Dagster and the code location. The fork server
    is a fresh interpreter that imports once; each process is then a cheap fork of it. There is one server per
    process: ``preload`` counts only until it has started.
    """
    context = multiprocessing.get_context("forkserver")
    if preload:
        context.set_forkserver_preload(list(preload))
    return context


def shared_pool(
    workers: int, *, preload: Sequence[str] = (), initializer: Callable[[], None] | None = None
) -> WorkerPool:
    """One worker pool per process and size, started on first need and reused by every stage and run after.

    Args:
        workers: worker processes.
        preload: modules the fork server imports once, so that each worker starts as a cheap fork of it (only the
            first pool of the process can set them: there is one fork server per process).
        initializer: called once in each worker as it starts (e.g. to load a tokenizer before the first task).
    """
    with _pools_lock:
        pool = _pools.get(workers)
        if pool is None:
            context = forkserver_context(preload if not _pools else ())
            executor = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=initializer)
            pool = _pools[workers] = WorkerPool(executor, workers)
            # A process of a multiprocessing pool (materialize's space processes) ends in multiprocessing's exit
            # function, which joins the process's children but never runs concurrent.futures' own shutdown: the
            # workers, not daemons, would wait for work for ever, and the process with them. Shut the pool down
            # first: finalizers of priority >= 0 run before the join, highest first, and the pool's own queues close
            # theirs at priority 10, after which no stop signal would reach the workers.
            Finalize(executor, executor.shutdown, kwargs={"wait": True, "cancel_futures": True}, exitpriority=100)
        return pool


class Pending[R]:
    """Work handed to the pool (or already done in process); :meth:`result` waits for it."""

    def __init__(self, futures: Sequence[Future[Any]] = (), combine: Callable[[list[Any]], R] | None = None,
                 value: Any = None) -> None:  # fmt: skip
        self._futures = list(futures)
        self._combine = combine
        self._value = value

    @classmethod
    def done(cls, value: R) -> Pending[R]:
        """Work that was done in the calling process."""
        return cls(value=value)

    def result(self) -> R:
        """The result, once every part is done; re-raises a worker's exception."""
        if self._combine is None:
            return self._value
        return self._combine([future.result() for future in self._futures])

    def then[S](self, fn: Callable[[R], S]) -> Pending[S]:
        """This work, with ``fn`` applied to its result when it is collected."""
        if self._combine is None:
            return Pending.done(fn(self._value))
        combine = self._combine
        return Pending(self._futures, lambda parts: fn(combine(parts)))

    def cancel(self) -> None:
        """Cancel the parts that did not start yet (a failed stage stops handing out work)."""
        for future in self._futures:
            future.cancel()


def _run_all[T, R](fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    return [fn(item) for item in items]


def _concat[R](parts: list[list[R]]) -> list[R]:
    return [item for part in parts for item in part]


def submit_map[T, R](fn: Callable[[T], R], items: Sequence[T], pool: WorkerPool | None) -> Pending[list[R]]:
    """``[fn(item) for item in items]`` in the pool, a few parts per worker.

    Without a pool, or for a batch below :data:`PARALLEL_THRESHOLD`, it runs here, now.
    """
    if pool is None or len(items) < PARALLEL_THRESHOLD:
        return Pending.done([fn(item) for item in items])
    size = max(1, len(items) // (pool.workers * 4))  # several parts per worker even out slow items
    futures = [pool.executor.submit(_run_all, fn, items[i : i + size]) for i in range(0, len(items), size)]
    return Pending(futures, _concat)


def submit_parts[T, P, R](
    fn: Callable[[list[T]], P], items: list[T], pool: WorkerPool, combine: Callable[[list[P]], R]
) -> Pending[R]:
    """``fn`` on one part of ``items`` per worker, in the pool; ``combine`` gets the parts' results in order.

    ``fn`` travels to the workers: a module-level function or a ``functools.partial`` of one.
    """
    size = max(1, -(-len(items) // pool.workers))
    futures = [pool.executor.submit(fn, items[i : i + size]) for i in range(0, len(items), size)]
    return Pending(futures, combine)


def pipelined[B, R](
    batches: Iterable[B], start: Callable[[B], Pending[R]], finish: Callable[[B, R], None], *, depth: int = 2
) -> None:
    """Start each batch's work, finishing earlier batches (in order) while later ones compute.

    Args:
        batches: the batches, read lazily (e.g. keyset pages of a query).
        start: hands a batch's work to the pool (or does it) and returns it pending.
        finish: takes a batch and its result (e.g. writes it in a transaction of its own).
        depth: batches started but not finished, at most.
    """
    in_flight: deque[tuple[B, Pending[R]]] = deque()
    try:
        for batch in batches:
            in_flight.append((batch, start(batch)))
            if len(in_flight) >= depth:
                done, pending = in_flight.popleft()
                finish(done, pending.result())
        while in_flight:
            done, pending = in_flight.popleft()
            finish(done, pending.result())
    finally:
        for _, pending in in_flight:
            pending.cancel()
