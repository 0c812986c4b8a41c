"""Direct (non-iterative) reconstructions: the adjoint, zero-filled MRI with root-sum-of-squares, and filtered
back-projection. Each is called ``method(y, A)`` and returns a tensor of the operator's input shape.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._checks import check_choice, check_tensor
from ..operators.base import LinearOperator
from ..operators.mri import MRI, MultiCoilMRI
from ..operators.tomography import ParallelBeamCT

__all__ = ["adjoint", "zero_filled", "rss", "fbp", "FBP_FILTERS"]

#: Filters accepted by :func:`fbp` (scikit-image's ``iradon`` names them "ramp", ..., "hann").
FBP_FILTERS = ("ram-lak", "shepp-logan", "cosine", "hann")


def adjoint(y: torch.Tensor, A: LinearOperator) -> torch.Tensor:
    """The back-projection ``Aᴴ y``, the simplest reconstruction.

    For an operator with a real input domain the result is real (the real part, should ``y`` be complex);
    for a complex domain (MRI) it is the complex image ``Aᴴ y`` (take ``.abs()`` for a magnitude image).

    Example:
        >>> import torch
        >>> from inverselab.operators import Identity
        >>> adjoint(torch.ones(1, 2), 3 * Identity((2,)))
        tensor([[3., 3.]])
    """
    _check_operator(A)
    y = A.check_measurement(y)
    x = A.adjoint(y)
    return x.real if (x.is_complex() and not A.in_complex) else x


def rss(coil_images: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Root-sum-of-squares coil combination ``sqrt(Σ_c |x_c|²)`` along ``dim`` (kept with size 1).

    Example:
        >>> import torch
        >>> rss(torch.tensor([[[[3.0]], [[4.0]]]]))
        tensor([[[[5.]]]])
    """
    check_tensor("coil_images", coil_images, min_ndim=1, finite=False)
    magnitude = coil_images.abs() if coil_images.is_complex() else coil_images
    return torch.linalg.vector_norm(magnitude, dim=dim, keepdim=True)


def zero_filled(y: torch.Tensor, A: LinearOperator) -> torch.Tensor:
    """Zero-filled MRI reconstruction: the magnitude of the inverse centered FFT of k-space with the unsampled
    locations set to zero; for several coils, the root-sum-of-squares of the coil images (the fastMRI
    baseline; Zbontar et al. 2018).

    Args:
        y: Measured k-space ``(B, C, H, W)``; entries the mask does not sample are ignored (set to zero).
        A: An :class:`~inverselab.operators.MRI` or :class:`~inverselab.operators.MultiCoilMRI`.

    Returns:
        A real magnitude image ``(B, 1, H, W)``.

    Example:
        >>> import torch
        >>> from inverselab.operators import MRI
        >>> A = MRI((4, 4), torch.ones(4, 4, dtype=torch.bool))
        >>> x = torch.rand(1, 1, 4, 4)
        >>> bool(torch.allclose(zero_filled(A(x), A), x, atol=1e-6))
        True
    """
    if not isinstance(A, (MRI, MultiCoilMRI)):
        raise TypeError(f"A must be an MRI or MultiCoilMRI operator for zero_filled, got {type(A).__name__}")
    y = A.check_measurement(y)
    return rss(A.coil_images(y), dim=1)


def _fourier_filter(size: int, name: str) -> np.ndarray:
    """The first ``size // 2 + 1`` entries of scikit-image's ``iradon`` filter of even length ``size``
    (symmetrized, which is what taking the real part of the filtered projections does in ``iradon``)."""
    n = np.concatenate((np.arange(1, size / 2 + 1, 2, dtype=int), np.arange(size / 2 - 1, 0, -2, dtype=int)))
    f = np.zeros(size)
    f[0] = 0.25
    f[1::2] = -1 / (np.pi * n) ** 2
    # The ramp as the Fourier transform of its band-limited spatial kernel: no DC bias (Kak & Slaney, ch. 3).
    filt = 2 * np.real(np.fft.fft(f))
    if name == "shepp-logan":
        omega = np.pi * np.fft.fftfreq(size)[1:]
        filt[1:] *= np.sin(omega) / omega
    elif name == "cosine":
        filt *= np.fft.fftshift(np.sin(np.linspace(0, np.pi, size, endpoint=False)))
    elif name == "hann":
        filt *= np.fft.fftshift(np.hanning(size))
    filt = 0.5 * (filt + np.roll(filt[::-1], 1))
    return filt[: size // 2 + 1]


def fbp(y: torch.Tensor, A: LinearOperator, filter: str = "ram-lak") -> torch.Tensor:
    """Filtered back-projection for parallel-beam CT.

    Each projection is filtered along the detector axis in the Fourier domain (zero-padded to a power of two
    ``>= 2 D``, at least 64) and back-projected with the operator's adjoint, then scaled by ``Δθ / 2``.
    The filters and padding are scikit-image's ``iradon``'s (Kak & Slaney, "Principles of Computerized
    Tomographic Imaging", 1988, ch. 3). ``Δθ = π / num_angles`` for angles covering ``[0, π)``, which is
    ``iradon``'s scaling; for limited-angle data ``Δθ`` is the median spacing of the sorted angles (the
    smaller of the two), so the missing wedge is left missing rather than amplified.

    Args:
        y: Sinograms ``(B, 1, num_angles, num_detectors)``.
        A: A :class:`~inverselab.operators.ParallelBeamCT` (any angles: full, sparse-view, limited-angle).
        filter: One of ``"ram-lak"`` (ramp), ``"shepp-logan"``, ``"cosine"``, ``"hann"``.

    Returns:
        Images ``(B, 1, N, N)``.

    Example:
        >>> import torch
        >>> from inverselab.operators import ParallelBeamCT, sparse_view_angles
        >>> A = ParallelBeamCT(64, sparse_view_angles(90))
        >>> x = torch.zeros(1, 1, 64, 64)
        >>> x[..., 24:40, 24:40] = 1
        >>> err = (fbp(A(x), A) - x).abs()[..., 16:48, 16:48].mean()
        >>> bool(err < 0.05)
        True
    """
    if not isinstance(A, ParallelBeamCT):
        raise TypeError(f"A must be a ParallelBeamCT operator for fbp, got {type(A).__name__}")
    check_choice("filter", filter, FBP_FILTERS)
    y = A.check_measurement(y)
    if y.is_complex():
        raise TypeError(f"y must be a real sinogram, got dtype {y.dtype}")
    y = y if y.is_floating_point() else y.float()
    D = A.num_detectors
    padded = max(64, 2 ** math.ceil(math.log2(2 * D)))
    kernel = torch.from_numpy(_fourier_filter(padded, filter)).to(device=y.device, dtype=y.dtype)
    filtered = torch.fft.irfft(torch.fft.rfft(y, n=padded, dim=-1) * kernel, n=padded, dim=-1)[..., :D]
    return A.adjoint(filtered.contiguous()) * (_angle_step(A.angles) / 2)


def _angle_step(angles: torch.Tensor) -> float:
    n = angles.numel()
    if n == 1:
        return math.pi
    spacing = float(torch.diff(torch.sort(angles.double().cpu()).values).median())
    return min(math.pi / n, spacing) if spacing > 0 else math.pi / n


def _check_operator(A: object) -> None:
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A must be a LinearOperator, got {type(A).__name__}")
