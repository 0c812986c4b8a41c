"""Untrained networks (Deep Decoder, Deep Image Prior, ConvDecoder) beside classical and trained methods.

Three studies, each printing a table (and writing JSON with ``--json``):

- ``denoise``: Gaussian noise sigma = 25/255 on a gray and a color image (``--size``, default 256):
  ``deep-decoder``, ``dip``, BM3D (if the optional ``bm3d`` package is installed), the shipped DRUNet and
  TV, with PSNR and wall-clock seconds on ``--threads`` threads.
- ``compression``: the Deep Decoder as a compressed image: fitted to the *clean* image for a fixed budget,
  PSNR against its number of weights ``d k² + 2dk + kC``, beside keeping the same number of largest
  orthonormal wavelet (db4) coefficients.
- ``presets``: any presets x methods x samples through ``make_problem`` and the presets' tuned parameters,
  e.g. inpainting and CS-MRI against TV and wavelet-L1, or the ConvDecoder against the trained U-Net on an
  image class the U-Net never saw (``--samples camera moon`` for ``mri-4x``; it was trained on ellipse
  phantoms and crops of other photos).

Untrained methods are slow on a CPU (one network fit per image: ~0.05 s per iteration for the Deep Decoder
and ~1 s for the paper's Deep Image Prior at 128x128 on one thread), so each run can take many minutes; use
``--size`` and the ``--param`` overrides (JSON values) to scale down.

Without arguments it runs the compression study at 128x128 with k = 8, 16, 32 and 1000 steps (a few
minutes).

Run:  python benchmarks/bench_untrained.py denoise [--size 256] [--param dip.channels=64]
      python benchmarks/bench_untrained.py compression [--size 256] [--channels 8 16 32 64] [--num-iter 3000]
      python benchmarks/bench_untrained.py presets --presets inpaint-half mri-4x \\
          --methods deep-decoder convdecoder tv-admm fista-wavelet unet --samples shepp_logan camera
"""

from __future__ import annotations

import argparse
import functools
import json
import time

import torch

from inverselab.data import load_sample
from inverselab.methods import METHODS, get_method
from inverselab.metrics import psnr
from inverselab.noise import GaussianNoise, make_generator
from inverselab.operators import Identity
from inverselab.presets import get_preset


def overrides(pairs: list[str]) -> dict[str, dict]:
    """``METHOD.KEY=JSON`` pairs as ``{method: {key: value}}``."""
    out: dict[str, dict] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        method, _, key = name.partition(".")
        out.setdefault(method, {})[key] = json.loads(value)
    return out


def timed(fn, *args):
    start = time.perf_counter()
    with torch.no_grad():
        x = fn(*args)
    return x, time.perf_counter() - start


def score(x: torch.Tensor, x_true: torch.Tensor) -> float:
    x = x.abs() if x.is_complex() else x
    return float(psnr(x.clamp(0, 1), x_true, data_range=1.0)[0])


def _bm3d(denoiser, sigma: float, y: torch.Tensor, A) -> torch.Tensor:
    return denoiser(y, sigma)


def denoise(args, params) -> list[dict]:
    rows = []
    for sample, gray in ((args.gray, True), (args.color, False)):
        x = load_sample(sample, size=args.size, gray=gray).unsqueeze(0)
        A = Identity(tuple(x.shape[1:]))
        y = GaussianNoise(args.sigma / 255)(x, make_generator(1))
        rows.append({"image": sample, "method": "noisy", "psnr": score(y, x), "seconds": 0.0})
        methods = {
            "deep-decoder": get_method("deep-decoder", **params.get("deep-decoder", {})),
            "dip": get_method("dip", **params.get("dip", {})),
            "drunet": get_method("drunet", sigma=args.sigma / 255),
            "tv-admm": get_method("tv-admm", **get_preset("denoise-sigma25").method_params("tv-admm")),
        }
        try:
            from inverselab.denoisers import BM3DDenoiser

            methods["bm3d"] = functools.partial(_bm3d, BM3DDenoiser(), args.sigma / 255)
        except ImportError:
            print("(bm3d is not installed: pip install bm3d to include it)")
        for name, fn in methods.items():
            x_hat, seconds = timed(fn, y, A)
            rows.append({"image": sample, "method": name, "psnr": score(x_hat, x), "seconds": seconds})
            print(f"{sample:>12} {name:>14} {rows[-1]['psnr']:7.2f} dB {seconds:9.1f} s", flush=True)
    return rows


