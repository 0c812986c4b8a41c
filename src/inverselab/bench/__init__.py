"""``inverselab bench``: every method side by side on the same problems, with reports and studies.

- :mod:`~inverselab.bench.suites`: declarative suites of (preset, methods, test images, seeds).
- :mod:`~inverselab.bench.runner`: runs a suite into ``results.json`` / ``results.csv`` (resumable, with a
  per-reconstruction time budget; failures are recorded, not fatal).
- :mod:`~inverselab.bench.report`: ``report.md`` and a self-contained ``index.html``.
- :mod:`~inverselab.bench.studies`: phase transition, noise shift, sampling shift.
"""

from .runner import Task, load_results, plan, run_bench, run_task
from .suites import SUITES, Suite, SuiteEntry, get_suite, list_suites

__all__ = [
    "Suite",
    "SuiteEntry",
    "SUITES",
    "get_suite",
    "list_suites",
    "Task",
    "plan",
    "run_task",
    "run_bench",
    "load_results",
]
