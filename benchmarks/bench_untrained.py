"""Untrained networks (Deep Decoder, Deep Image Prior, ConvDecoder) beside classical and trained methods.

Four studies, each printing a table (and writing JSON with ``--json``):

- ``denoise``: Gaussian noise sigma = 25/255 on a gray and a color image (``--images camera:gray
  astronaut:color``, ``--size``, default 256): ``deep-decoder``, ``dip``, BM3D (if the optional ``bm3d``
  package is installed; CBM3D on color), the shipped DRUNet (trained on gray images: color is denoised channel
  by channel) and TV, with PSNR, CPU seconds and wall seconds on ``--threads`` threads.
- ``compression``: the Deep Decoder as a compressed image: fitted to the *clean* image for a fixed budget,
  PSNR against its number of weights ``d k² + 2dk + kC``, beside keeping the same number of largest
  orthonormal wavelet (db4, periodized) coefficients.
- ``presets``: presets x methods x signals through ``make_problem`` and the presets' tuned parameters,
  e.g. inpainting and CS-MRI against TV and wavelet-L1, or the ConvDecoder against the trained U-Net on an
  image class the U-Net never saw (its training data were ellipse phantoms and crops of the training photos).
  Signals are sample names, ``ellipses:SEED`` (a random-ellipse phantom), ``leaves:SEED`` (a dead-leaves
  image) or ``digits:N`` (held-out test digit ``N``, upscaled); ``--grid METHOD.KEY=[v1,v2]`` runs every
  combination of the listed values (how the presets' untrained parameters were tuned, on images that are not
  test images).
- ``trajectory``: the over-fitting of untrained networks: one fit per network on a denoising problem run for
  the whole budget with the ground truth known, printing PSNR and held-out loss against the iteration, where
  the held-out early stopping stops and the best iterate; ``--figure`` saves the curves.

Every untrained fit reports the iteration whose estimate it returned (``stop``), the iterations it ran, and
the best PSNR along its path (``best``, known only because the truth is): the gap is the cost of stopping
without the ground truth.

Untrained methods are slow on a CPU (one network fit per image: per Adam step on one thread at 128x128,
Deep Decoder k=32 0.02 s, ConvDecoder 64 channels 0.12 s, Deep Image Prior 64 channels 0.2 s and 128
channels 0.5 s; about 4x that at 256x256), so each run can take many minutes.

Without arguments it runs the compression study at 128x128 with k = 8, 16, 32 and 1000 steps (a few
minutes).

Run:  python benchmarks/bench_untrained.py denoise [--size 256] [--param dip.channels=64]
      python benchmarks/bench_untrained.py compression [--size 256] [--channels 8 16 32 64] [--num-iter 3000]
      python benchmarks/bench_untrained.py presets --presets inpaint-half mri-4x \\
          --methods deep-decoder convdecoder tv-admm fista-wavelet unet --samples shepp_logan camera
      python benchmarks/bench_untrained.py trajectory --figure docs/figures/untrained-overfitting.png
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import json
import math
import os
import time

import torch

from inverselab.data import load_sample
from inverselab.methods import METHODS, get_method
from inverselab.metrics import psnr
from inverselab.noise import GaussianNoise, make_generator
from inverselab.operators import Identity
from inverselab.presets import get_preset

UNTRAINED = tuple(name for name, info in METHODS.items() if info.family == "untrained")


def overrides(pairs: list[str]) -> dict[str, dict]:
    """``METHOD.KEY=JSON`` pairs as ``{method: {key: value}}``."""
    out: dict[str, dict] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        method, _, key = name.partition(".")
        out.setdefault(method, {})[key] = json.loads(value)
    return out


@contextlib.contextmanager
def recording(metric=None):
    """Record every :func:`fit_untrained` call of the untrained methods: yields a list of ``(result, path)``
    with ``path`` the values of ``metric(x)`` for the estimate ``x`` of every iteration (empty without
    ``metric``)."""
    import inverselab.solvers.untrained as module

    original = module.fit_untrained
    fits = []

    def fit(y, A, net, *args, **kwargs):
        path: list[float] = []
        if metric is not None:
            kwargs["callback"] = lambda k, x: path.append(metric(x))
        res = original(y, A, net, *args, **kwargs)
        fits.append((res, path))
        return res

    module.fit_untrained = fit
    try:
        yield fits
    finally:
        module.fit_untrained = original


def fit_summary(fits) -> dict:
    """``stop`` (iteration returned), ``ran`` (iterations run) and ``best``/``best_at`` (best PSNR on the
    path, its iteration) of the first recorded fit, or an empty dict."""
    if not fits:
        return {}
    res, path = fits[0]
    out = {"stop": res.best_iter, "ran": res.num_iter}
    if path:
        k = max(range(len(path)), key=path.__getitem__)
        out.update(best=path[k], best_at=k + 1)
    return out


def fit_text(row: dict) -> str:
    if "stop" not in row:
        return ""
    text = f"  stop {row['stop']:>5}/{row['ran']:<5}"
    if "best" in row:
        text += f" (best path PSNR {row['best']:.2f} at {row['best_at']})"
    return text


def timed(fn, *args, metric=None):
    """``(x, cpu seconds, wall seconds, fit summary)`` of ``fn(*args)``."""
    with recording(metric) as fits:
        cpu, wall = time.process_time(), time.perf_counter()
        with torch.no_grad():
            x = fn(*args)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return x, cpu, wall, fit_summary(fits)


def score(x: torch.Tensor, x_true: torch.Tensor) -> float:
    x = x.abs() if x.is_complex() else x
    return float(psnr(x.clamp(0, 1), x_true, data_range=1.0)[0])


def _bm3d(y: torch.Tensor, A, *, sigma: float) -> torch.Tensor:
    """BM3D on gray images, CBM3D (``bm3d.bm3d_rgb``, decorrelated color space) on RGB ones."""
    import bm3d
    import numpy as np

    if y.shape[1] == 1:
        from inverselab.denoisers import BM3DDenoiser

        return BM3DDenoiser()(y, sigma)
    z = y[0].permute(1, 2, 0).double().numpy()
    out = bm3d.bm3d_rgb(z, sigma_psd=sigma)
    return torch.from_numpy(np.ascontiguousarray(out)).permute(2, 0, 1)[None].to(y.dtype)


def denoise(args, params) -> list[dict]:
    rows = []
    sigma = args.sigma / 255
    for spec in args.images:
        sample, _, mode = spec.partition(":")
        gray = mode != "color"
        x = load_sample(sample, size=args.size, gray=gray).unsqueeze(0)
        A = Identity(tuple(x.shape[1:]))
        y = GaussianNoise(sigma)(x, make_generator(1))
        label = f"{sample}{'' if gray else ' (color)'}"
        rows.append({"image": label, "method": "noisy", "psnr": score(y, x), "cpu": 0.0, "wall": 0.0})
        print(f"{label:>18} {'noisy':>14} {rows[-1]['psnr']:7.2f} dB", flush=True)
        makers = {
            "deep-decoder": lambda: get_method("deep-decoder", **params.get("deep-decoder", {})),
            "dip": lambda: get_method("dip", **params.get("dip", {})),
            "drunet": lambda: get_method("drunet", sigma=sigma),
            "tv-admm": lambda: get_method(
                "tv-admm",
                **{**get_preset("denoise-sigma25").method_params("tv-admm"), **params.get("tv-admm", {})},
            ),
            "bm3d": lambda: functools.partial(_bm3d, sigma=sigma),
        }
        for name in args.methods:
            if name == "bm3d":
                try:
                    import bm3d  # noqa: F401
                except ImportError:
                    print("(bm3d is not installed: pip install bm3d to include it)")
                    continue
            x_hat, cpu, wall, fit = timed(makers[name](), y, A, metric=lambda e, x=x: score(e, x))
            rows.append(
                {"image": label, "method": name, "psnr": score(x_hat, x), "cpu": cpu, "wall": wall, **fit}
            )
            r = rows[-1]
            print(
                f"{label:>18} {name:>14} {r['psnr']:7.2f} dB {cpu:8.1f} s CPU {wall:8.1f} s wall"
                f"{fit_text(r)}",
                flush=True,
            )
    return rows


def compression(args, params) -> list[dict]:
    from inverselab.functionals.wavelets import dwt2, idwt2
    from inverselab.networks import DeepDecoder
    from inverselab.solvers.untrained import fit_untrained

    x = load_sample(args.compression_image, size=args.size, gray=args.gray_compression).unsqueeze(0)
    C = x.shape[1]
    A = Identity(tuple(x.shape[1:]))
    coeffs = dwt2(x.double(), "db4", args.levels)
    rows = []
    print(
        f"{args.compression_image} {'gray' if C == 1 else 'color'} {args.size}x{args.size}: "
        f"{x.numel()} values"
    )
    for k in args.channels:
        net = DeepDecoder(args.size, out_channels=C, channels=k, num_layers=6, generator=0)
        n = net.num_parameters()
        cpu = time.process_time()
        fit = fit_untrained(x, A, net, num_iter=args.num_iter, early_stopping=None, generator=0)
        cpu = time.process_time() - cpu
        keep = coeffs.abs().flatten().topk(n).values.min()
        wavelet = idwt2(torch.where(coeffs.abs() >= keep, coeffs, 0), "db4", args.levels).float()
        rows.append(
            {"channels": k, "parameters": n, "ratio": x.numel() / n, "deep_decoder": score(fit.x, x),
             "wavelet": score(wavelet, x), "cpu": cpu}
        )  # fmt: skip
        r = rows[-1]
        print(
            f"k={k:>4} N={n:>7} (1/{r['ratio']:.1f} of the values): Deep Decoder {r['deep_decoder']:6.2f} "
            f"dB, {n} wavelet coefficients {r['wavelet']:6.2f} dB ({cpu:.0f} s CPU)",
            flush=True,
        )
    return rows


def load_signal(spec: str, size: int) -> torch.Tensor:
    """A signal ``(1, 1, size, size)``: a sample name, ``ellipses:SEED``, ``leaves:SEED`` or ``digits:N``."""
    from inverselab import data

    kind, _, arg = spec.partition(":")
    if kind == "ellipses" and arg:
        return data.random_ellipses(1, size, generator=int(arg))
    if kind == "leaves" and arg:
        return data.dead_leaves(1, size, generator=int(arg))
    if kind == "digits" and arg:
        return data.digits("test", size=size)[int(arg)].unsqueeze(0)
    return load_sample(spec, size=size, gray=True).unsqueeze(0)


def grid(pairs: list[str]) -> dict[str, list[dict]]:
    """``METHOD.KEY=[v1, v2]`` pairs as ``{method: [every combination of the values]}``."""
    values: dict[str, dict[str, list]] = {}
    for method, kw in overrides(pairs).items():
        values[method] = {k: v if isinstance(v, list) else [v] for k, v in kw.items()}
    return {
        m: [dict(zip(kv, combo, strict=True)) for combo in itertools.product(*kv.values())]
        for m, kv in values.items()
    }


def presets(args, params) -> list[dict]:
    from inverselab.presets import evaluate, make_problem

    grids = grid(args.grid)
    rows = []
    for name in args.presets:
        preset = get_preset(name)
        size = args.size or preset.size
        for sample in args.samples or [preset.sample]:
            p = make_problem(preset, load_signal(sample, size), seed=args.seed)

            def metric(x, p=p, preset=preset):
                x = x.abs() if x.is_complex() else x
                return float(psnr(x, p.x_true, data_range=preset.data_range)[0])

            for method in args.methods:
                if method not in METHODS:
                    raise SystemExit(f"unknown method {method!r}")
                base = {**preset.method_params(method), **params.get(method, {})}
                if METHODS[method].family == "learned" and method not in preset.all_methods and not base:
                    continue  # no shipped weights for this preset
                for extra in grids.get(method, [{}]):
                    kw = {**base, **extra}
                    x_hat, cpu, wall, fit = timed(get_method(method, **kw), p.y, p.A, metric=metric)
                    m = evaluate(x_hat, p.x_true, preset)
                    label = method + "".join(f" {k}={v}" for k, v in extra.items())
                    rows.append(
                        {"preset": name, "sample": sample, "method": method, "params": kw, **m, "cpu": cpu,
                         "wall": wall, **fit}
                    )  # fmt: skip
                    print(
                        f"{name:>16} {sample:>12} {label:>28} {m['psnr']:7.2f} dB  SSIM {m['ssim']:.3f} "
                        f"{cpu:7.1f} s CPU {wall:7.1f} s wall{fit_text(rows[-1])}",
                        flush=True,
                    )
    return rows


def stop_of(losses: list[float], patience: int) -> tuple[int, int]:
    """Where the held-out rule with ``patience`` stops on the loss path ``losses``: ``(returned, stopped)``
    iterations (1-based), as :func:`fit_untrained` does it."""
    best, best_at = math.inf, 0
    for k, loss in enumerate(losses, start=1):
        if loss < best:
            best, best_at = loss, k
        elif k - best_at >= patience:
            return best_at, k
    return best_at, len(losses)


def trajectory_study(args, params) -> list[dict]:
    from inverselab.methods.untrained import deep_decoder, dip

    x = load_sample(args.trajectory_image, size=args.size, gray=True).unsqueeze(0)
    A = Identity(tuple(x.shape[1:]))
    y = GaussianNoise(args.sigma / 255)(x, make_generator(1))
    noisy = score(y, x)
    print(f"{args.trajectory_image} {args.size}x{args.size}, sigma {args.sigma:g}/255: noisy {noisy:.2f} dB")
    defaults = {"dip": {"channels": 64}, "deep-decoder": {"channels": 32}}
    fns = {"dip": dip, "deep-decoder": deep_decoder}
    rows = []
    for name in args.methods:
        kw = {**defaults.get(name, {}), **params.get(name, {})}
        kw.update(num_iter=args.num_iter, patience=args.num_iter + 1)
        with recording(lambda e, x=x: score(e, x)) as fits:
            cpu = time.process_time()
            with torch.no_grad():
                fns[name](y, A, **kw)
            cpu = time.process_time() - cpu
        res, path = fits[0]
        h = res.history
        losses = h["holdout_loss"]
        returned, stopped = stop_of(losses, args.patience)
        best_at = max(range(len(path)), key=path.__getitem__) + 1
        row = {
            "method": name, "params": kw, "cpu": cpu, "psnr": path, "holdout_loss": losses,
            "objective": h["objective"], "stop": returned, "stopped_at": stopped,
            "stop_psnr": path[returned - 1], "best_at": best_at, "best": path[best_at - 1], "last": path[-1],
        }  # fmt: skip
        rows.append(row)
        print(
            f"\n{name} {kw} ({cpu:.0f} s CPU)\n"
            f"{'iter':>6} {'PSNR':>7} {'held-out loss':>14} {'data loss':>10}"
        )
        every = max(args.num_iter // 30, 1)
        for k in range(every, len(path) + 1, every):
            print(f"{k:>6} {path[k - 1]:7.2f} {losses[k - 1]:14.3e} {h['objective'][k - 1]:10.3e}")
        print(
            f"held-out early stopping (patience {args.patience}): stops at iteration {stopped}, returns "
            f"iteration {returned}: {row['stop_psnr']:.2f} dB; best iterate {best_at}: {row['best']:.2f} dB; "
            f"last ({len(path)}): {row['last']:.2f} dB",
            flush=True,
        )
    if args.figure:
        plot_trajectories(rows, noisy, args)
    return rows


def plot_trajectories(rows, noisy: float, args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    colors = {"dip": "tab:red", "deep-decoder": "tab:blue"}
    names = {"dip": "Deep Image Prior", "deep-decoder": "Deep Decoder"}
    for r in rows:
        c = colors.get(r["method"], None)
        iters = range(1, len(r["psnr"]) + 1)
        ax.plot(iters, r["psnr"], color=c, lw=1.2, label=f"{names.get(r['method'], r['method'])}")
        ax.plot([r["stop"]], [r["stop_psnr"]], "o", color=c, ms=6)
        ax.plot([r["best_at"]], [r["best"]], "*", color=c, ms=9, mfc="none")
    ax.axhline(noisy, color="gray", ls=":", lw=1, label=f"noisy input ({noisy:.1f} dB)")
    ax.plot([], [], "ko", ms=5, label="held-out early stop")
    ax.plot([], [], "k*", ms=8, mfc="none", label="best iterate (needs the truth)")
    lo = min(noisy, *(min(r["psnr"][len(r["psnr"]) // 20 :]) for r in rows)) - 1
    hi = max(r["best"] for r in rows) + 1
    ax.set_ylim(lo, hi)
    ax.set_xlabel("Adam iteration")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(
        f"Denoising {args.trajectory_image} {args.size}x{args.size}, sigma {args.sigma:g}/255: over-fitting",
        fontsize=10,
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(args.figure)
    print(f"figure: {args.figure}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "study", nargs="?", default="compression", choices=["denoise", "compression", "presets", "trajectory"]
    )
    ap.add_argument(
        "--size", type=int, help="image side (default: 256 denoise, 128 compression/trajectory, presets' own)"
    )
    ap.add_argument(
        "--sigma", type=float, default=25.0, help="denoise, trajectory: noise level in 8-bit units"
    )
    ap.add_argument(
        "--images", nargs="+", default=["camera:gray", "astronaut:color"], help="denoise: NAME:gray|color"
    )
    ap.add_argument("--compression-image", default="astronaut", help="compression: the image")
    ap.add_argument("--gray-compression", action="store_true", help="compression: use the gray version")
    ap.add_argument("--channels", type=int, nargs="+", default=[8, 16, 32], help="compression: k")
    ap.add_argument("--num-iter", type=int, default=1000, help="compression, trajectory: Adam steps per fit")
    ap.add_argument("--levels", type=int, default=4, help="compression: wavelet levels")
    ap.add_argument("--trajectory-image", default="camera", help="trajectory: the (gray) image")
    ap.add_argument("--patience", type=int, default=300, help="trajectory: the early-stopping patience shown")
    ap.add_argument("--figure", help="trajectory: save the PSNR curves here (PNG)")
    ap.add_argument("--presets", nargs="+", default=["inpaint-half", "mri-4x", "mri-8x-multicoil"])
    ap.add_argument("--methods", nargs="+", help="methods (default per study)")
    ap.add_argument(
        "--samples", nargs="+", help="presets: signals (default: each preset's own), see the module docstring"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--param", action="append", default=[], help="METHOD.KEY=JSON, e.g. dip.channels=64")
    ap.add_argument("--grid", action="append", default=[], help="presets: METHOD.KEY=[JSON values] to sweep")
    ap.add_argument("--json", help="write the rows here")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if args.size is None and args.study in ("denoise", "compression", "trajectory"):
        args.size = 256 if args.study == "denoise" else 128
    if args.methods is None:
        args.methods = {
            "denoise": ["deep-decoder", "dip", "drunet", "tv-admm", "bm3d"],
            "presets": ["deep-decoder", "convdecoder", "tv-admm", "fista-wavelet"],
            "trajectory": ["dip", "deep-decoder"],
            "compression": [],
        }[args.study]
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    torch.set_num_threads(args.threads)
    study = {
        "denoise": denoise,
        "compression": compression,
        "presets": presets,
        "trajectory": trajectory_study,
    }
    start = time.perf_counter()
    rows = study[args.study](args, overrides(args.param))
    print(f"({time.perf_counter() - start:.0f} s wall in all)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
