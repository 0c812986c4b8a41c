"""Contract-test factories for :mod:`inverselab.operators.convolution` (dense references built in NumPy)."""

import numpy as np
import torch

from inverselab.operators import Convolution1D, gaussian_pulse, ricker_wavelet

from ..registry import Case, register


def circulant_1d(shape, kernel) -> torch.Tensor:
    """The matrix of circular convolution, ``(A x)[i] = sum_a k[a] x[i - a + h//2]`` per channel."""
    C, n = shape
    k = np.asarray(kernel, dtype=np.float64)
    h = k.size
    M = np.zeros((n, n))
    for i in range(n):
        for a in range(h):
            M[i, (i - a + h // 2) % n] += k[a]
    return torch.from_numpy(np.kron(np.eye(C), M))


@register(Convolution1D)
def convolution_ricker():
    k = ricker_wavelet(1.5)
    return Case(Convolution1D((1, 16), k), dense=circulant_1d((1, 16), k))


@register(Convolution1D, name="convolution-1d-gauss-channels")
def convolution_gauss():
    k = gaussian_pulse(1.0, size=5)
    return Case(Convolution1D((2, 9), k), dense=circulant_1d((2, 9), k))


@register(Convolution1D, name="convolution-1d-even-kernel")
def convolution_even():
    k = torch.tensor([0.5, -1.0, 2.0, 0.25], dtype=torch.float64)
    return Case(Convolution1D(7, k), dense=circulant_1d((1, 7), k))
