"""Run a benchmark: every (preset, method, test image, seed) of a suite, one record each.

Records are appended to ``DIR/results.json`` and ``DIR/results.csv`` (atomically rewritten) as soon as each
reconstruction finishes, so an interrupted run loses nothing and ``resume=True`` skips what is done. A method
that raises, returns NaN/Inf or exceeds the time budget is recorded as failed with its error, and the run goes
on. Each record also saves the reconstruction and its error map as PNGs under ``DIR/images`` for the report.

Example:
    >>> from inverselab.bench.suites import get_suite
    >>> tasks = plan(get_suite("tiny"), presets=["mri-4x"])
    >>> [(t.method, t.image, t.size) for t in tasks][:3]
    [('tv-admm', 'camera', 32), ('zero-filled', 'camera', 32), ('tv-admm', 'coins', 32)]
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import math
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._checks import check_number
from .._files import write_atomic
from .parallel import imap_unordered
from .suites import Suite

__all__ = [
    "Task",
    "BudgetExceeded",
    "plan",
    "run_task",
    "run_bench",
    "load_results",
    "git_commit",
    "machine_facts",
    "RESULT_FIELDS",
]

#: Columns of ``results.csv`` (and the keys of every record in ``results.json``), in order.
RESULT_FIELDS = (
    "preset",
    "method",
    "image",
    "seed",
    "size",
    "status",
    "psnr",
    "ssim",
    "nmse",
    "nmse_db",
    "seconds",
    "error",
    "params",
    "version",
    "commit",
)


@dataclass(frozen=True)
class Task:
    """One reconstruction to run: ``method`` on ``preset`` with test signal ``image`` and ``seed``."""

    preset: str
    method: str
    image: str
    seed: int
    size: int
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> tuple[str, str, str, int, int]:
        """What identifies a record (``resume`` skips tasks whose key is already recorded)."""
        return (self.preset, self.method, self.image, self.seed, self.size)

    @property
    def image_dir(self) -> str:
        """Folder (relative to the output directory) of this problem's pictures."""
        return f"images/{self.preset}/{self.image}-{self.size}px-seed{self.seed}"


class BudgetExceeded(BaseException):
    """Raised inside a reconstruction that ran past its time budget (a ``BaseException``, so a method's own
    ``except Exception`` cannot swallow it)."""


def _split(values: Sequence[str] | str | None) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = [v for v in values.split(",") if v]
    return [str(v) for v in values]


def plan(
    suite: Suite,
    *,
    presets: Sequence[str] | str | None = None,
    methods: Sequence[str] | str | None = None,
    num_images: int | None = None,
    seed: int = 0,
    size: int | None = None,
) -> list[Task]:
    """The tasks of ``suite``, optionally restricted.

    Args:
        suite: What to run.
        presets: Only these presets (names, or a comma-separated string); each must be in the suite.
        methods: Only these methods; each must be run by at least one selected preset.
        num_images: Only the first ``num_images`` test images of each preset.
        seed: Added to every seed of the suite (``seed=0`` runs the suite as declared).
        size: Image side length overriding the suite's and the presets' (vector presets keep their length).

    Returns:
        Tasks ordered by preset, image, seed, method (the order of the report's tables).
    """
    from ..methods import METHODS, list_methods
    from ..presets import get_preset

    presets, methods = _split(presets), _split(methods)
    seed = int(check_number("seed", seed, low=0, integer=True))
    if num_images is not None:
        num_images = int(check_number("num_images", num_images, low=1, integer=True))
    if size is not None:
        size = int(check_number("size", size, low=8, high=4096, integer=True))
    entries = list(suite.entries)
    names = [e.preset for e in entries]
    if presets is not None:
        unknown = [p for p in presets if p not in names]
        if unknown:
            raise ValueError(
                f"presets must be among the {suite.name!r} suite's: {', '.join(names)}; got {unknown}"
            )
        entries = [e for e in entries if e.preset in presets]
    if methods is not None:
        unknown = [m for m in methods if m not in METHODS]
        if unknown:
            raise ValueError(f"methods must be among {', '.join(list_methods())}; got {unknown}")
    tasks: list[Task] = []
    used: set[str] = set()
    for entry in entries:
        p = get_preset(entry.preset)
        entry_methods = entry.methods if entry.methods is not None else p.all_methods
        chosen = [m for m in entry_methods if methods is None or m in methods]
        used.update(chosen)
        images = entry.images[:num_images] if num_images and p.kind == "image" else entry.images
        length = p.size if p.kind in ("vector", "signal") else (size or suite.size or p.size)
        for image in images:
            for s in entry.seeds:
                for m in chosen:
                    tasks.append(Task(p.name, m, image, seed + s, length, p.method_params(m)))
    if methods is not None and set(methods) - used:
        missing = sorted(set(methods) - used)
        raise ValueError(
            f"methods {missing} are run by none of the selected presets "
            f"({', '.join(e.preset for e in entries)})"
        )
    return tasks


