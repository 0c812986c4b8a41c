"""Phase transition of sparse recovery: where L1 minimization and AMP succeed, and the curve predicting it.

For an ``m x n`` Gaussian matrix and a ``k``-sparse signal, exact recovery from ``y = A x`` switches from
almost sure success to almost sure failure as ``rho = k / m`` crosses a curve ``rho(delta)`` of the
undersampling ratio ``delta = m / n``. For basis pursuit (``min ‖x‖₁ s.t. A x = y``) the curve is Donoho &
Tanner's *weak* threshold of the cross-polytope, obtained by counting the faces of randomly projected
polytopes (Donoho & Tanner, "Counting faces of randomly projected polytopes when the projection radically
lowers dimension", J. Amer. Math. Soc. 22(1), 2009; "Observed universality of phase transitions in
high-dimensional geometry, with implications for modern data analysis and signal processing", Phil. Trans.
R. Soc. A 367, 2009).
Donoho, Maleki & Montanari ("Message-passing algorithms for compressed sensing", PNAS 106(45), 2009) showed
that approximate message passing with the minimax soft threshold has the same curve, ``rho_SE(delta)`` of its
state evolution (:func:`inverselab.solvers.amp.phase_transition_rho`).

:func:`run` reproduces that figure: the empirical success probability of both methods over a
``(delta, rho)`` grid, drawn as heat maps with ``rho_SE(delta)`` on top, and a table of the empirical 50 %
crossings against the theory. It is the ``phase-transition`` study of ``inverselab bench --study``.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._checks import check_number
from .._files import write_atomic
from ..operators.base import LinearOperator
from .parallel import imap_unordered
from .studies import StudyResult

__all__ = ["METHODS", "SUITES", "run", "empirical_transition"]

NAME = "phase-transition"

#: The methods this study compares, with the label used in the figure and tables.
METHODS: dict[str, str] = {
    "l1": "L1 minimization (basis pursuit, exact LP)",
    "amp": "AMP (soft threshold, minimax threshold)",
}


def _centres(num: int) -> list[float]:
    """``num`` bin centres tiling ``(0, 1)``: ``(i + 1/2) / num``."""
    return [round((i + 0.5) / num, 6) for i in range(num)]


#: Suite name -> signal length ``n``, grids of ``delta`` and ``rho`` (bin centres tiling the unit square),
#: trials per cell, and the number of AMP iterations.
SUITES: dict[str, dict[str, Any]] = {
    "quick": {"n": 100, "deltas": _centres(10), "rhos": _centres(10), "trials": 10, "amp_iter": 300},
    "full": {"n": 200, "deltas": _centres(20), "rhos": _centres(20), "trials": 20, "amp_iter": 500},
}

#: A trial succeeds when ``‖x_hat - x‖ / ‖x‖`` is below this.
SUCCESS_TOL = 1e-2
#: An AMP trial counts as diverged when its relative error is above this (or not finite).
DIVERGED = 10.0


class _PerItemMatrices(LinearOperator):
    """Batch item ``b`` is multiplied by its own dense matrix ``matrices[b]`` (``(B, m, n)``).

    Not a general operator (its batch dimension is not free): it lets :func:`~inverselab.solvers.amp.amp`
    solve ``B`` independent trials, each with a fresh matrix, in one batched run. AMP couples batch items only
    through its stopping rule; with ``tol=0`` (a fixed number of iterations) every item follows exactly the
    iteration it would follow alone.
    """

    def __init__(self, matrices: torch.Tensor):
        super().__init__((matrices.shape[2],), (matrices.shape[1],))
        self.register_buffer("matrices", matrices)

    def _check_batch(self, v: torch.Tensor, name: str) -> None:
        if v.shape[0] != self.matrices.shape[0]:
            raise ValueError(f"{name} must have batch size {self.matrices.shape[0]}, got {tuple(v.shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_batch(x, "x")
        # Row vector times Mᵀ: measured 5x faster than M times a column vector (torch 2, one thread).
        return torch.bmm(x.unsqueeze(1), self.matrices.to(x.dtype).transpose(1, 2)).squeeze(1)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        self._check_batch(y, "y")
        return torch.bmm(y.unsqueeze(1), self.matrices.to(y.dtype)).squeeze(1)


def _trial_seed(seed: int, i: int, j: int, t: int) -> int:
    """A 63-bit seed for trial ``t`` of cell ``(i, j)``, derived deterministically from ``seed``."""
    return int(np.random.SeedSequence([seed, i, j, t]).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def _cell_sizes(n: int, delta: float, rho: float) -> tuple[int, int]:
    """``m = round(delta n)`` (at least 1) and ``k = round(rho m)`` clipped to ``[1, m]``."""
    m = max(1, math.floor(delta * n + 0.5))
    k = min(m, max(1, math.floor(rho * m + 0.5)))
    return m, k


def _basis_pursuit(matrix: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """``argmin ‖x‖₁ s.t. matrix @ x = y`` as the LP ``min 1ᵀ(u + v), [A, -A][u; v] = y, u, v >= 0``.

    Solved by SciPy's HiGHS; ``None`` when the solver does not report an optimum.
    """
    from scipy.optimize import linprog

    n = matrix.shape[1]
    res = linprog(np.ones(2 * n), A_eq=np.hstack([matrix, -matrix]), b_eq=y, bounds=(0, None), method="highs")
    if res.status != 0:
        return None
    return res.x[:n] - res.x[n:]


def _run_cell(task: tuple) -> dict[str, Any]:
    """All trials of one grid cell, for every requested method (module-level, for a process pool).

    Runs torch with one intra-op thread (and restores the setting): the matrices are small, and on a loaded
    2-core machine torch's thread pool made the batched products up to 100x slower (measured).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _solve_cell(task)
    finally:
        torch.set_num_threads(threads)


