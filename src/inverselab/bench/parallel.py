"""Run independent tasks in this process or in a pool of worker processes, with an optional progress bar.

Workers are started with ``spawn`` (forking a process whose torch thread pool is running can deadlock), so a
script that asks for ``jobs > 1`` must guard its entry point with ``if __name__ == "__main__":``; the
``inverselab`` command is guarded. Each worker runs torch with ``threads`` intra-op threads.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = ["imap_unordered", "map_ordered", "default_threads"]


def default_threads(jobs: int) -> int:
    """Torch threads per worker so that ``jobs`` workers share the CPUs: ``max(1, cpu_count // jobs)``."""
    return max(1, (os.cpu_count() or 1) // jobs)


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def imap_unordered(
    fn: Callable[[Any], Any],
    tasks: Sequence[Any],
    *,
    jobs: int = 1,
    threads: int | None = None,
    progress: bool = False,
    desc: str | None = None,
    unit: str = "task",
    label: Callable[[Any], str] | None = None,
) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, fn(tasks[index]))`` as each task finishes.

    Args:
        fn: A module-level function (picklable, for the pool).
        tasks: Its arguments, one per call.
        jobs: ``1`` runs the tasks here, in order; more runs a pool of that many worker processes.
        threads: Torch threads per worker (default :func:`default_threads`); ignored when ``jobs == 1``.
        progress: Show a progress bar (tasks done, time left) on stderr.
        desc: The bar's title.
        unit: What a task is called on the bar.
        label: ``label(task)`` is shown beside the bar: the task running (``jobs == 1``) or just finished.

    Raises:
        Whatever ``fn`` raises (the remaining tasks of a pool are cancelled), and
        ``concurrent.futures.process.BrokenProcessPool`` when a worker dies.
    """
    from tqdm.auto import tqdm

    bar = tqdm(
        total=len(tasks), desc=desc, unit=unit, disable=not progress, file=sys.stderr, dynamic_ncols=True
    )
    try:
        if jobs == 1:
            for i, task in enumerate(tasks):
                if label is not None:
                    bar.set_postfix_str(label(task), refresh=True)
                result = fn(task)
                bar.update(1)
                yield i, result
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        ctx = multiprocessing.get_context("spawn")
        threads = default_threads(jobs) if threads is None else threads
        with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker, initargs=(threads,)) as pool:
            futures = {pool.submit(fn, task): i for i, task in enumerate(tasks)}
            try:
                for future in as_completed(futures):
                    i = futures[future]
                    result = future.result()
                    if label is not None:
                        bar.set_postfix_str(label(tasks[i]), refresh=False)
                    bar.update(1)
                    yield i, result
            finally:
                for future in futures:
                    future.cancel()
    finally:
        bar.close()


def map_ordered(fn: Callable[[Any], Any], tasks: Sequence[Any], **kwargs: Any) -> list[Any]:
    """``[fn(task) for task in tasks]``, in the order of ``tasks``, run by :func:`imap_unordered` (same
    keyword arguments: ``jobs``, ``threads``, ``progress``, ``desc``, ``unit``, ``label``)."""
    results: list[Any] = [None] * len(tasks)
    for i, result in imap_unordered(fn, tasks, **kwargs):
        results[i] = result
    return results
