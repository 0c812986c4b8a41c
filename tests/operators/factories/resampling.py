"""Contract-test factories for :mod:`inverselab.operators.resampling` (dense references built in NumPy)."""

import math

import numpy as np
import torch

from inverselab.operators import Downsampling

from ..registry import Case, register


def dense_downsampling(shape, factor, filter) -> torch.Tensor:
    """Row ``(c, i, j)`` holds the filter taps around pixel ``(f i, f j)`` on the periodic grid."""
    C, H, W = shape
    f = factor
    if filter == "box":
        taps = {(a, b): 1.0 / f**2 for a in range(f) for b in range(f)}  # block [f i, f i + f)
    else:
        sigma = f / 2
        r = math.ceil(3 * sigma)
        g = np.exp(-(np.arange(-r, r + 1) ** 2) / (2 * sigma**2))
        g2 = np.outer(g, g) / np.outer(g, g).sum()
        taps = {(a - r, b - r): g2[a, b] for a in range(2 * r + 1) for b in range(2 * r + 1)}
    h, w = H // f, W // f
    M = np.zeros((h * w, H * W))
    for i in range(h):
        for j in range(w):
            for (a, b), v in taps.items():
                M[i * w + j, ((f * i + a) % H) * W + (f * j + b) % W] += v
    return torch.from_numpy(np.kron(np.eye(C), M))


@register(Downsampling)
def down_gauss_x2():
    return Case(Downsampling((1, 8, 8), 2), dense=dense_downsampling((1, 8, 8), 2, "gaussian"))


@register(Downsampling, name="down-gauss-x3")
def down_gauss_x3():
    return Case(Downsampling((2, 6, 9), 3), dense=dense_downsampling((2, 6, 9), 3, "gaussian"))


@register(Downsampling, name="down-gauss-x4-folded")
def down_gauss_x4():
    # The 13 x 13 Gaussian is larger than the 8 x 8 image: it wraps around (still a circular convolution).
    return Case(Downsampling((1, 8, 8), 4), dense=dense_downsampling((1, 8, 8), 4, "gaussian"))


@register(Downsampling, name="down-box-x2")
def down_box_x2():
    return Case(Downsampling((2, 6, 4), 2, filter="box"), dense=dense_downsampling((2, 6, 4), 2, "box"))


@register(Downsampling, name="down-box-x4")
def down_box_x4():
    return Case(Downsampling((1, 8, 12), 4, filter="box"), dense=dense_downsampling((1, 8, 12), 4, "box"))