def _solve_cell(task: tuple) -> dict[str, Any]:
    from ..data.sparse import exact_sparse
    from ..noise import make_generator
    from ..solvers.amp import amp, phase_transition_threshold

    i, j, delta, rho, n, trials, methods, seed, amp_iter = task
    m, k = _cell_sizes(n, delta, rho)
    matrices, signals = [], []
    for t in range(trials):
        gen = make_generator(_trial_seed(seed, i, j, t))
        # Draws, in order: the matrix (i.i.d. N(0, 1/m), as GaussianMatrix draws it, but one per batch item),
        # then the signal (support, then amplitudes).
        matrices.append(torch.randn(m, n, generator=gen, dtype=torch.float64) / math.sqrt(m))
        signals.append(exact_sparse(1, n, k, gen, signed=True, dtype=torch.float64)[0])
    mats, x = torch.stack(matrices), torch.stack(signals)
    y = _PerItemMatrices(mats)(x)
    x_norm = torch.linalg.vector_norm(x, dim=1)
    out: dict[str, Any] = {
        "i": i,
        "j": j,
        "m": m,
        "k": k,
        "success": {},
        "seconds": {},
        "lp_failures": 0,
        "amp_diverged": 0,
    }
    if "l1" in methods:
        start = time.perf_counter()
        wins = 0
        for t in range(trials):
            x_hat = _basis_pursuit(mats[t].numpy(), y[t].numpy())
            if x_hat is None:
                out["lp_failures"] += 1
                continue
            err = np.linalg.norm(x_hat - x[t].numpy()) / float(x_norm[t])
            wins += bool(err < SUCCESS_TOL)
        out["success"]["l1"] = wins
        out["seconds"]["l1"] = time.perf_counter() - start
    if "amp" in methods:
        start = time.perf_counter()
        alpha = phase_transition_threshold(delta) if m < n else 1e-8
        # tol=0: exactly amp_iter iterations, so the batched result equals the trial-by-trial one.
        try:
            x_hat = amp(y, _PerItemMatrices(mats), alpha=alpha, num_iter=amp_iter, tol=0).x
        except ValueError:
            # A trial that diverged to Inf/NaN stops the whole batch: rerun the trials one at a time.
            x_hat = torch.full_like(x, math.inf)
            for t in range(trials):
                try:
                    x_hat[t] = amp(
                        y[t : t + 1], _PerItemMatrices(mats[t : t + 1]), alpha=alpha, num_iter=amp_iter, tol=0
                    ).x[0]
                except ValueError:
                    pass
        err = torch.linalg.vector_norm(x_hat - x, dim=1) / x_norm
        out["success"]["amp"] = int((err < SUCCESS_TOL).sum())
        out["amp_diverged"] = int((~torch.isfinite(err) | (err > DIVERGED)).sum())
        out["seconds"]["amp"] = time.perf_counter() - start
    return out


