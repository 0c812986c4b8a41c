"""Plug-and-play and RED methods as ``method(y, A, denoiser=..., sigma=..., **params) -> x``.

``denoiser`` is a name or any callable ``denoiser(x, sigma) -> x`` (e.g. a trained
:class:`~inverselab.networks.DRUNet`). Names: ``"wavelet"`` (the default, soft thresholding of db4 wavelet
details, so the methods run with no learned weights), ``"tv"`` (ROF denoising, ``tv_iter`` dual iterations
per call), ``"bm3d"`` (needs ``pip install bm3d``) and ``"drunet"`` (the shipped learned denoiser,
``drunet-denoise``); any other string is taken as denoiser weights (a name or a ``.safetensors`` path, see
:mod:`inverselab.methods.learned`). The default parameters were tuned with the wavelet
denoiser on ``deblur-gauss`` (32 px); other denoisers want their own ``sigma`` (presets override them). All
start from the scaled adjoint (:func:`inverselab.methods.classical.adjoint`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._checks import check_number
from ..operators.base import LinearOperator
from .classical import _check, adjoint

__all__ = ["pnp_fista", "pnp_admm", "hqs", "red", "DENOISER_NAMES", "make_denoiser"]

DENOISER_NAMES = ("wavelet", "tv", "bm3d", "drunet")


def make_denoiser(
    denoiser: str | Callable[[torch.Tensor, float], torch.Tensor], A: LinearOperator, tv_iter: int = 20
) -> Callable[[torch.Tensor, float], torch.Tensor]:
    """The denoiser called ``denoiser`` for images of ``A.in_shape`` (a callable is returned unchanged).

    ``"wavelet"`` is :class:`~inverselab.denoisers.WaveletDenoiser` ``("db4", levels, factor=1)`` with the
    most levels up to 4 that divide the image size; ``"tv"`` is :class:`~inverselab.denoisers.TVDenoiser`
    ``(weight=1, num_iter=tv_iter)``; ``"bm3d"`` is :class:`~inverselab.denoisers.BM3DDenoiser`;
    ``"drunet"`` is the shipped DRUNet (:func:`~inverselab.methods.learned.network_denoiser`), and any other
    string names denoiser weights (shipped name or path).

    Raises:
        ValueError: an unknown name (neither a denoiser nor weights), or a named denoiser with a non-image
            operator.
        TypeError: ``denoiser`` is neither a name nor callable.
    """
    from ..denoisers import BM3DDenoiser, TVDenoiser, WaveletDenoiser

    if not isinstance(denoiser, str):
        if not callable(denoiser):
            raise TypeError(
                f"denoiser must be one of {', '.join(DENOISER_NAMES)} or a callable denoiser(x, sigma), "
                f"got {type(denoiser).__name__}"
            )
        return denoiser
    shape = A.in_shape
    if len(shape) != 3:
        raise ValueError(
            f"denoiser {denoiser!r} needs an image operator with in_shape (C, H, W), got {shape}"
        )
    if denoiser not in DENOISER_NAMES or denoiser == "drunet":
        from .learned import DEFAULT_DENOISER, network_denoiser

        try:
            return network_denoiser(DEFAULT_DENOISER if denoiser == "drunet" else denoiser)
        except (ValueError, FileNotFoundError) as err:
            raise ValueError(
                f"denoiser must be one of {', '.join(DENOISER_NAMES)}, denoiser weights or a callable; "
                f"got {denoiser!r} ({err})"
            ) from None
    if denoiser == "wavelet":
        levels = 4
        while levels > 1 and (shape[-1] % 2**levels or shape[-2] % 2**levels):
            levels -= 1
        return WaveletDenoiser("db4", levels=levels, factor=1.0)
    if denoiser == "tv":
        return TVDenoiser(1.0, num_iter=int(check_number("tv_iter", tv_iter, low=1, integer=True)))
    return BM3DDenoiser()


def pnp_fista(
    y: torch.Tensor,
    A: LinearOperator,
    denoiser: str | Callable[[torch.Tensor, float], torch.Tensor] = "wavelet",
    sigma: float = 0.002,
    num_iter: int = 100,
    tv_iter: int = 20,
    progress: bool = False,
) -> torch.Tensor:
    """PnP-FISTA (:func:`inverselab.solvers.pnp_pgd` with momentum), step ``1 / ‖A‖²``.

    With the wavelet denoiser this is FISTA on ``½‖Ax - y‖² + σ‖A‖²‖W_d x‖₁``.
    """
    from ..solvers.pnp import pnp_pgd

    y = _check(y, A)
    D = make_denoiser(denoiser, A, tv_iter)
    res = pnp_pgd(
        y, A, D, sigma, accelerate=True, num_iter=num_iter, tol=1e-5, x0=adjoint(y, A), progress=progress
    )
    return res.x


def pnp_admm(
    y: torch.Tensor,
    A: LinearOperator,
    denoiser: str | Callable[[torch.Tensor, float], torch.Tensor] = "wavelet",
    sigma: float = 0.01,
    rho: float = 0.1,
    num_iter: int = 50,
    cg_iter: int = 10,
    tv_iter: int = 20,
    progress: bool = False,
) -> torch.Tensor:
    """PnP-ADMM (:func:`inverselab.solvers.pnp_admm`): exact FFT x-update for Fourier-diagonal operators,
    ``cg_iter`` warm-started CG iterations otherwise.

    With the wavelet denoiser this is ADMM on ``½‖Ax - y‖² + ρσ‖W_d x‖₁``.
    """
    from ..solvers.pnp import pnp_admm as _pnp_admm

    y = _check(y, A)
    D = make_denoiser(denoiser, A, tv_iter)
    res = _pnp_admm(
        y, A, D, sigma, rho=rho, cg_iter=cg_iter, num_iter=num_iter, tol=1e-5, x0=adjoint(y, A),
        progress=progress,
    )  # fmt: skip
    return res.x


def hqs(
    y: torch.Tensor,
    A: LinearOperator,
    denoiser: str | Callable[[torch.Tensor, float], torch.Tensor] = "wavelet",
    sigma: float = 0.003,
    sigma_max: float = 0.05,
    lam: float = 1e-5,
    num_iter: int = 20,
    cg_iter: int = 10,
    tv_iter: int = 20,
    progress: bool = False,
) -> torch.Tensor:
    """HQS / DPIR (:func:`inverselab.solvers.hqs`) with ``num_iter`` noise levels decreasing geometrically
    from ``sigma_max`` to ``sigma`` and the prior weight ``lam`` (penalty ``lam / σ_k²``)."""
    from ..solvers.pnp import hqs as _hqs
    from ..solvers.pnp import sigma_schedule

    y = _check(y, A)
    D = make_denoiser(denoiser, A, tv_iter)
    sigmas = sigma_schedule(sigma_max, sigma, num_iter)
    return _hqs(y, A, D, sigmas, lam=lam, cg_iter=cg_iter, x0=adjoint(y, A), progress=progress).x


def red(
    y: torch.Tensor,
    A: LinearOperator,
    denoiser: str | Callable[[torch.Tensor, float], torch.Tensor] = "wavelet",
    sigma: float = 0.02,
    lam: float = 0.05,
    num_iter: int = 100,
    tv_iter: int = 20,
    progress: bool = False,
) -> torch.Tensor:
    """RED by steepest descent (:func:`inverselab.solvers.red`), step ``1 / (‖A‖² + 2λ)``."""
    from ..solvers.pnp import red as _red

    y = _check(y, A)
    D = make_denoiser(denoiser, A, tv_iter)
    return _red(y, A, D, sigma, lam=lam, num_iter=num_iter, tol=1e-5, x0=adjoint(y, A), progress=progress).x
