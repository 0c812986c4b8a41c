"""NMSE (dB) per layer / iteration on ``cs-sparse-250x500``: ISTA, FISTA, AMP and trained LISTA-family models.

The problem of the LISTA papers: the preset's 250x500 Gaussian matrix with unit-norm columns (drawn from the
preset seed ``--matrix-seed``, the matrix the models were trained for), Bernoulli(0.1)-Gaussian vectors,
noiseless (or ``--snr-db``). ``--num`` held-out vectors are drawn from ``--seed`` (keep it apart from the
training seeds ``s`` and ``s + 1``). Classical solvers start from ``x_0 = 0`` like the networks: ISTA and
FISTA for ``½‖Ax - y‖² + lam‖x‖₁`` with step ``1/‖A‖²`` (``--lam``, 0.1 as in REFERENCES.md), AMP with
threshold ``1 x`` the residual-based noise estimate. Each trained model is given as a weights name or path
(``--weights``); a model whose matrix is not the preset's is reported and skipped.

Prints a Markdown table (one row per layer / iteration) and, with ``--png FILE`` and matplotlib installed, a
plot of the curves.

Run: ``.venv/bin/python benchmarks/bench_lista.py --weights lista-cp.safetensors alista.safetensors``
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

from inverselab.functionals import L1
from inverselab.noise import make_generator
from inverselab.solvers.amp import amp
from inverselab.solvers.proximal_gradient import fista, ista
from inverselab.training.sparse_coding import evaluate_nmse_db, sparse_coding_batch, sparse_coding_matrix


def _nmse_db(x: torch.Tensor, x_true: torch.Tensor) -> float:
    err = float(((x.double() - x_true.double()) ** 2).sum()) / float((x_true.double() ** 2).sum())
    return 10 * math.log10(max(err, 1e-300))


def classical_curves(A, x, y, layers: int, lam: float) -> dict[str, list[float]]:
    """Per-iteration NMSE (dB) of ISTA, FISTA (from 0, step 1/‖A‖²) and AMP (alpha = 1)."""
    step = 1 / float(torch.linalg.matrix_norm(A.matrix, ord=2)) ** 2
    curves = {}
    for name, solver in (("ISTA", ista), ("FISTA", fista)):
        values: list[float] = []
        solver(
            y, A, L1(lam), step=step, x0=torch.zeros_like(x), num_iter=layers, tol=0,
            callback=lambda k, v, values=values: values.append(_nmse_db(v, x)),
        )  # fmt: skip
        curves[f"{name} (lam={lam:g})"] = values
    curves["AMP"] = amp(y, A, num_iter=layers, tol=0, x_true=x).history["nmse_db"]
    return curves


def model_curve(weights: str, A, x, y) -> tuple[str, list[float], str]:
    """Per-layer NMSE (dB) of the model saved as ``weights``; ``(label, curve, note)``. The label is the
    model kind, ``tied`` for a tied LISTA-CP(SS), ``analytic start`` for ``init="analytic"``, and
    ``shipped`` for shipped weights."""
    from inverselab.training.checkpoints import read_sidecar
    from inverselab.weights import find_weights, list_weights, load_model

    path = find_weights(weights)
    meta = read_sidecar(path)
    net = load_model(path)
    net.check_matrix(A)
    curve = evaluate_nmse_db(net, y.to(net.A.dtype), x.to(net.A.dtype))
    train_s = (meta.get("metrics") or {}).get("train_seconds")
    note = f"{path.name}" + (f" (trained in {train_s:.0f} s)" if train_s else "")
    shipped = any(Path(row["path"]).resolve() == path.resolve() for row in list_weights())
    config = meta.get("network_config") or {}
    label = str(meta.get("model", path.stem)) + (" tied" if config.get("tied") else "")
    label += " (analytic start)" if config.get("init") == "analytic" else ""
    label += " without support selection" if config.get("p") == 0 else ""
    return label + (" (shipped)" if shipped else ""), curve, note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", nargs="*", default=[], help="trained models (names or .safetensors)")
    parser.add_argument("--num", type=int, default=1000, help="held-out vectors")
    parser.add_argument("--seed", type=int, default=1234, help="seed of the held-out vectors")
    parser.add_argument("--matrix-seed", type=int, default=0, help="preset seed of the matrix")
    parser.add_argument("--layers", type=int, default=16, help="iterations of the classical solvers")
    parser.add_argument("--lam", type=float, default=0.1, help="L1 weight of ISTA / FISTA")
    parser.add_argument("--snr-db", type=float, default=None, help="measurement SNR (default noiseless)")
    parser.add_argument("--png", default=None, help="also plot the curves to this PNG (needs matplotlib)")
    args = parser.parse_args(argv)

    A = sparse_coding_matrix("cs-sparse-250x500", args.matrix_seed)
    x, y = sparse_coding_batch(A.matrix, args.num, make_generator(args.seed), snr_db=args.snr_db)
    x, y = x.float(), y.float()
    A32 = A.float()
    start = time.perf_counter()
    curves = classical_curves(A32, x, y, args.layers, args.lam)
    notes = [f"classical solvers: {time.perf_counter() - start:.2f} s"]
    for weights in args.weights:
        try:
            label, curve, note = model_curve(weights, A, x, y)
        except (OSError, ValueError) as err:
            print(f"skipping {weights}: {err}", file=sys.stderr)
            continue
        while label in curves:
            label += "'"
        curves[label] = curve
        notes.append(note)

    snr = "noiseless" if args.snr_db is None else f"SNR {args.snr_db:g} dB"
    print(f"\n## cs-sparse-250x500, {snr}: NMSE (dB) per layer / iteration, {args.num} held-out vectors")
    print(f"matrix seed {args.matrix_seed}, vector seed {args.seed}; " + "; ".join(notes))
    names = list(curves)
    print("| layer | " + " | ".join(names) + " |")
    print("|------:|" + "|".join("-" * (len(n) + 1) + ":" for n in names) + "|")
    rows = max(len(c) for c in curves.values())
    for k in range(rows):
        cells = [f"{c[k]:.1f}" if k < len(c) else "" for c in curves.values()]
        print(
            f"| {k + 1:5d} | "
            + " | ".join(f"{v:>{len(n)}}" for v, n in zip(cells, names, strict=True))
            + " |"
        )

    if args.png:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed: no plot", file=sys.stderr)
            return 0
        fig, ax = plt.subplots(figsize=(9, 4.5))
        colors = plt.get_cmap("tab20").colors  # distinct colours for up to 20 curves
        for i, (name, curve) in enumerate(curves.items()):
            style = dict(color=colors[(2 * i) % 20 + (i // 10) % 2], marker="os^dv"[i % 5], markersize=3)
            ax.plot(range(1, len(curve) + 1), curve, label=name, **style)
        ax.set_xlabel("layer / iteration")
        ax.set_ylabel("NMSE (dB)")
        ax.set_title(f"cs-sparse-250x500, {snr}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
        fig.savefig(args.png, dpi=120)
        print(f"plot: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
