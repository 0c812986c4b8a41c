"""``inverselab bench``: every method side by side on the same problems, with reports and studies.

- :mod:`~inverselab.bench.suites`: declarative suites of (preset, methods, test images, seeds).
- :mod:`~inverselab.bench.runner`: runs a suite into ``results.json`` / ``results.csv`` (resumable, with a
  per-reconstruction time budget; failures are recorded, not fatal).
- :mod:`~inverselab.bench.report`: ``report.md`` and a self-contained ``index.html``.
- :mod:`~inverselab.bench.studies`: phase transition, noise shift, sampling shift.

The runner (and torch) load on first use, so listing suites stays instant.
"""

from __future__ import annotations

import importlib

from .suites import SUITES, Suite, SuiteEntry, get_suite, list_suites

_RUNNER = ("Task", "plan", "run_task", "run_bench", "load_results")

__all__ = ["Suite", "SuiteEntry", "SUITES", "get_suite", "list_suites", *_RUNNER]


def __getattr__(name: str):
    if name in _RUNNER:
        return getattr(importlib.import_module(".runner", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
