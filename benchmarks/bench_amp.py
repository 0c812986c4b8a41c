"""AMP on the standard sparse-recovery problem, against its state evolution (and REFERENCES.md).

1. The ``cs-sparse-250x500`` setup (250x500 Gaussian matrix with unit-norm columns, Bernoulli(0.1)-Gaussian
   vectors, noiseless): AMP's NMSE in dB (pooled over the batch) at iterations 5, 10, 16, 30, next to the
   state-evolution prediction and the figures measured in REFERENCES.md (-29 dB at 16, -43 dB at 30).
2. Empirical AMP vs state evolution at N = 4000 (delta = 0.5, eps = 0.1, N(0, 1/m) entries).
3. The Donoho-Maleki-Montanari phase transition rho_SE(delta) and the minimax threshold z*.

Run: ``.venv/bin/python benchmarks/bench_amp.py [--num 1000] [--seed 0]``
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import torch

from inverselab.data.sparse import bernoulli_gaussian, sparse_cs_problem
from inverselab.operators.compressed_sensing import GaussianMatrix
from inverselab.solvers.amp import amp, phase_transition_rho, phase_transition_threshold, state_evolution

CHECKPOINTS = (5, 10, 16, 30)


def _pooled_nmse_db(errors: list[list[float]], energies: list[float]) -> list[float]:
    """Pool per-run NMSE histories (dB) weighted by each run's signal energy."""
    total = sum(energies)
    out = []
    for t in range(len(errors[0])):
        err = sum(10 ** (h[t] / 10) * e for h, e in zip(errors, energies, strict=True))
        out.append(10 * math.log10(err / total))
    return out


def cs_sparse_250x500(num: int, seed: int) -> None:
    A, x, y = sparse_cs_problem(m=250, n=500, sparsity=0.1, num=num, generator=seed)
    A = A.float()
    start = time.perf_counter()
    res = amp(y, A, alpha=1.0, num_iter=max(CHECKPOINTS), tol=0, x_true=x)
    seconds = time.perf_counter() - start
    alpha_star = phase_transition_threshold(0.5)
    res_star = amp(y, A, alpha=alpha_star, num_iter=max(CHECKPOINTS), tol=0, x_true=x)
    se = state_evolution(0.5, 0.1, alpha=1.0, num_iter=max(CHECKPOINTS))
    se_star = state_evolution(0.5, 0.1, alpha=alpha_star, num_iter=max(CHECKPOINTS))
    reference = {16: "-29", 30: "-43"}
    print(f"\n## cs-sparse-250x500: noiseless, {num} vectors, seed {seed}, float32")
    print(f"AMP, threshold = alpha x estimated tau; {max(CHECKPOINTS)} iterations in {seconds:.3f} s")
    print(f"| iter | AMP a=1 | SE a=1 | REFERENCES a=1 | AMP a=z*={alpha_star:.3f} | SE a=z* |")
    print("|-----:|--------:|-------:|---------------:|----------------:|--------:|")
    for t in CHECKPOINTS:
        print(
            f"| {t:4d} | {res.history['nmse_db'][t - 1]:7.1f} | {se.nmse_db[t - 1]:6.1f} | "
            f"{reference.get(t, ''):>14} | {res_star.history['nmse_db'][t - 1]:15.1f} | "
            f"{se_star.nmse_db[t - 1]:7.1f} |"
        )


def empirical_vs_state_evolution(seed: int, n: int = 4000, draws: int = 2, batch: int = 50) -> None:
    m, eps, num_iter = n // 2, 0.1, 16
    gen = torch.Generator().manual_seed(seed)
    histories, energies = [], []
    for _ in range(draws):
        A = GaussianMatrix(n, m, generator=gen).float()
        x = bernoulli_gaussian(batch, n, eps, gen)
        res = amp(A(x), A, num_iter=num_iter, tol=0, x_true=x)
        histories.append(res.history["nmse_db"])
        energies.append(float((x.double() ** 2).sum()))
    empirical = _pooled_nmse_db(histories, energies)
    se = state_evolution(m / n, eps, num_iter=num_iter)
    reference = {5: ("-12.4", "-12.3"), 10: ("-22.3", "-21.9"), 16: ("-34.0", "-32.4")}
    print(
        f"\n## AMP vs state evolution: N={n}, delta=0.5, eps=0.1, alpha=1, {draws} matrices x {batch} vectors"
    )
    print("| iter | AMP (dB) | SE (dB) | gap | REFERENCES SE / AMP |")
    print("|-----:|---------:|--------:|----:|--------------------:|")
    for t in range(1, num_iter + 1):
        ref = " / ".join(reference[t]) if t in reference else ""
        print(
            f"| {t:4d} | {empirical[t - 1]:8.2f} | {se.nmse_db[t - 1]:7.2f} | "
            f"{empirical[t - 1] - se.nmse_db[t - 1]:+.2f} | {ref:>19} |"
        )


def phase_transition_table() -> None:
    print("\n## Donoho-Maleki-Montanari phase transition rho_SE(delta) (REFERENCES.md values in brackets)")
    ref = {0.1: (0.1894, 0.2410), 0.2: (0.2433, 0.3259), 0.5: (0.3857, 0.5582), 0.9: (0.6782, 0.9027)}
    print("| delta | signed rho (z*) | nonnegative rho (z*) |")
    print("|------:|----------------:|---------------------:|")
    for delta, (rs, rn) in ref.items():
        cells = []
        for signed, published in ((True, rs), (False, rn)):
            rho, z = phase_transition_rho(delta, signed), phase_transition_threshold(delta, signed)
            cells.append(f"{rho:.4f} [{published:.4f}] ({z:.3f})")
        print(f"| {delta:5.2f} | {cells[0]:>15} | {cells[1]:>20} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=1000, help="vectors in the cs-sparse-250x500 batch")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("command:", " ".join([".venv/bin/python", *sys.argv]))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    cs_sparse_250x500(args.num, args.seed)
    empirical_vs_state_evolution(args.seed)
    phase_transition_table()


if __name__ == "__main__":
    main()