def empirical_transition(rhos: Sequence[float], probability: Sequence[float]) -> float | None:
    """The ``rho`` where the success probability first falls below 1/2, linearly interpolated.

    Scans ``rhos`` upwards for the first cell with probability ``< 0.5`` and interpolates between it and the
    cell before it. ``None`` when the first cell already fails (the crossing lies below the grid) or no cell
    fails (it lies above).

    Example:
        >>> empirical_transition([0.1, 0.2, 0.3, 0.4], [1.0, 0.9, 0.1, 0.0])
        0.25
    """
    p = [float(v) for v in probability]
    for idx, value in enumerate(p):
        if value < 0.5:
            if idx == 0:
                return None
            r0, r1, p0, p1 = rhos[idx - 1], rhos[idx], p[idx - 1], value
            return float(r0 + (p0 - 0.5) / (p0 - p1) * (r1 - r0))
    return None


def _check_grid(grid: object) -> tuple[list[float], list[float]]:
    if not isinstance(grid, Sequence) or len(grid) != 2:
        raise ValueError(f"grid must be a pair (deltas, rhos) of sequences, got {grid!r}")
    out = []
    for name, values in zip(("deltas", "rhos"), grid, strict=True):
        if not isinstance(values, Sequence) or not values:
            raise ValueError(f"grid {name} must be a non-empty sequence of numbers, got {values!r}")
        vals = [float(check_number(f"grid {name}", v, low=0, high=1, low_inclusive=False)) for v in values]
        if any(b <= a for a, b in zip(vals, vals[1:], strict=False)):
            raise ValueError(f"grid {name} must be strictly increasing, got {vals}")
        out.append(vals)
    return out[0], out[1]


def _edges(centres: Sequence[float]) -> list[float]:
    """Cell edges around increasing centres: midpoints inside, half a step beyond the ends, within [0, 1]."""
    c = list(centres)
    if len(c) == 1:
        return [max(0.0, c[0] - 0.05), min(1.0, c[0] + 0.05)]
    mids = [(a + b) / 2 for a, b in zip(c, c[1:], strict=False)]
    return [max(0.0, c[0] - (mids[0] - c[0])), *mids, min(1.0, c[-1] + (c[-1] - mids[-1]))]


@functools.cache
def _theory_curve(num: int = 80) -> tuple[list[float], list[float]]:
    """``num`` points ``(delta, rho_SE(delta))``, ``delta`` in ``(0, 1]``, denser near the steep ends."""
    from ..solvers.amp import phase_transition_rho

    deltas = [0.5 - 0.5 * math.cos(math.pi * (i + 1) / num) for i in range(num)]
    deltas[-1] = 1.0
    return deltas, [phase_transition_rho(d) for d in deltas]


