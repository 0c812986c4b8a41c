"""Shared timing helper for the benchmark scripts."""

import time


def interleaved_times(fns: dict, repeats: int, warmup: int = 3) -> dict[str, list[float]]:
    """Milliseconds per call of each function, timed round-robin so that load changes hit all alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(1e3 * (time.perf_counter() - start))
    return times
