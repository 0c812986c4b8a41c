"""Speed of the circular FFT blur: forward + adjoint on one 256x256 float32 image, Gaussian sigma=2.

Run: ``.venv/bin/python benchmarks/bench_blur.py`` (2 threads; prints the median of the repeats).
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import time

import torch

from inverselab.operators import Blur, gaussian_kernel


def timing_ms(fn, repeats: int, warmup: int = 10) -> str:
    """``"median ms (min ms)"`` over ``repeats`` calls; the minimum shows the cost without contention."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return f"{1e3 * statistics.median(times):.3f} ms (min {1e3 * min(times):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--sigma", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    load = os.getloadavg()
    n = args.size
    x = torch.rand(1, 1, n, n, generator=torch.Generator().manual_seed(0))
    A = Blur((1, n, n), gaussian_kernel(args.sigma))  # float64 buffers, cast to float32 on each call
    A32 = Blur((1, n, n), gaussian_kernel(args.sigma)).float()  # buffers already float32

    with torch.no_grad():
        both = timing_ms(lambda: A.adjoint(A(x)), args.repeats)
        both32 = timing_ms(lambda: A32.adjoint(A32(x)), args.repeats)
        fwd32 = timing_ms(lambda: A32(x), args.repeats)
        normal32 = timing_ms(lambda: A32.normal(x), args.repeats)
        bare = timing_ms(lambda: torch.fft.irfft2(torch.fft.rfft2(x), s=(n, n)), args.repeats)

    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"load average before the run: {load[0]:.2f} on {os.cpu_count()} cores")
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, image (1, 1, {n}, {n}) float32, "
        f"Gaussian sigma={args.sigma} ({tuple(A.kernel.shape)} kernel), median of {args.repeats}"
    )
    print(f"forward + adjoint (float64 buffers, cast per call): {both}")
    print(f"forward + adjoint (after A.float()):                {both32}")
    print(f"forward alone (after A.float()):                    {fwd32}")
    print(f"normal A^T A (one FFT pair, after A.float()):       {normal32}")
    print(f"bare rfft2 + irfft2 pair, for reference:            {bare}")


if __name__ == "__main__":
    main()
