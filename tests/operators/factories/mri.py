"""Contract-test factories for :mod:`inverselab.operators.mri`; dense references built from NumPy's FFT."""

import numpy as np
import torch

from inverselab.operators import (
    MRI,
    MultiCoilMRI,
    coil_sensitivity_maps,
    equispaced_kspace_mask,
    random_kspace_mask,
)

from ..registry import Case, register


def centered_dft(n):
    """The centered orthonormal DFT matrix ``fftshift ∘ F ∘ ifftshift`` of size ``n``, from NumPy."""
    eye = np.eye(n)
    return np.fft.fftshift(np.fft.fft(np.fft.ifftshift(eye, axes=0), axis=0, norm="ortho"), axes=0)


def dense_mri(maps, mask):
    """``[diag(m) Fc diag(S_c)]_c`` stacked over coils (row-major pixel order)."""
    maps = np.asarray(maps, dtype=np.complex128)
    H, W = mask.shape
    F = np.kron(centered_dft(H), centered_dft(W))
    m = np.asarray(mask, dtype=np.float64).reshape(-1)
    blocks = [m[:, None] * F * maps[c].reshape(-1)[None, :] for c in range(maps.shape[0])]
    return torch.from_numpy(np.concatenate(blocks, axis=0))


@register(MRI)
def mri_single_coil():
    mask = random_kspace_mask((8, 8), 2, 0.25, generator=1)
    return Case(MRI((8, 8), mask), dense=dense_mri(np.ones((1, 8, 8)), mask.numpy()))


@register(MRI, name="mri-single-coil-odd")
def mri_single_coil_odd():
    mask = equispaced_kspace_mask((7, 9), 3, 0.2, generator=2)
    return Case(MRI((1, 7, 9), mask), dense=dense_mri(np.ones((1, 7, 9)), mask.numpy()))


@register(MultiCoilMRI)
def mri_multi_coil():
    maps = coil_sensitivity_maps(4, (8, 8), generator=3, dtype=torch.complex128)
    mask = random_kspace_mask((8, 8), 2, 0.25, generator=4)
    return Case(MultiCoilMRI(maps, mask), dense=dense_mri(maps.numpy(), mask.numpy()))


@register(MultiCoilMRI, name="mri-multi-coil-odd")
def mri_multi_coil_odd():
    maps = coil_sensitivity_maps(3, (5, 7), generator=5, dtype=torch.complex128)
    mask = equispaced_kspace_mask((5, 7), 2, 0.3, generator=6)
    return Case(MultiCoilMRI(maps, mask), dense=dense_mri(maps.numpy(), mask.numpy()))
