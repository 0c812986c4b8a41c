"""The detectability transition of community detection in the sparse stochastic block model.

For two equal groups with average degree ``c``, no algorithm finds the communities better than chance when
``c_in - c_out < 2 sqrt(c)`` (the Kesten-Stigum threshold, Decelle, Krzakala, Moore & Zdeborová, Phys. Rev. E
84, 066106, 2011; proved by Mossel, Neeman & Sly and Massoulié), and belief propagation and the Bethe Hessian
(Saade, Krzakala & Zdeborová, NeurIPS 2014) succeed above it, while spectral clustering on the adjacency
matrix or the normalized Laplacian needs a much larger gap on sparse graphs (high-degree nodes and small
components dominate their spectra).

:func:`run` draws that figure: the overlap of every method against ``c_in - c_out`` at fixed ``c``, the
threshold marked, and a table against the reference numbers (q = 2, c = 3, N = 50 000, 2 graphs per point).
It is the ``sbm-transition`` study of ``inverselab bench --study``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import check_number
from .._files import write_atomic
from .studies import StudyResult

__all__ = ["METHODS", "SUITES", "REFERENCE", "run"]

NAME = "sbm-transition"

#: The methods this study compares (registry names), with the label used in the figure and tables.
METHODS: dict[str, str] = {
    "sbm-bp": "belief propagation",
    "bethe-hessian": "Bethe Hessian",
    "gnn": "graph network (trained)",
    "spectral-adjacency": "adjacency spectrum",
    "spectral-laplacian": "normalized Laplacian",
}

_GAPS = [3.0, 3.5, 4.0, 4.5, 5.0, 5.5]

#: Suite name -> number of nodes, gaps ``c_in - c_out``, graphs per gap; ``q = 2``, ``c = 3`` (the
#: ``sbm-2groups`` preset's).
SUITES: dict[str, dict[str, Any]] = {
    "quick": {"num_nodes": 5_000, "gaps": _GAPS, "graphs": 1},
    "full": {"num_nodes": 50_000, "gaps": _GAPS, "graphs": 2},
}

#: Published-style reference overlaps at q = 2, c = 3, N = 50 000, 2 graphs per point (REFERENCES.md).
REFERENCE: dict[str, list[float]] = {
    "gaps": _GAPS,
    "bethe-hessian": [0.008, 0.136, 0.456, 0.658, 0.786, 0.875],
    "sbm-bp": [0.003, 0.130, 0.494, 0.687, 0.812, 0.888],
    "spectral-adjacency": [0.005, 0.001, 0.032, 0.020, 0.379, 0.430],
}

_COLORS = {
    "sbm-bp": "tab:red",
    "bethe-hessian": "tab:blue",
    "gnn": "tab:purple",
    "spectral-adjacency": "tab:green",
    "spectral-laplacian": "tab:gray",
}


def _graph_seed(seed: int, i: int, t: int) -> int:
    """A 63-bit seed for graph ``t`` at gap index ``i``, derived deterministically from ``seed``."""
    return int(np.random.SeedSequence([seed, i, t]).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def _run_graph(task: tuple) -> dict[str, Any]:
    """Sample one graph and run every method on it (module-level, for a process pool)."""
    import torch

    from ..data.graphs import StochasticBlockModel
    from ..methods import get_method
    from ..metrics import overlap

    i, t, gap, c, q, num_nodes, methods, seed = task
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = StochasticBlockModel.from_degree(c, gap, num_nodes, q)
        x_true, y = model.sample(generator=_graph_seed(seed, i, t))
        out: dict[str, Any] = {
            "i": i,
            "t": t,
            "edges": int(y.indices().shape[1] // 2),
            "overlap": {},
            "seconds": {},
        }
        for name in methods:
            params = {"seed": t} if name != "gnn" else {}
            start = time.perf_counter()
            x = get_method(name, **params)(y, model)
            out["seconds"][name] = time.perf_counter() - start
            out["overlap"][name] = float(overlap(x, x_true, q)[0])
        return out
    finally:
        torch.set_num_threads(threads)


def _check_methods(methods: Sequence[str] | None) -> tuple[list[str], str]:
    """The methods to run, and a note when the GNN was left out for want of weights."""
    note = ""
    if methods is None or (not isinstance(methods, str) and len(methods) == 0):
        methods = list(METHODS)
        from ..weights import find_weights

        try:
            find_weights("gnn-sbm-2groups")
        except ValueError:
            methods.remove("gnn")
            note = " The graph network was left out: its weights (gnn-sbm-2groups) are not installed."
    elif isinstance(methods, str):
        raise TypeError(f"methods must be a sequence of method names, got the string {methods!r}")
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ValueError(f"methods must be among {', '.join(map(repr, METHODS))}; got {bad!r}")
    return [m for m in METHODS if m in set(methods)], note


def _plot(path: Path, methods, gaps, mean, low, high, threshold: float, title: str, reference: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.6, 4.8), dpi=100, layout="constrained")
    ax.axvspan(min(gaps[0], threshold) - 0.25, threshold, color="0.93", zorder=0)
    ax.axvline(threshold, color="black", ls="--", lw=1.2, label=f"Kesten-Stigum 2√c = {threshold:.2f}")
    for m in methods:
        m_mean = np.asarray(mean[m])
        err = np.stack([m_mean - np.asarray(low[m]), np.asarray(high[m]) - m_mean])
        ax.errorbar(
            gaps, m_mean, yerr=err, marker="o", ms=5, lw=1.8, capsize=3, color=_COLORS[m], label=METHODS[m]
        )
        if reference and m in REFERENCE:
            ax.plot(
                REFERENCE["gaps"],
                REFERENCE[m],
                ls=":",
                marker="x",
                ms=6,
                color=_COLORS[m],
                alpha=0.7,
                label=f"{METHODS[m]} (reference)",
            )
    ax.set(xlim=(min(gaps[0], threshold) - 0.25, gaps[-1] + 0.25), ylim=(-0.02, 1.0))
    ax.set_xlabel(r"$c_{in} - c_{out}$")
    ax.set_ylabel("overlap")
    ax.text(threshold - 0.05, 0.95, "undetectable", ha="right", va="top", fontsize=9, color="0.35")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5, framealpha=0.95)
    ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=11)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _table(methods, gaps, mean, reference: bool) -> str:
    head = "| c_in − c_out | c_in | c_out |" + "".join(f" {METHODS[m]} |" for m in methods)
    cols = 3 + len(methods)
    ref = [m for m in methods if m in REFERENCE] if reference else []
    head += "".join(f" {METHODS[m]} (ref.) |" for m in ref)
    cols += len(ref)
    lines = [head, "|" + "---:|" * cols]
    for k, gap in enumerate(gaps):
        c_out = 3.0 - gap / 2
        row = f"| {gap:g} | {c_out + gap:g} | {c_out:g} |" + "".join(f" {mean[m][k]:.3f} |" for m in methods)
        if ref:
            j = REFERENCE["gaps"].index(gap) if gap in REFERENCE["gaps"] else None
            row += "".join(f" {REFERENCE[m][j]:.3f} |" if j is not None else " — |" for m in ref)
        lines.append(row)
    return "\n".join(lines)


def run(
    out: Path,
    *,
    suite: str = "quick",
    presets: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    seed: int = 0,
    jobs: int = 1,
    progress: bool = False,
    gaps: Sequence[float] | None = None,
    num_nodes: int | None = None,
    graphs: int | None = None,
) -> StudyResult:
    """Overlap vs ``c_in - c_out`` of the community-detection methods on the ``sbm-2groups`` model.

    Every point draws ``graphs`` independent SBM graphs with ``q = 2`` equal groups and average degree
    ``c = 3`` (:class:`~inverselab.data.graphs.StochasticBlockModel`, ``c_out = c - gap / 2``,
    ``c_in = c_out + gap``); graph ``t`` of gap index ``i`` is seeded by ``SeedSequence([seed, i, t])``. Every
    method runs on the same graphs with the true model as ``A`` and is scored by
    :func:`~inverselab.metrics.overlap`. Writes ``out/sbm-transition.png`` (mean overlap, min-max bars, the
    Kesten-Stigum threshold ``2 sqrt(c)`` marked; the reference curves when ``N = 50 000``) and
    ``out/sbm-transition.json``.

    Measured on a shared 2-core machine, one thread: ``quick`` (N = 5 000, one graph per gap) 14 s, ``full``
    (N = 50 000, two graphs per gap) 264 s, of which belief propagation 170 s, the Bethe Hessian 41 s and
    the GNN 42 s.

    Args:
        out: Output directory (created if missing).
        suite: ``"quick"`` or ``"full"`` (see :data:`SUITES`).
        presets: ``None``, empty, or ``["sbm-2groups"]`` (the model the study uses).
        methods: Among :data:`METHODS` (default all; the GNN only when its shipped weights exist).
        seed: Base seed (>= 0) of the graphs.
        jobs: Worker processes (graphs are distributed over a spawn-started pool when > 1).
        progress: Show a progress bar over the graphs.
        gaps: Values of ``c_in - c_out`` in ``[0, 6]`` (``c_out >= 0``), overriding the suite's.
        num_nodes: Number of nodes, overriding the suite's.
        graphs: Graphs per gap, overriding the suite's.

    Returns:
        The :class:`~inverselab.bench.studies.StudyResult`; ``data["overlap"][method]`` lists the mean
        overlap per gap.
    """
    from ..data.graphs import kesten_stigum_threshold
    from ..presets import get_preset

    if suite not in SUITES:
        raise ValueError(f"suite must be one of {', '.join(map(repr, SUITES))}; got {suite!r}")
    if presets and list(presets) != ["sbm-2groups"]:
        raise ValueError(f"presets must be empty or ['sbm-2groups'] for the {NAME} study, got {presets!r}")
    preset = get_preset("sbm-2groups")
    c, q = 3.0, 2
    methods, note = _check_methods(methods)
    seed = int(check_number("seed", seed, low=0, integer=True))
    jobs = int(check_number("jobs", jobs, low=1, integer=True))
    config = dict(SUITES[suite])
    if gaps is not None:
        if isinstance(gaps, str) or not isinstance(gaps, Sequence) or not gaps:
            raise ValueError(f"gaps must be a non-empty sequence of numbers, got {gaps!r}")
        config["gaps"] = sorted({float(check_number("gaps", g, low=0, high=q * c)) for g in gaps})
    if num_nodes is not None:
        config["num_nodes"] = int(check_number("num_nodes", num_nodes, low=10, integer=True))
    if graphs is not None:
        config["graphs"] = int(check_number("graphs", graphs, low=1, integer=True))
    gaps, n, trials = config["gaps"], config["num_nodes"], config["graphs"]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    tasks = [(i, t, g, c, q, n, tuple(methods), seed) for i, g in enumerate(gaps) for t in range(trials)]
    from .parallel import imap_unordered

    wall = time.perf_counter()
    results = [
        r
        for _, r in imap_unordered(
            _run_graph, tasks, jobs=jobs, threads=1, progress=progress, desc=NAME, unit="graph"
        )
    ]
    wall = time.perf_counter() - wall

    per = {m: [[math.nan] * trials for _ in gaps] for m in methods}
    seconds = dict.fromkeys(methods, 0.0)
    edges = [[0] * trials for _ in gaps]
    for r in results:
        edges[r["i"]][r["t"]] = r["edges"]
        for m in methods:
            per[m][r["i"]][r["t"]] = round(r["overlap"][m], 6)
            seconds[m] += r["seconds"][m]
    mean = {m: [round(float(np.mean(v)), 6) for v in per[m]] for m in methods}
    low = {m: [float(np.min(v)) for v in per[m]] for m in methods}
    high = {m: [float(np.max(v)) for v in per[m]] for m in methods}
    threshold = kesten_stigum_threshold(c, q)
    reference = n == 50_000 and all(g in REFERENCE["gaps"] for g in gaps)

    title = f"Community detection in the SBM (q = {q}, c = {c:g}): N = {n:,}, {trials} graph(s) per point"
    figure = out / f"{NAME}.png"
    _plot(figure, methods, gaps, mean, low, high, threshold, title, reference)
    mean_degree = [float(np.mean(e)) * 2 / n for e in edges]
    data: dict[str, Any] = {
        "study": NAME,
        "suite": suite,
        "preset": preset.name,
        "methods": methods,
        "q": q,
        "c": c,
        "num_nodes": n,
        "graphs": trials,
        "seed": seed,
        "gaps": gaps,
        "kesten_stigum": threshold,
        "overlap": mean,
        "overlap_per_graph": per,
        "mean_degree": mean_degree,
        "reference": REFERENCE if reference else None,
        "timings": {
            "wall_seconds": round(wall, 3),
            "jobs": jobs,
            **{f"{m}_seconds": round(s, 3) for m, s in seconds.items()},
        },
    }
    write_atomic(out / f"{NAME}.json", json.dumps(data, indent=1))
    caption = (
        f"Overlap (max over the two labellings of the accuracy, rescaled so that chance is 0 and perfect "
        f"recovery 1) of each method against c_in − c_out at average degree c = {c:g}, q = {q} equal groups, "
        f"N = {n:,} nodes, {trials} independent graph(s) per point (mean; bars: min to max), seed {seed}; "
        f"measured mean degrees {min(mean_degree):.3f}–{max(mean_degree):.3f}. Every method sees the same "
        f"graphs and the true model as A: belief propagation (Decelle et al. 2011; parallel updates, damping "
        f"0.5, at most 1000 iterations, tolerance 1e-5 on the messages' relative change, the true c_in and "
        f"c_out), the Bethe Hessian H(r) = (r² − 1)I − rA + D with r = sqrt(Σd²/Σd − 1) (Saade, Krzakala & "
        f"Zdeborová 2014), the adjacency matrix and the normalized Laplacian (for q = 2: sign of the second "
        f"eigenvector, from scipy's eigsh)"
        + (", and the shipped graph network (gnn-sbm-2groups)" if "gnn" in methods else "")
        + f". The dashed line is the Kesten-Stigum threshold 2√c = {threshold:.3f}: below it (shaded) no "
        "method can beat chance as N grows."
        + (" Dotted curves: the reference numbers (REFERENCES.md)." if reference else "")
        + f" Run time {wall:.1f} s ("
        + ", ".join(f"{METHODS[m]} {seconds[m]:.1f} s" for m in methods)
        + ")."
        + note
    )
    return StudyResult(
        name=NAME,
        title=title,
        caption=caption,
        figures=[figure],
        data=data,
        tables=[_table(methods, gaps, mean, reference)],
    )
