"""Speed of the multi-coil MRI operator against the bare FFTs it needs (15 coils, 320 x 320, complex64).

Issue 2 target: forward + adjoint within 1.3x of one batched ``fft2`` plus one batched ``ifft2`` of the coil
data. Also times the operator's batched path (whole-tensor passes; what runs under autograd and on GPUs) and
a plain implementation with ``fftshift`` copies: the "before" of the shift folding and of the CPU coil loop.

Run: ``.venv/bin/python benchmarks/bench_mri.py [--repeats 50] [--threads 2] [--coils 15] [--size 320]``
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys

import torch
from _timing import interleaved_times

from inverselab.operators.mri import (
    MultiCoilMRI,
    coil_sensitivity_maps,
    fft2c,
    ifft2c,
    random_kspace_mask,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--coils", type=int, default=15)
    parser.add_argument("--size", type=int, default=320)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    C, N = args.coils, args.size

    maps = coil_sensitivity_maps(C, (N, N), dtype=torch.complex64)
    mask = random_kspace_mask((N, N), 4, 0.08, generator=0)
    A = MultiCoilMRI(maps, mask)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 1, N, N, dtype=torch.complex64, generator=gen)
    y = A(x)
    coil_data = torch.randn(1, C, N, N, dtype=torch.complex64, generator=gen)
    m = mask.to(torch.complex64)
    maps_conj = maps.conj()

    def plain_forward():
        return m * fft2c(maps * x)

    def plain_adjoint():
        return (maps_conj * ifft2c(m * y)).sum(1, keepdim=True)

    def batched(fn, arg):
        with torch.enable_grad():  # a tensor that requires grad takes the batched (autograd) path
            return fn(arg.detach().requires_grad_(True))

    fns = {
        "bare fft2": lambda: torch.fft.fft2(coil_data, norm="ortho"),
        "bare ifft2": lambda: torch.fft.ifft2(coil_data, norm="ortho"),
        "forward": lambda: A(x),
        "adjoint": lambda: A.adjoint(y),
        "batched-path forward": lambda: batched(A, x),
        "batched-path adjoint": lambda: batched(A.adjoint, y),
        "plain forward (fftshift)": plain_forward,
        "plain adjoint (fftshift)": plain_adjoint,
    }
    with torch.no_grad():
        times = interleaved_times(fns, args.repeats, warmup=5)
    med = {k: statistics.median(v) for k, v in times.items()}
    low = {k: min(v) for k, v in times.items()}

    print(f"$ {shlex.join([sys.executable, *sys.argv])}")
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"{C} coils x {N}x{N} complex64, 4x mask"
    )
    print(f"{'':28s} {'median ms':>10s} {'min ms':>8s}")
    for k in fns:
        print(f"{k:28s} {med[k]:10.2f} {low[k]:8.2f}")
    bare = med["bare fft2"] + med["bare ifft2"]
    ours = med["forward"] + med["adjoint"]
    plain = med["plain forward (fftshift)"] + med["plain adjoint (fftshift)"]
    bare_min = low["bare fft2"] + low["bare ifft2"]
    ours_min = low["forward"] + low["adjoint"]
    print(f"forward + adjoint: {ours:.2f} ms vs bare FFTs {bare:.2f} ms -> ratio {ours / bare:.2f} (median)")
    print(
        f"                   {ours_min:.2f} ms vs bare FFTs {bare_min:.2f} ms -> "
        f"ratio {ours_min / bare_min:.2f} (min)"
    )
    batch = med["batched-path forward"] + med["batched-path adjoint"]
    ratios = [
        (f + a) / (bf + ba)
        for f, a, bf, ba in zip(
            times["forward"], times["adjoint"], times["bare fft2"], times["bare ifft2"], strict=True
        )
    ]
    print(f"per-round ratio (adjacent calls): median {statistics.median(ratios):.2f}")
    print(f"batched path (autograd/GPU): {batch:.2f} ms -> ratio {batch / bare:.2f} (median)")
    print(f"plain fftshift implementation: {plain:.2f} ms -> ratio {plain / bare:.2f} (median)")


if __name__ == "__main__":
    main()
