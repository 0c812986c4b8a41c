"""Adler & Öktem's ellipse experiment at CPU scale: FBP, TV, FBP + U-Net and learned primal-dual on
``ct-ellipses-30`` (64 px, 30 angles, Gaussian noise 5% of the mean |ray sum|).

Test data: the Shepp-Logan phantom and ``--num`` held-out random ellipses (seed 1000000, never a training
seed), one noise draw each (seed 0). The networks are the weights given (names or paths; none ships for
this preset), all trained on random ellipses only:

    inverselab train ct-ellipses-30 --model lpd  --data ellipses --epochs 10 --steps 200 --batch-size 8 \\
        --patch 64 --num-train 2048 --weights-dtype float16
    inverselab train ct-ellipses-30 --model unet --data ellipses (same options)
    inverselab train ct-ellipses-30 --model lpd --net initial=fbp ... (same options: LPD started from FBP)

    python benchmarks/bench_primal_dual.py [--num 32] [--threads 2] [--unet W] [--lpd W [W ...]]

Prints a Markdown table: mean PSNR / SSIM on each test set and the seconds per image. The paper (128 px,
trained for hours on a GPU) reports FBP < TV < FBP + U-Net < learned primal-dual on ellipses.
"""

from __future__ import annotations

import argparse
import time

import torch

from inverselab.data import shepp_logan, training_images
from inverselab.methods import get_method
from inverselab.metrics import psnr, ssim
from inverselab.noise import make_generator
from inverselab.presets import get_preset

PRESET = "ct-ellipses-30"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=32, help="held-out ellipse images (default 32)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--unet", default="unet-ct-ellipses-30", help="U-Net weights (name or path)")
    parser.add_argument(
        "--lpd", nargs="+", default=["lpd-ct-ellipses-30"], help="learned primal-dual weights (one or more)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    p = get_preset(PRESET)
    size = p.size
    A, noise = p.build((1, size, size), make_generator(0))
    sets = {
        "Shepp-Logan": shepp_logan(size).reshape(1, 1, size, size).float(),
        f"{args.num} held-out ellipses": training_images("ellipses", args.num, size, 1_000_000),
    }
    methods = {
        "FBP": get_method("fbp"),
        "TV (tv-admm)": get_method("tv-admm", **p.method_params("tv-admm")),
        "FBP + U-Net": get_method("unet", weights=args.unet),
    }
    from inverselab.methods.learned import load_network

    for weights in args.lpd:
        start_from = getattr(load_network(weights), "initial", None)
        label = "learned primal-dual" + (f" from {start_from.upper()}" if start_from else " (f = 0 start)")
        methods[label] = get_method("lpd", weights=weights)
    rows = {name: {} for name in methods}
    for label, x in sets.items():
        y = noise(A(x), make_generator(0))
        for name, method in methods.items():
            method(y[:1], A)  # warm up (loads weights, caches the operator norm)
            start = time.perf_counter()
            with torch.no_grad():
                out = method(y, A).clamp(0, 1)
            seconds = (time.perf_counter() - start) / x.shape[0]
            rows[name][label] = (float(psnr(out, x).mean()), float(ssim(out, x).mean()), seconds)
    labels = list(sets)
    print(f"{PRESET}: {size} px, 30 angles, 5% relative noise; PSNR dB / SSIM; {args.threads} threads\n")
    print("| method | " + " | ".join(labels) + " | s / image |")
    print("|---|" + "---|" * (len(labels) + 1))
    for name, cols in rows.items():
        cells = [f"{cols[k][0]:.2f} / {cols[k][1]:.3f}" for k in labels]
        print(f"| {name} | " + " | ".join(cells) + f" | {cols[labels[-1]][2]:.3f} |")


if __name__ == "__main__":
    main()
