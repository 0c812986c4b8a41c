"""Contract-test factories for the linear operators of :mod:`inverselab.functionals`: the orthonormal wavelet
transform (dense reference built column by column with PyWavelets) and the periodic finite differences (dense
reference built in NumPy)."""

import warnings

import numpy as np
import pywt
import torch

from inverselab.functionals import FiniteDifference, Wavelet

from ..registry import Case, register


def pywt_wavelet_matrix(shape, wavelet, levels) -> torch.Tensor:
    """Matrix of the tiled periodized DWT, one PyWavelets transform per basis image."""
    C, H, W = shape
    n = H * W
    M = np.zeros((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = 1.0
        with warnings.catch_warnings():  # pywt warns when the level exceeds its boundary-free maximum
            warnings.simplefilter("ignore")
            coeffs = pywt.wavedec2(e.reshape(H, W), wavelet, mode="periodization", level=levels)
        M[:, j] = pywt.coeffs_to_array(coeffs)[0].ravel()
    return torch.from_numpy(np.kron(np.eye(C), M))


def finite_difference_matrix(shape) -> torch.Tensor:
    """Matrix of the periodic forward differences, output ordered (direction, channel, *spatial)."""
    C, *spatial = shape
    n = int(np.prod(spatial))
    blocks = []
    for k, size in enumerate(spatial):
        shift = np.eye(size, k=1)
        shift[-1, 0] = 1.0  # x[i + 1] with wrap-around
        diff_1d = shift - np.eye(size)
        factors = [np.eye(s) for s in spatial]
        factors[k] = diff_1d
        M = factors[0]
        for f in factors[1:]:
            M = np.kron(M, f)
        blocks.append(np.kron(np.eye(C), M))
    assert blocks[0].shape == (C * n, C * n)
    return torch.from_numpy(np.vstack(blocks))


@register(Wavelet, name="wavelet-db2")
def wavelet_db2():
    return Case(Wavelet((1, 8, 8), "db2", levels=2), dense=pywt_wavelet_matrix((1, 8, 8), "db2", 2))


@register(Wavelet, name="wavelet-db4-nonsquare-2ch")
def wavelet_db4():
    return Case(Wavelet((2, 8, 16), "db4", levels=3), dense=pywt_wavelet_matrix((2, 8, 16), "db4", 3))


@register(Wavelet, name="wavelet-haar")
def wavelet_haar():
    return Case(Wavelet((1, 4, 8), "haar", levels=1), dense=pywt_wavelet_matrix((1, 4, 8), "haar", 1))


@register(FiniteDifference, name="finite-difference-2d")
def finite_difference_2d():
    return Case(FiniteDifference((2, 4, 5)), dense=finite_difference_matrix((2, 4, 5)))


@register(FiniteDifference, name="finite-difference-1d")
def finite_difference_1d():
    return Case(FiniteDifference((1, 7)), dense=finite_difference_matrix((1, 7)))


@register(FiniteDifference, name="finite-difference-3d")
def finite_difference_3d():
    return Case(FiniteDifference((1, 3, 4, 2)), dense=finite_difference_matrix((1, 3, 4, 2)))
