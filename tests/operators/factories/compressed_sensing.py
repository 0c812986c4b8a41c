"""Contract-test factories for :mod:`inverselab.operators.compressed_sensing`.

References: ``scipy.fft.dctn(norm="ortho")`` and ``scipy.linalg.hadamard(n) / sqrt(n)``, rows picked by the
operator's own ``indices`` (the selection is random; the transform is what is checked).
"""

import math

import numpy as np
import scipy.fft
import scipy.linalg
import torch

from inverselab.operators import GaussianMatrix, SubsampledDCT, SubsampledHadamard

from ..registry import Case, register


def dense_dct(A) -> torch.Tensor:
    n = math.prod(A.in_shape)
    basis = np.eye(n).reshape(n, *A.in_shape)
    axes = (-2, -1) if len(A.in_shape) >= 2 else (-1,)
    T = scipy.fft.dctn(basis, type=2, norm="ortho", axes=axes).reshape(n, n).T
    return torch.from_numpy(T)[A.indices]


def dense_hadamard(A) -> torch.Tensor:
    n = math.prod(A.in_shape)
    T = scipy.linalg.hadamard(n) / np.sqrt(n) * A.signs.numpy()[None, :]
    return torch.from_numpy(T)[A.indices]


@register(GaussianMatrix)
def gaussian_matrix():
    A = GaussianMatrix((1, 4, 4), 7, generator=3)
    return Case(A, dense=A.matrix.clone())


@register(GaussianMatrix, name="gaussian-matrix-unit-columns")
def gaussian_matrix_unit():
    A = GaussianMatrix(12, 6, generator=torch.Generator().manual_seed(4), normalize_columns=True)
    return Case(A, dense=A.matrix.clone())


@register(SubsampledDCT)
def dct_image():
    A = SubsampledDCT((2, 4, 6), fraction=0.5, generator=5, low_fraction=0.1)
    return Case(A, dense=dense_dct(A))


@register(SubsampledDCT, name="dct-2d")
def dct_2d():
    A = SubsampledDCT((6, 8), m=20, generator=6)
    return Case(A, dense=dense_dct(A))


@register(SubsampledDCT, name="dct-vector")
def dct_vector():
    A = SubsampledDCT(10, m=4, generator=7)
    return Case(A, dense=dense_dct(A))


@register(SubsampledHadamard)
def hadamard_image():
    A = SubsampledHadamard((2, 4, 4), m=11, generator=8)
    return Case(A, dense=dense_hadamard(A))


@register(SubsampledHadamard, name="hadamard-full")
def hadamard_full():
    A = SubsampledHadamard(16, fraction=1.0, generator=9)
    return Case(A, dense=dense_hadamard(A))