def _plot(
    path: Path,
    methods: Sequence[str],
    deltas: Sequence[float],
    rhos: Sequence[float],
    prob: dict[str, list[list[float]]],
    curve: tuple[list[float], list[float]],
    crossings: dict[str, list[float | None]],
    title: str,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xe, ye = _edges(deltas), _edges(rhos)
    fig, axes = plt.subplots(
        1,
        len(methods),
        figsize=(4.15 * len(methods) + 1.1, 4.6),
        dpi=100,
        squeeze=False,
        layout="constrained",
    )
    mesh = None
    for panel, (ax, method) in enumerate(zip(axes[0], methods, strict=True)):
        # prob[method][i][j]: delta index i, rho index j; pcolormesh wants rows = rho.
        grid = np.asarray(prob[method], dtype=float).T
        mesh = ax.pcolormesh(xe, ye, grid, cmap="gray", vmin=0, vmax=1, shading="flat", rasterized=True)
        ax.plot(
            *curve, color="tab:red", lw=2.2, label="Donoho-Tanner / AMP state evolution\n(weak L1 threshold)"
        )
        pts = [(d, r) for d, r in zip(deltas, crossings[method], strict=True) if r is not None]
        if pts:
            ax.plot(
                *zip(*pts, strict=True),
                ls="none",
                marker="o",
                ms=5,
                mfc="tab:orange",
                mec="black",
                mew=0.8,
                label="empirical 50% success",
            )
        label = f"({'abcdefgh'[panel]}) " if len(methods) > 1 else ""
        ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal")
        ax.set_title(label + METHODS[method], fontsize=10.5)
        ax.set_xlabel(r"$\delta = m/n$ (undersampling)")
        ax.set_ylabel(r"$\rho = k/m$ (sparsity)")
        ax.legend(loc="upper left", fontsize=8, framealpha=0.92)
    cbar = fig.colorbar(mesh, ax=axes[0].tolist(), shrink=0.9, pad=0.02)
    cbar.set_label("empirical success probability")
    fig.suptitle(title, fontsize=12)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _table(
    methods: Sequence[str],
    deltas: Sequence[float],
    rhos: Sequence[float],
    ms: Sequence[int],
    theory: Sequence[float],
    prob: dict[str, list[list[float]]],
    crossings: dict[str, list[float | None]],
) -> str:
    head = "| δ = m/n | m | ρ_SE(δ) (theory) |" + "".join(
        f" ρ₅₀ {method.upper()} | {method.upper()} − theory |" for method in methods
    )
    lines = [head, "|" + "---:|" * (3 + 2 * len(methods))]
    for idx, (d, m, r) in enumerate(zip(deltas, ms, theory, strict=True)):
        row = f"| {d:.3f} | {m} | {r:.3f} |"
        for method in methods:
            c = crossings[method][idx]
            if c is None:  # outside the grid: below it if the first cell already fails, else above it
                outside = f"< {rhos[0]:g}" if prob[method][idx][0] < 0.5 else f"> {rhos[-1]:g}"
                row += f" {outside} | — |"
            else:
                row += f" {c:.3f} | {c - r:+.3f} |"
        lines.append(row)
    summary = []
    for method in methods:
        diffs = [abs(c - r) for c, r in zip(crossings[method], theory, strict=True) if c is not None]
        if diffs:
            mean = sum(diffs) / len(diffs)
            values = f"{len(diffs)} value{'s' if len(diffs) > 1 else ''} of δ"
            summary.append(f"{method.upper()}: mean |ρ₅₀ − ρ_SE| = {mean:.3f} over {values}")
    note = (
        "\n\nρ₅₀ is the ρ at which the empirical success probability first falls below 1/2, interpolated "
        "linearly between grid cells (< or > : the crossing lies outside the ρ grid)."
    )
    if summary:
        note += " " + "; ".join(summary) + "."
    return "\n".join(lines) + note


def run(
    out: Path,
    *,
    suite: str = "quick",
    presets: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    seed: int = 0,
    jobs: int = 1,
    progress: bool = False,
    grid: tuple[Sequence[float], Sequence[float]] | None = None,
    n: int | None = None,
    trials: int | None = None,
) -> StudyResult:
    """Empirical phase transition of L1 minimization and AMP, against the Donoho-Tanner / SE curve.

    Every cell ``(delta, rho)`` of the grid runs ``trials`` independent noiseless problems ``y = A x``: ``A``
    is a fresh ``m x n`` matrix with i.i.d. ``N(0, 1/m)`` entries, ``m = round(delta n)``, and ``x`` has
    exactly ``k = round(rho m)`` (clipped to ``[1, m]``) nonzeros at uniformly random positions with i.i.d.
    ``N(0, 1)`` amplitudes (random signs: the *signed* case), drawn by
    :func:`inverselab.data.sparse.exact_sparse`. Both methods solve the same trials:

    - ``"l1"``: basis pursuit ``min ‖x‖₁ s.t. A x = y``, solved exactly as a linear program by
      ``scipy.optimize.linprog(method="highs")`` (Donoho & Tanner, J. Amer. Math. Soc. 2009 and
      Phil. Trans. R. Soc. A 2009 for its weak threshold);
    - ``"amp"``: :func:`inverselab.solvers.amp.amp` with the minimax threshold
      ``alpha = phase_transition_threshold(delta)`` (Donoho, Maleki & Montanari, PNAS 2009), all trials of a
      cell in one batch.

    A trial succeeds when ``‖x_hat - x‖ / ‖x‖ < 1e-2``. Trial ``t`` of cell ``(i, j)`` draws from a generator
    seeded by ``SeedSequence([seed, i, j, t])``, so the same ``seed`` and grid give the same numbers whatever
    ``jobs`` is. Writes ``out/phase-transition.png`` (one heat-map panel per method, ``rho_SE(delta)`` on
    top) and ``out/phase-transition.json`` (the numbers).

    Measured on a shared 2-core machine under load: the ``quick`` suite (n = 100, 10 x 10 grid, 10 trials)
    takes about 19 s with ``jobs=1`` (24 s with ``jobs=2``: process start-up and contention outweigh the
    gain), the ``full`` suite (n = 200, 20 x 20 grid, 20 trials) about 10 min with ``jobs=1`` and 9 min with
    ``jobs=2``; the LP solves are three quarters of the work. With ``jobs > 1`` the workers are started with
    ``spawn``, so a script that calls this function must guard its entry point with
    ``if __name__ == "__main__":``.

    Args:
        out: Output directory (created if missing).
        suite: ``"quick"`` or ``"full"`` (see :data:`SUITES`).
        presets: Must be ``None`` or empty: this study has no presets.
        methods: Any of ``"l1"``, ``"amp"`` (default both).
        seed: Base seed (>= 0) of all random draws.
        jobs: Number of worker processes (cells are distributed over a spawn-started process pool when > 1).
            Every cell runs torch with one intra-op thread (the previous setting is restored).
        progress: Show a progress bar over the grid cells.
        grid: ``(deltas, rhos)``, strictly increasing values in ``(0, 1]``, overriding the suite's grid (for
            tests and custom figures).
        n: Signal length, overriding the suite's.
        trials: Trials per cell, overriding the suite's.

    Returns:
        The :class:`~inverselab.bench.studies.StudyResult`; ``data["success"][method][i][j]`` is the success
        probability at ``deltas[i]``, ``rhos[j]``.
    """
    if suite not in SUITES:
        raise ValueError(f"suite must be one of {', '.join(map(repr, SUITES))}; got {suite!r}")
    if presets:
        raise ValueError(f"presets must be empty: the phase-transition study has no presets, got {presets!r}")
    if methods is None or (not isinstance(methods, str) and len(methods) == 0):
        methods = list(METHODS)
    elif isinstance(methods, str):
        raise TypeError(f"methods must be a sequence of method names, got the string {methods!r}")
    methods = [m for m in METHODS if m in set(methods)] + [m for m in methods if m not in METHODS]
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ValueError(f"methods must be among {', '.join(map(repr, METHODS))}; got {bad!r}")
    seed = int(check_number("seed", seed, low=0, integer=True))
    jobs = int(check_number("jobs", jobs, low=1, integer=True))
    config = dict(SUITES[suite])
    if grid is not None:
        config["deltas"], config["rhos"] = _check_grid(grid)
    if n is not None:
        config["n"] = int(check_number("n", n, low=2, integer=True))
    if trials is not None:
        config["trials"] = int(check_number("trials", trials, low=1, integer=True))
    deltas, rhos, n, trials = config["deltas"], config["rhos"], config["n"], config["trials"]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    tasks = [
        (i, j, d, r, n, trials, tuple(methods), seed, config["amp_iter"])
        for i, d in enumerate(deltas)
        for j, r in enumerate(rhos)
    ]
    wall = time.perf_counter()
    results = _run_tasks(tasks, jobs, progress)
    wall = time.perf_counter() - wall

    shape = (len(deltas), len(rhos))
    success = {m: np.zeros(shape) for m in methods}
    ks = np.zeros(shape, dtype=int)
    ms = [_cell_sizes(n, d, rhos[0])[0] for d in deltas]
    seconds = dict.fromkeys(methods, 0.0)
    lp_failures = amp_diverged = 0
    for r in results:
        ks[r["i"], r["j"]] = r["k"]
        lp_failures += r["lp_failures"]
        amp_diverged += r["amp_diverged"]
        for m in methods:
            success[m][r["i"], r["j"]] = r["success"][m] / trials
            seconds[m] += r["seconds"][m]
    prob = {m: success[m].round(6).tolist() for m in methods}

    from ..solvers.amp import phase_transition_rho, phase_transition_threshold

    theory = [phase_transition_rho(d) for d in deltas]
    curve = tuple(list(v) for v in _theory_curve())
    crossings = {m: [empirical_transition(rhos, row) for row in prob[m]] for m in methods}

    names = " and ".join({"l1": "L1 minimization", "amp": "AMP"}[m] for m in methods)
    title = f"Phase transition of {names} (noiseless, Gaussian A): n = {n}, {trials} trials per cell"
    figure = out / f"{NAME}.png"
    _plot(figure, methods, deltas, rhos, prob, curve, crossings, title)

    data: dict[str, Any] = {
        "study": NAME,
        "suite": suite,
        "methods": list(methods),
        "n": n,
        "trials": trials,
        "seed": seed,
        "deltas": deltas,
        "rhos": rhos,
        "m": ms,
        "k": ks.tolist(),
        "success_tol": SUCCESS_TOL,
        "signal": "exactly k-sparse, uniformly random support, i.i.d. N(0, 1) amplitudes (signed)",
        "matrix": "i.i.d. N(0, 1/m) entries, a fresh matrix per trial",
        "amp": {
            "num_iter": config["amp_iter"],
            "diverged_trials": amp_diverged,
            "alpha": [phase_transition_threshold(d) for d in deltas],
        },
        "success": prob,
        "empirical_rho50": crossings,
        "theory": {"rho_se": theory, "curve_delta": curve[0], "curve_rho": curve[1]},
        "lp_failures": lp_failures,
        "timings": {
            "wall_seconds": round(wall, 3),
            "jobs": jobs,
            **{f"{m}_seconds": round(seconds[m], 3) for m in methods},
        },
    }
    write_atomic(out / f"{NAME}.json", json.dumps(data, indent=1))

    parts = {
        "l1": "basis pursuit min ‖x‖₁ s.t. Ax = y, solved exactly as a linear program (SciPy linprog, HiGHS)",
        "amp": (
            f"AMP with soft thresholding at the minimax threshold α*(δ) times the estimated noise level "
            f"(Donoho, Maleki & Montanari, PNAS 2009), noise level estimated as ‖z_t‖/√m, "
            f"{config['amp_iter']} iterations, the final iterate scored"
        ),
    }
    caption = (
        f"Empirical success probability of noiseless sparse recovery over a {len(deltas)} × {len(rhos)} "
        f"grid of δ = m/n ∈ [{deltas[0]:g}, {deltas[-1]:g}] and ρ = k/m ∈ [{rhos[0]:g}, {rhos[-1]:g}] "
        f"(cell centres), {trials} trials per cell, n = {n}, seed {seed}. Each trial draws a fresh m × n "
        f"matrix A with i.i.d. N(0, 1/m) entries (m = round(δn)) and an exactly k-sparse x "
        f"(k = round(ρm), at least 1) with a uniformly random support and i.i.d. N(0, 1) nonzero "
        f"amplitudes (random signs), and measures y = Ax without noise (at small m the rounding makes k/m "
        f"differ from the nominal ρ; the JSON lists k per cell). Methods: "
        + "; ".join(parts[m] for m in methods)
        + ". Both methods solve the same trials. A trial is a success when ‖x̂ − x‖/‖x‖ < 10⁻²; the gray "
        "level is the fraction of successes (white: always). The red curve is ρ_SE(δ), the minimax "
        "state-evolution transition of AMP, which equals Donoho and Tanner's weak threshold of L1 "
        "minimization; the orange dots are the empirical 50 % crossings along ρ (table below). "
        f"Run time {wall:.1f} s ({jobs} process{'es' if jobs > 1 else ''}; "
        + ", ".join(f"{m.upper()} {seconds[m]:.1f} s of compute" for m in methods)
        + ")."
    )
    if "amp" in methods:
        caption += (
            f" AMP's final iterate diverged (relative error > {DIVERGED:g}) in {amp_diverged} of "
            f"{len(tasks) * trials} trials, some of them below the curve: at finite n the undamped iteration "
            f"is unstable in a few percent of trials."
        )
    if lp_failures:
        caption += f" The LP solver reported no optimum in {lp_failures} trial(s), counted as failures."
    return StudyResult(
        name=NAME,
        title=title,
        caption=caption,
        figures=[figure],
        data=data,
        tables=[_table(methods, deltas, rhos, ms, theory, prob, crossings)],
    )


def _run_tasks(tasks: list[tuple], jobs: int, progress: bool) -> list[dict[str, Any]]:
    """Run the cells in this process (``jobs == 1``) or in a pool of ``jobs`` one-thread workers."""
    cells = imap_unordered(_run_cell, tasks, jobs=jobs, threads=1, progress=progress, desc=NAME, unit="cell")
    return [result for _, result in cells]
