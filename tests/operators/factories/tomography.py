"""Contract-test factories for :mod:`inverselab.operators.tomography`.

The dense reference is Joseph's projector written as plain scalar loops, independently of the vectorized
sparse-matrix construction; its weights are rounded to float32, the documented storage precision.
"""

import math

import numpy as np
import torch

from inverselab.operators import ParallelBeamCT, limited_angle_angles

from ..registry import Case, register


def joseph_dense(size, angles, num_detectors):
    """Row ``a * D + k``, column ``i * N + j``: weights of ray ``(a, k)`` on pixel ``(i, j)``."""
    N, D = size, num_detectors
    c0 = N // 2
    A = np.zeros((len(angles) * D, N * N))
    for a, theta in enumerate(angles):
        c, s = math.cos(theta), math.sin(theta)
        for k in range(D):
            t = k - D // 2
            for line in range(N):
                u = line - c0
                if abs(c) >= abs(s):  # ray crosses row `line` at column position p
                    p, step = (t + u * s) / c + c0, 1 / abs(c)
                else:  # ray crosses column `line` at row position p
                    p, step = (u * c - t) / s + c0, 1 / abs(s)
                lo = math.floor(p)
                for node, weight in ((lo, (1 - (p - lo)) * step), (lo + 1, (p - lo) * step)):
                    if 0 <= node < N:
                        pixel = line * N + node if abs(c) >= abs(s) else node * N + line
                        A[a * D + k, pixel] += weight
    return torch.from_numpy(A.astype(np.float32).astype(np.float64))


@register(ParallelBeamCT)
def ct_small():
    angles = [0.0, 0.4, math.pi / 4, 2.0, 2.9]
    A = ParallelBeamCT(8, angles)
    return Case(A, dense=joseph_dense(8, angles, A.num_detectors))


@register(ParallelBeamCT, name="ct-limited-angle-circle")
def ct_limited_angle_circle():
    angles = limited_angle_angles(90, 4).tolist()
    return Case(ParallelBeamCT(7, angles, num_detectors=7), dense=joseph_dense(7, angles, 7))
