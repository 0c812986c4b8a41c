"""Speed and exactness of the parallel-beam CT operator (256 x 256 image, 180 angles by default).

Issue 2 target: forward + adjoint under 100 ms together with 2 threads, float64 dot test < 1e-10. Prints the
matrix build time, forward/adjoint times for batch 1 and batch 8 (torch's CSR matmul, what the operator uses),
the same products with SciPy's single-threaded CSR kernel for comparison, and the dot-test errors.

Run: ``.venv/bin/python benchmarks/bench_ct.py [--size 256] [--angles 180] [--repeats 20] [--threads 2]``
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time

import torch
from _timing import interleaved_times

from inverselab.operators import ParallelBeamCT, check_adjoint, sparse_view_angles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--angles", type=int, default=180)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    N = args.size

    start = time.perf_counter()
    A = ParallelBeamCT(N, sparse_view_angles(args.angles))
    build = time.perf_counter() - start
    megabytes = sum(b.numel() * b.element_size() for b in A.buffers()) / 2**20

    gen = torch.Generator().manual_seed(0)
    x1, x8 = (torch.rand(b, 1, N, N, generator=gen) for b in (1, 8))
    y1, y8 = A(x1), A(x8)

    fwd, adj = A.scipy_matrix(), A.scipy_matrix(transpose=True)
    cols1, cols8 = x1.reshape(1, -1).numpy()[0], x8.reshape(8, -1).T.contiguous().numpy()
    rows1, rows8 = y1.reshape(1, -1).numpy()[0], y8.reshape(8, -1).T.contiguous().numpy()

    fns = {
        "forward, batch 1": lambda: A(x1),
        "adjoint, batch 1": lambda: A.adjoint(y1),
        "forward, batch 8": lambda: A(x8),
        "adjoint, batch 8": lambda: A.adjoint(y8),
        "SciPy CSR forward, batch 1": lambda: fwd @ cols1,
        "SciPy CSR adjoint, batch 1": lambda: adj @ rows1,
        "SciPy CSR forward, batch 8": lambda: fwd @ cols8,
        "SciPy CSR adjoint, batch 8": lambda: adj @ rows8,
    }
    with torch.no_grad():
        times = interleaved_times(fns, args.repeats)
    med = {k: statistics.median(v) for k, v in times.items()}
    low = {k: min(v) for k, v in times.items()}

    start = time.perf_counter()
    dot64 = check_adjoint(A, dtype=torch.float64)
    dot_seconds = time.perf_counter() - start
    dot32 = check_adjoint(A, dtype=torch.float32)

    print(f"$ {shlex.join([sys.executable, *sys.argv])}")
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}; {N}x{N} image, {args.angles} angles, "
        f"{A.num_detectors} detectors"
    )
    print(f"matrix build: {build:.2f} s; nnz {A.nnz:,}; buffers {megabytes:.0f} MB (matrix + transpose)")
    print(f"{'':28s} {'median ms':>10s} {'min ms':>8s}")
    for k in fns:
        print(f"{k:28s} {med[k]:10.2f} {low[k]:8.2f}")
    total = med["forward, batch 1"] + med["adjoint, batch 1"]
    print(f"forward + adjoint, batch 1: {total:.1f} ms (median; target < 100 ms)")
    total8 = med["forward, batch 8"] + med["adjoint, batch 8"]
    print(f"forward + adjoint, batch 8: {total8:.1f} ms (median), {total8 / 8:.1f} ms per image")
    print(
        f"dot test: float64 {dot64:.1e} ({dot_seconds:.2f} s incl. casting the weights), float32 {dot32:.1e}"
    )


if __name__ == "__main__":
    main()
