"""The shared worker pool inside a process of another process pool, as in materialize's space processes."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

from confluence_pipeline.lib.parallel import PARALLEL_THRESHOLD, forkserver_context, shared_pool, submit_map


def _square(value: int) -> int:
    return value * value


def _sum_of_squares_in_a_shared_pool(count: int) -> int:
    # Enough items for the pool to start its workers (a smaller batch runs in the calling process).
    return sum(submit_map(_square, list(range(count)), shared_pool(2)).result())


def test_a_process_of_a_process_pool_ends_after_using_a_shared_pool() -> None:
    count = PARALLEL_THRESHOLD * 2
    outer = ProcessPoolExecutor(max_workers=1, mp_context=forkserver_context())
    try:
        assert outer.submit(_sum_of_squares_in_a_shared_pool, count).result(timeout=120) == sum(
            value * value for value in range(count)
        )
        processes = list(outer._processes.values())
        outer.shutdown(wait=False)
        for process in processes:
            # Without the shared pool's shutdown at exit, its workers waited for work for ever, and this process
            # in multiprocessing's exit function with them: `materialize` never returned.
            process.join(timeout=60)
            assert not process.is_alive(), "the process hung at exit, joining its shared pool's workers"
    finally:
        for process in list((outer._processes or {}).values()):
            if process.is_alive():
                process.kill()
