"""Classical reconstruction methods as ``method(y, A, **params) -> x``.

Each wraps a solver from :mod:`inverselab.solvers` with parameters that have sensible defaults; presets
override them (see :mod:`inverselab.presets`). Every method returns a tensor of ``A``'s input shape: real for
real-domain operators, complex for MRI (the metrics then compare magnitudes), except the magnitude-only
direct MRI reconstruction.
"""

from __future__ import annotations

import torch

from .._checks import check_number
from ..functionals import L1, L1DCT, L1Wavelet
from ..operators.base import LinearOperator
from ..solvers import admm_tv as _admm_tv
from ..solvers import direct
from ..solvers import fista as _fista
from ..solvers import ista as _ista
from ..solvers import tikhonov_cg as _tikhonov_cg
from ..solvers import tv_pdhg as _tv_pdhg
from ..solvers.amp import amp as _amp
from ..solvers.direct import fbp as _fbp

__all__ = [
    "adjoint",
    "zero_filled",
    "fbp",
    "tikhonov_cg",
    "ista_wavelet",
    "fista_wavelet",
    "fista_dct",
    "ista_l1",
    "fista_l1",
    "tv_pdhg",
    "tv_admm",
    "amp",
]


def _check(y: torch.Tensor, A: LinearOperator) -> torch.Tensor:
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A must be a LinearOperator, got {type(A).__name__}")
    return A.check_measurement(y)


def adjoint(y: torch.Tensor, A: LinearOperator) -> torch.Tensor:
    """The adjoint ``c Aᴴy`` with the scalar ``c`` that best fits the data, ``argmin_c ‖c AAᴴy - y‖``.

    The scaling makes the naive baseline fair for operators that are not isometries (blur, downsampling);
    for the identity and masks ``c = 1``.

    Example:
        >>> import torch
        >>> from inverselab.operators import Identity
        >>> adjoint(torch.ones(1, 3), 2 * Identity((3,)))
        tensor([[0.5000, 0.5000, 0.5000]])
    """
    y = _check(y, A)
    x = A.adjoint(y)
    Ax = A(x)
    dims = tuple(range(1, y.ndim))
    num = torch.sum((Ax.conj() * y).real, dim=dims)
    den = torch.clamp(torch.sum(Ax.abs() ** 2, dim=dims), min=torch.finfo(num.dtype).tiny)
    c = (num / den).reshape(-1, *([1] * (x.ndim - 1)))
    return c.to(x.real.dtype) * x


def zero_filled(y: torch.Tensor, A: LinearOperator) -> torch.Tensor:
    """MRI zero-filled reconstruction: magnitude of the inverse FFT (root-sum-of-squares over coils)."""
    return direct.zero_filled(_check(y, A), A)


def fbp(y: torch.Tensor, A: LinearOperator, filter: str = "ram-lak") -> torch.Tensor:
    """CT filtered back-projection (see :func:`inverselab.solvers.fbp`)."""
    return _fbp(_check(y, A), A, filter=filter)


def tikhonov_cg(
    y: torch.Tensor, A: LinearOperator, lam: float = 1e-2, num_iter: int = 100, progress: bool = False
) -> torch.Tensor:
    """``min ½‖Ax - y‖² + (λ/2)‖x‖²`` by conjugate gradients on the normal equations."""
    return _tikhonov_cg(_check(y, A), A, lam, num_iter=num_iter, tol=1e-6, progress=progress).x


def _wavelet_fn(solver, y, A, lam, wavelet, levels, num_iter, progress):
    y = _check(y, A)
    shape = A.in_shape
    if len(shape) != 3:
        raise ValueError(f"wavelet methods need image operators with in_shape (C, H, W), got {shape}")
    levels = int(check_number("levels", levels, low=1, integer=True))
    while levels > 1 and (shape[-1] % 2**levels or shape[-2] % 2**levels):
        levels -= 1  # fall back to fewer levels for sizes not divisible by 2**levels
    g = L1Wavelet(lam, shape, wavelet=wavelet, levels=levels)
    return solver(y, A, g, num_iter=num_iter, tol=1e-6, x0=adjoint(y, A), progress=progress).x


