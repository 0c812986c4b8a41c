"""CSGM vs Lasso as a function of the number of measurements (Bora et al. 2017, Fig. 1, at 32 px digits).

For each number of Gaussian measurements ``m`` (the ``cs-digits-32`` preset with ``sampling=m``: an
``m x 1024`` matrix with N(0, 1/m) entries, noise 0.01), held-out test digits are reconstructed by

- Lasso in the DCT basis (``fista-dct``) and TV (``tv-pdhg``), each with its regularization weight chosen per
  ``m`` on validation digits (never the test digits) from a grid;
- CSGM with the shipped VAE and GAN (``csgm-vae``, ``csgm-gan``, 10 restarts, 300 Adam steps).

It prints a table of the mean per-pixel squared error and PSNR, and draws the error against ``m`` (the
paper's plot): the generative prior wins by a wide margin at small ``m`` and plateaus at its representation
error, where the Lasso overtakes it.

Run:  python benchmarks/bench_csgm.py [--num 10] [--ms 10 25 50 ...] [--png docs/figures/csgm-vs-lasso.png]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from inverselab.data import digits
from inverselab.methods import get_method
from inverselab.presets import get_preset, make_problem

LASSO_GRID = {"fista-dct": (1e-3, 3e-3, 1e-2, 3e-2, 0.1), "tv-pdhg": (1e-3, 3e-3, 1e-2, 3e-2, 0.1)}


def per_pixel_mse(x: torch.Tensor, x_true: torch.Tensor) -> float:
    return float(((x.clamp(0, 1) - x_true) ** 2).mean())


def psnr(mse: float) -> float:
    return float(10 * torch.log10(torch.tensor(1.0 / max(mse, 1e-12))))


def tuned(method: str, m: int, val: torch.Tensor) -> float:
    """The grid's weight with the lowest mean error on the validation digits at ``m`` measurements."""
    best = None
    for lam in LASSO_GRID[method]:
        fn = get_method(method, lam=lam, num_iter=500)
        err = 0.0
        for i in range(val.shape[0]):
            p = make_problem("cs-digits-32", val[i : i + 1], seed=1000 + i, sampling=m)
            err += per_pixel_mse(fn(p.y, p.A), p.x_true)
        if best is None or err < best[0]:
            best = (err, lam)
    return best[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--num", type=int, default=10, help="test digits per m (default 10)")
    ap.add_argument("--ms", type=int, nargs="+", default=[10, 25, 50, 100, 200, 300, 500, 750])
    ap.add_argument("--vae", default="vae-digits", help="VAE weights (name or path)")
    ap.add_argument("--gan", default="gan-digits", help="GAN weights (name or path)")
    ap.add_argument("--png", help="write the plot here")
    ap.add_argument("--json", help="write the numbers here")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    test, val = digits("test")[: args.num], digits("validation")[:4]
    preset = get_preset("cs-digits-32")
    rows = {}
    print(f"{'m':>5} " + " ".join(f"{k:>22}" for k in ("fista-dct", "tv-pdhg", "csgm-vae", "csgm-gan")))
    for m in args.ms:
        methods = {
            "fista-dct": get_method("fista-dct", lam=tuned("fista-dct", m, val), num_iter=500),
            "tv-pdhg": get_method("tv-pdhg", lam=tuned("tv-pdhg", m, val), num_iter=500),
            "csgm-vae": get_method("csgm-vae", weights=args.vae, **preset.method_params("csgm-vae")),
            "csgm-gan": get_method("csgm-gan", weights=args.gan, **preset.method_params("csgm-gan")),
        }
        row = {}
        for name, fn in methods.items():
            errs, start = [], time.perf_counter()
            for i in range(test.shape[0]):
                p = make_problem("cs-digits-32", test[i : i + 1], seed=i, sampling=m)
                with torch.no_grad():
                    errs.append(per_pixel_mse(fn(p.y, p.A), p.x_true))
            mse = sum(errs) / len(errs)
            row[name] = {
                "mse": mse,
                "psnr": sum(psnr(e) for e in errs) / len(errs),
                "seconds": (time.perf_counter() - start) / len(errs),
                "lam": getattr(fn, "keywords", {}).get("lam"),
            }
        rows[m] = row
        print(f"{m:>5} " + " ".join(f"{r['mse']:.4f} ({r['psnr']:5.2f} dB)".rjust(22) for r in row.values()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({str(m): r for m, r in rows.items()}, f, indent=1)
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
        styles = {"fista-dct": "s--", "tv-pdhg": "^--", "csgm-vae": "o-", "csgm-gan": "D-"}
        labels = {
            "fista-dct": "Lasso (DCT)",
            "tv-pdhg": "TV",
            "csgm-vae": "CSGM, VAE",
            "csgm-gan": "CSGM, GAN",
        }
        for name, style in styles.items():
            ax.plot(args.ms, [rows[m][name]["mse"] for m in args.ms], style, label=labels[name])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("number of measurements m (n = 1024)")
        ax.set_ylabel("per-pixel squared error")
        ax.set_title(f"Compressed sensing of 32 px digits ({args.num} test digits)")
        ax.legend()
        ax.grid(alpha=0.3, which="both")
        fig.savefig(args.png, dpi=110)
        print(f"-> {args.png}")


if __name__ == "__main__":
    main()
