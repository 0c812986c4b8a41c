"""The shipped DRUNet denoiser at sigma = 25/255 beside BM3D, TV and wavelet thresholding, with CPU times.

Held-out images: the bench's natural test images (``camera``, ``astronaut``, ``coins``, ``moon``), grayscale,
at ``--size`` px (default 256), one noise draw each (seed 0), the same for every method. BM3D needs the
optional ``bm3d`` package (``pip install bm3d``); without it its column is left out.

    python benchmarks/bench_denoiser.py [--size 256] [--threads 2]

Prints a Markdown table: PSNR per image and method, the mean, and the mean seconds per image.
"""

from __future__ import annotations

import argparse
import time

import torch

from inverselab.bench.suites import NATURAL_TEST
from inverselab.methods import get_method
from inverselab.metrics import psnr
from inverselab.presets import get_preset, make_problem

SIGMA = 25 / 255


def methods() -> dict:
    preset = get_preset("denoise-sigma25")
    out = {
        "TV (tv-admm)": get_method("tv-admm", **preset.method_params("tv-admm")),
        "wavelet-L1 (fista-wavelet)": get_method("fista-wavelet", **preset.method_params("fista-wavelet")),
        "DRUNet (shipped)": get_method("drunet", sigma=SIGMA),
        "DRUNet, sigma estimated": get_method("drunet"),
        "DRUNet x8 self-ensemble": get_method("drunet", sigma=SIGMA, self_ensemble=True),
    }
    try:
        from inverselab.denoisers import BM3DDenoiser

        bm3d = BM3DDenoiser()
        out["BM3D"] = lambda y, A: bm3d(y, SIGMA)
    except ImportError:
        print("(bm3d is not installed: pip install bm3d to add BM3D)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    table = methods()
    scores = {name: [] for name in ["noisy input", *table]}
    seconds = {name: [] for name in table}
    for image in NATURAL_TEST:
        p = make_problem("denoise-sigma25", sample=image, size=args.size, seed=0)
        scores["noisy input"].append(float(psnr(p.y.clamp(0, 1), p.x_true)))
        for name, method in table.items():
            method(p.y[..., :32, :32], get_preset("denoise-sigma25").build((1, 32, 32), None)[0])  # warm up
            start = time.process_time()
            with torch.no_grad():
                x = method(p.y, p.A)
            seconds[name].append(time.process_time() - start)
            scores[name].append(float(psnr(x.clamp(0, 1), p.x_true)))
    print(f"Denoising at sigma = 25/255, {args.size} x {args.size} grayscale, {args.threads} torch threads")
    print("(CPU seconds per image: process time, all threads)\n")
    print("| method | " + " | ".join(NATURAL_TEST) + " | mean PSNR | CPU s / image |")
    print("|---" * (len(NATURAL_TEST) + 3) + "|")
    for name, values in scores.items():
        t = f"{sum(seconds[name]) / len(seconds[name]):.2f}" if name in seconds else "-"
        cells = " | ".join(f"{v:.2f}" for v in values)
        print(f"| {name} | {cells} | {sum(values) / len(values):.2f} | {t} |")


if __name__ == "__main__":
    main()
