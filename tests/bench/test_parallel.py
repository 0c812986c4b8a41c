"""Running tasks here or in worker processes: same results, every index once, errors propagate."""

import math

import pytest

from inverselab.bench.parallel import default_threads, imap_unordered


def test_in_process_runs_in_order():
    assert list(imap_unordered(math.sqrt, [4.0, 9.0, 16.0])) == [(0, 2.0), (1, 3.0), (2, 4.0)]


def test_pool_returns_every_result_once():
    tasks = [float(i * i) for i in range(6)]
    got = dict(imap_unordered(math.sqrt, tasks, jobs=2))
    assert got == {i: float(i) for i in range(6)}


def test_errors_propagate():
    with pytest.raises(ValueError, match="math domain error"):
        list(imap_unordered(math.sqrt, [1.0, -1.0]))
    with pytest.raises(ValueError, match="math domain error"):
        list(imap_unordered(math.sqrt, [1.0, -1.0, 4.0], jobs=2))


def test_default_threads_share_the_cpus():
    import os

    assert default_threads(1) == max(1, os.cpu_count() or 1)
    assert default_threads(10_000) == 1
