"""Contract-test factories for :mod:`inverselab.operators.phase_retrieval`.

References: the Gaussian matrix itself; for coded diffraction, ``numpy.fft.fft(n)`` matrices times the
operator's own masks (the masks are random; the transform is what is checked).
"""

import numpy as np
import torch

from inverselab.operators import CodedDiffraction, GaussianSensingMatrix

from ..registry import Case, register


def dense_cdp(A) -> torch.Tensor:
    d = torch.view_as_complex(A.masks.contiguous()).numpy()  # (L, *spatial)
    spatial = d.shape[1:]
    F = np.ones((1, 1))
    for size in spatial:
        F = np.kron(F, np.fft.fft(np.eye(size)))
    C = A.in_shape[0] if len(A.in_shape) > len(spatial) else 1
    blocks = [np.kron(np.eye(C), F @ np.diag(dl.reshape(-1))) for dl in d]
    return torch.from_numpy(np.concatenate(blocks, axis=0))


@register(GaussianSensingMatrix)
def gaussian_sensing_complex():
    A = GaussianSensingMatrix((1, 3, 3), 20, generator=1)
    return Case(A, dense=A.dense(torch.complex128).clone())


@register(GaussianSensingMatrix, name="gaussian-sensing-real")
def gaussian_sensing_real():
    A = GaussianSensingMatrix(6, 15, complex=False, generator=2)
    return Case(A, dense=A.dense(torch.float64).clone())


@register(CodedDiffraction)
def cdp_image():
    A = CodedDiffraction((1, 4, 6), 3, generator=3)
    return Case(A, dense=dense_cdp(A))


@register(CodedDiffraction, name="cdp-channels-phase-masks")
def cdp_channels():
    A = CodedDiffraction((2, 4, 4), 2, mask="phase", generator=4)
    return Case(A, dense=dense_cdp(A))


@register(CodedDiffraction, name="cdp-vector")
def cdp_vector():
    A = CodedDiffraction(10, 4, generator=5)
    return Case(A, dense=dense_cdp(A))