# --- one task ----------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`BudgetExceeded` in the main thread after ``seconds`` (POSIX ``SIGALRM``); elsewhere the
    caller checks the elapsed time afterwards."""
    usable = (
        seconds is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def _alarm(signum, frame):
        raise BudgetExceeded(f"exceeded the time budget of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_PROBLEMS: dict[tuple, Any] = {}  # the last problem built, per worker process


def _problem(task: Task):
    from ..presets import get_preset, make_problem

    key = (task.preset, task.image, task.seed, task.size)
    if key not in _PROBLEMS:
        _PROBLEMS.clear()
        p = get_preset(task.preset)
        _PROBLEMS[key] = make_problem(p, sample=task.image, size=task.size, seed=task.seed)
    return _PROBLEMS[key]


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in params.items():
        out[k] = v if isinstance(v, (bool, int, float, str, type(None))) else repr(v)
    return out


def run_task(task: Task, out: str | Path, *, time_budget: float | None = None) -> dict[str, Any]:
    """Run one task, save its pictures under ``out``, and return its record (never raises for a method's
    failure: the record's ``status`` is ``"failed"`` and ``error`` says why)."""
    import torch

    from .. import __version__
    from ..methods import METHODS, get_method
    from ..presets import evaluate
    from . import pictures

    out = Path(out)
    record: dict[str, Any] = {
        "preset": task.preset,
        "method": task.method,
        "image": task.image,
        "seed": task.seed,
        "size": task.size,
        "status": "ok",
        "psnr": None,
        "ssim": None,
        "nmse": None,
        "nmse_db": None,
        "seconds": None,
        "error": "",
        "params": _jsonable(task.params),
        "version": __version__,
        "commit": git_commit(),
    }
    try:
        problem = _problem(task)
    except ValueError as err:  # e.g. a size the preset cannot build (pr-gaussian above 32 px): recorded
        record.update(status="failed", seconds=0.0, error=f"problem: {type(err).__name__}: {err}")
        return record
    pictures.save_problem(out / task.image_dir, problem)
    params = dict(task.params)
    if METHODS[task.method].iterative:
        params["progress"] = False
    start = time.perf_counter()
    try:
        method = get_method(task.method, **params)  # imports the method's module: not timed
        start = time.perf_counter()
        with _time_limit(time_budget), torch.no_grad():
            x_hat = method(problem.y, problem.A)
        seconds = time.perf_counter() - start
        if time_budget is not None and seconds > time_budget:
            raise BudgetExceeded(f"exceeded the time budget of {time_budget:g} s")
        if tuple(x_hat.shape) != tuple(problem.x_true.shape):
            raise ValueError(f"returned shape {tuple(x_hat.shape)}, expected {tuple(problem.x_true.shape)}")
        if not torch.isfinite(x_hat).all():
            raise ValueError("returned NaN or Inf")
    except (Exception, BudgetExceeded) as err:  # recorded, and the run goes on
        record.update(
            status="failed", seconds=time.perf_counter() - start, error=f"{type(err).__name__}: {err}"
        )
        return record
    metrics = evaluate(x_hat, problem.x_true, problem.preset)
    record.update({k: (None if not math.isfinite(v) else v) for k, v in metrics.items()}, seconds=seconds)
    pictures.save_reconstruction(out / task.image_dir, task.method, x_hat, problem)
    return record


# --- git and machine ---------------------------------------------------------------------------------------
_COMMIT: list[str | None] = []


def git_commit() -> str | None:
    """The commit of the inverselab source tree (``+dirty`` when it has uncommitted changes), or ``None``
    when the package is not in a git checkout."""
    if not _COMMIT:
        here = Path(__file__).resolve().parent
        try:
            top = subprocess.run(
                ["git", "-C", str(here), "rev-parse", "--show-toplevel", "HEAD"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.split()
            ours = (Path(top[0]) / "src" / "inverselab").resolve() == here.parent
            dirty = subprocess.run(
                ["git", "-C", top[0], "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            _COMMIT.append(top[1] + ("+dirty" if dirty else "") if ours else None)
        except (OSError, subprocess.SubprocessError, IndexError):
            _COMMIT.append(None)
    return _COMMIT[0]


def machine_facts() -> dict[str, Any]:
    """Python, torch, platform, CPU count and torch threads: what a timing depends on."""
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }


def _peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 1024**2  # kB on Linux, bytes on macOS
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    return round(max(own, children), 1)


# --- files -------------------------------------------------------------------------------------------------
def _csv_text(records: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=RESULT_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in records:
        writer.writerow({**r, "params": json.dumps(r.get("params", {}), sort_keys=True)})
    return buf.getvalue()


def _save(out: Path, meta: dict[str, Any], records: list[dict[str, Any]]) -> None:
    meta = {**meta, "peak_rss_mb": _peak_rss_mb(), "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    write_atomic(out / "results.json", json.dumps({"meta": meta, "records": records}, indent=1) + "\n")
    write_atomic(out / "results.csv", _csv_text(records))


def load_results(out: str | Path) -> dict[str, Any]:
    """The contents of ``out/results.json`` (``{"meta": ..., "records": [...]}``)."""
    path = Path(out) / "results.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise OSError(f"cannot read {path}: {err}") from err
    if not isinstance(data, dict) or not isinstance(data.get("records"), list):
        raise OSError(f"{path} is not an inverselab results file (no 'records' list)")
    return data


def _key(record: dict[str, Any]) -> tuple:
    return (record["preset"], record["method"], record["image"], int(record["seed"]), int(record["size"]))


# --- the run -----------------------------------------------------------------------------------------------
def run_bench(
    tasks: Sequence[Task],
    out: str | Path,
    *,
    jobs: int = 1,
    time_budget: float | None = 60.0,
    resume: bool = False,
    progress: bool = False,
    meta: dict[str, Any] | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run ``tasks``, writing ``out/results.json`` and ``out/results.csv`` after every record.

    Args:
        tasks: From :func:`plan`.
        out: Output directory (created).
        jobs: Worker processes (:func:`~inverselab.bench.parallel.imap_unordered`), each with
            ``cpu_count // jobs`` torch threads; ``1`` runs in this process.
        time_budget: Seconds per reconstruction; a slower one is stopped and recorded as failed.
        resume: Keep the records already in ``out/results.json`` and skip their tasks; otherwise start afresh.
        progress: Show a progress bar (current preset/method, runs left, time left).
        meta: Extra fields for the ``meta`` block of ``results.json`` (suite, command, ...).
        on_record: Called with each new record.

    Returns:
        ``{"meta": ..., "records": [...]}`` as written to ``results.json``.
    """
    jobs = int(check_number("jobs", jobs, low=1, high=256, integer=True))
    if time_budget is not None:
        time_budget = check_number("time_budget", time_budget, low=0.0, low_inclusive=False)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    if resume and (out / "results.json").exists():
        records = load_results(out)["records"]
    done = {_key(r) for r in records}
    todo = [t for t in tasks if t.key not in done]
    info = {
        "version": None,
        "git_commit": git_commit(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "jobs": jobs,
        "time_budget": time_budget,
        "machine": machine_facts(),
        "resumed": resume and bool(records),
        **(meta or {}),
    }
    from .. import __version__

    info["version"] = __version__
    _save(out, info, records)

    from tqdm.auto import tqdm

    def _add(record: dict[str, Any]) -> None:
        records.append(record)
        _save(out, info, records)
        if record["status"] != "ok":
            tqdm.write(
                f"failed: {record['preset']} / {record['method']} / {record['image']}: {record['error']}",
                file=sys.stderr,
            )
        if on_record is not None:
            on_record(record)

    fn = functools.partial(run_task, out=out, time_budget=time_budget)
    finished: set[int] = set()
    try:
        for i, record in imap_unordered(fn, todo, jobs=jobs, progress=progress, unit="run", label=_label):
            finished.add(i)
            _add(record)
    except BrokenProcessPool as err:  # a worker died (out of memory, killed, ...): record what is left
        for i, t in enumerate(todo):
            if i not in finished:
                _add(_failed(t, f"{type(err).__name__}: {err}"))
    finally:
        _save(out, info, records)
    return {"meta": info, "records": records}


def _label(t: Task) -> str:
    return f"{t.preset} / {t.method} / {t.image}"


def _failed(t: Task, error: str) -> dict[str, Any]:
    from .. import __version__

    record = {k: None for k in RESULT_FIELDS}
    record.update(
        preset=t.preset,
        method=t.method,
        image=t.image,
        seed=t.seed,
        size=t.size,
        status="failed",
        error=error,
        params=_jsonable(t.params),
        version=__version__,
        commit=git_commit(),
    )
    return record