def compression(args, params) -> list[dict]:
    from inverselab.functionals.wavelets import dwt2, idwt2
    from inverselab.networks import DeepDecoder
    from inverselab.solvers.untrained import fit_untrained

    x = load_sample(args.color, size=args.size, gray=args.gray_compression).unsqueeze(0)
    C = x.shape[1]
    A = Identity(tuple(x.shape[1:]))
    coeffs = dwt2(x.double(), "db4", args.levels)
    rows = []
    for k in args.channels:
        net = DeepDecoder(args.size, out_channels=C, channels=k, num_layers=6, generator=0)
        n = net.num_parameters()
        start = time.perf_counter()
        fit = fit_untrained(x, A, net, num_iter=args.num_iter, early_stopping=None, generator=0)
        seconds = time.perf_counter() - start
        keep = coeffs.abs().flatten().topk(n).values.min()
        wavelet = idwt2(torch.where(coeffs.abs() >= keep, coeffs, 0), "db4", args.levels).float()
        rows.append(
            {"channels": k, "parameters": n, "ratio": x.numel() / n, "deep_decoder": score(fit.x, x),
             "wavelet": score(wavelet, x), "seconds": seconds}
        )  # fmt: skip
        r = rows[-1]
        print(
            f"k={k:>4} N={n:>7} (1/{r['ratio']:.1f} of the values): Deep Decoder {r['deep_decoder']:6.2f} "
            f"dB, {n} wavelet coefficients {r['wavelet']:6.2f} dB ({seconds:.0f} s)",
            flush=True,
        )
    return rows


def presets(args, params) -> list[dict]:
    from inverselab.presets import evaluate, make_problem

    rows = []
    for name in args.presets:
        preset = get_preset(name)
        for sample in args.samples or [preset.sample]:
            p = make_problem(preset, sample=sample, size=args.size, seed=args.seed)
            for method in args.methods:
                if method not in METHODS:
                    raise SystemExit(f"unknown method {method!r}")
                if method == "unet" and "unet" not in preset.params:
                    continue  # no shipped weights for this preset
                kw = {**preset.method_params(method), **params.get(method, {})}
                x_hat, seconds = timed(get_method(method, **kw), p.y, p.A)
                m = evaluate(x_hat, p.x_true, preset)
                rows.append({"preset": name, "sample": sample, "method": method, **m, "seconds": seconds})
                print(
                    f"{name:>18} {sample:>12} {method:>14} {m['psnr']:7.2f} dB  SSIM {m['ssim']:.3f} "
                    f"{seconds:8.1f} s",
                    flush=True,
                )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study", nargs="?", default="compression", choices=["denoise", "compression", "presets"])
    ap.add_argument(
        "--size", type=int, help="image side (default: 256 denoise, 128 compression, presets' own)"
    )
    ap.add_argument("--sigma", type=float, default=25.0, help="denoise: noise level in 8-bit units")
    ap.add_argument("--gray", default="camera", help="denoise: the gray image")
    ap.add_argument("--color", default="astronaut", help="denoise, compression: the color image")
    ap.add_argument("--gray-compression", action="store_true", help="compression: use the gray version")
    ap.add_argument("--channels", type=int, nargs="+", default=[8, 16, 32], help="compression: k")
    ap.add_argument("--num-iter", type=int, default=1000, help="compression: Adam steps per fit")
    ap.add_argument("--levels", type=int, default=4, help="compression: wavelet levels")
    ap.add_argument("--presets", nargs="+", default=["inpaint-half", "mri-4x", "mri-8x-multicoil"])
    default_methods = ["deep-decoder", "convdecoder", "tv-admm", "fista-wavelet"]
    ap.add_argument("--methods", nargs="+", default=default_methods)
    ap.add_argument("--samples", nargs="+", help="presets: test images (default: each preset's own)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--param", action="append", default=[], help="METHOD.KEY=JSON, e.g. dip.channels=64")
    ap.add_argument("--json", help="write the rows here")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if args.size is None and args.study != "presets":
        args.size = 256 if args.study == "denoise" else 128
    torch.set_num_threads(args.threads)
    rows = {"denoise": denoise, "compression": compression, "presets": presets}[args.study](
        args, overrides(args.param)
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