def ista_wavelet(
    y: torch.Tensor,
    A: LinearOperator,
    lam: float = 0.01,
    wavelet: str = "db4",
    levels: int = 4,
    num_iter: int = 300,
    progress: bool = False,
) -> torch.Tensor:
    """ISTA for ``min ½‖Ax - y‖² + λ‖Wx‖₁`` (orthonormal Daubechies wavelet ``W``, detail coefficients)."""
    return _wavelet_fn(_ista, y, A, lam, wavelet, levels, num_iter, progress)


def fista_wavelet(
    y: torch.Tensor,
    A: LinearOperator,
    lam: float = 0.01,
    wavelet: str = "db4",
    levels: int = 4,
    num_iter: int = 300,
    progress: bool = False,
) -> torch.Tensor:
    """FISTA for ``min ½‖Ax - y‖² + λ‖Wx‖₁`` (orthonormal Daubechies wavelet ``W``, detail coefficients)."""
    return _wavelet_fn(_fista, y, A, lam, wavelet, levels, num_iter, progress)


def fista_dct(
    y: torch.Tensor,
    A: LinearOperator,
    lam: float = 0.01,
    num_iter: int = 300,
    progress: bool = False,
) -> torch.Tensor:
    """FISTA for ``min ½‖Ax - y‖² + λ‖Dx‖₁`` (orthonormal 2-D DCT ``D``; the DC coefficient is free): the
    Lasso in the DCT basis, the classical baseline of compressed sensing with generative models (Bora et al.
    2017)."""
    y = _check(y, A)
    if len(A.in_shape) != 3:
        raise ValueError(f"fista-dct needs image operators with in_shape (C, H, W), got {A.in_shape}")
    g = L1DCT(lam, A.in_shape)
    return _fista(y, A, g, num_iter=num_iter, tol=1e-6, x0=adjoint(y, A), progress=progress).x


def ista_l1(
    y: torch.Tensor, A: LinearOperator, lam: float = 0.01, num_iter: int = 1000, progress: bool = False
) -> torch.Tensor:
    """ISTA for the LASSO ``min ½‖Ax - y‖² + λ‖x‖₁``."""
    return _ista(_check(y, A), A, L1(lam), num_iter=num_iter, tol=1e-7, progress=progress).x


def fista_l1(
    y: torch.Tensor, A: LinearOperator, lam: float = 0.01, num_iter: int = 1000, progress: bool = False
) -> torch.Tensor:
    """FISTA for the LASSO ``min ½‖Ax - y‖² + λ‖x‖₁``."""
    return _fista(_check(y, A), A, L1(lam), num_iter=num_iter, tol=1e-7, progress=progress).x


def tv_pdhg(
    y: torch.Tensor,
    A: LinearOperator,
    lam: float = 0.02,
    num_iter: int = 300,
    nonneg: bool = False,
    progress: bool = False,
) -> torch.Tensor:
    """Isotropic TV ``min ½‖Ax - y‖² + λ TV(x)`` by PDHG (Chambolle-Pock), no inner loop; starts from the
    scaled adjoint (:func:`adjoint`)."""
    y = _check(y, A)
    return _tv_pdhg(
        y, A, lam, nonneg=nonneg, num_iter=num_iter, tol=1e-5, x0=adjoint(y, A), progress=progress
    ).x


def tv_admm(
    y: torch.Tensor,
    A: LinearOperator,
    lam: float = 0.02,
    num_iter: int = 100,
    cg_iter: int = 10,
    rho: float | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Isotropic TV by ADMM with the splitting ``z = ∇x``: exact FFT x-update for Fourier-diagonal operators
    (blur, denoising), ``cg_iter`` warm-started CG iterations otherwise. Starts from the scaled adjoint
    (:func:`adjoint`); ``rho`` defaults to the solver's (``5 λ``)."""
    y = _check(y, A)
    x0 = adjoint(y, A)
    return _admm_tv(
        y, A, lam, rho=rho, cg_iter=cg_iter, num_iter=num_iter, tol=1e-5, x0=x0, progress=progress
    ).x


def amp(
    y: torch.Tensor, A: LinearOperator, alpha: float = 1.0, num_iter: int = 50, progress: bool = False
) -> torch.Tensor:
    """AMP with the soft-threshold denoiser (threshold ``alpha`` times the estimated effective noise)."""
    return _amp(_check(y, A), A, alpha=alpha, num_iter=num_iter, progress=progress).x
