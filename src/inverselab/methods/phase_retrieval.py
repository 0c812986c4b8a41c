"""Phase retrieval methods as ``method(y, A, **params) -> x`` for ``A`` a
:class:`~inverselab.operators.MagnitudeSquared` model (intensities ``y = |Bx|²``).

They return ``x`` of ``A``'s input shape, complex when ``A.linear`` acts on complex signals (unless the
method is told the signal is real). ``x`` is determined up to a global phase only: the presets' metrics
align it first (:func:`inverselab.metrics.align_phase`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._checks import check_number
from ..solvers import phase_retrieval as _pr

__all__ = ["spectral", "wf", "gerchberg_saxton", "pnp_wf", "deep_decoder_pr"]


def spectral(
    y: torch.Tensor, A, num_iter: int = 50, truncate: float | None = None, real: bool = False
) -> torch.Tensor:
    """The spectral initialization alone (leading eigenvector of ``(1/m) Σ y_r a_r a_rᴴ``, scaled by the
    norm estimate): the starting point of the other methods, a baseline (see
    :func:`inverselab.solvers.spectral_init`)."""
    return _pr.spectral_init(y, A, num_iter=num_iter, truncate=truncate, real=real)


def wf(
    y: torch.Tensor,
    A,
    num_iter: int = 2500,
    mu_max: float = 0.2,
    tau0: float = 330.0,
    real: bool = False,
    truncate: float | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Wirtinger flow from the spectral start (Candès, Li & Soltanolkotabi 2015); ``real=True`` keeps the
    iterates real (projected WF for real signals); ``truncate`` is passed to the spectral start."""
    x0 = _pr.spectral_init(y, A, truncate=truncate, real=real)
    return _pr.wirtinger_flow(
        y, A, x0=x0, num_iter=num_iter, mu_max=mu_max, tau0=tau0, real=real, progress=progress
    ).x


def gerchberg_saxton(
    y: torch.Tensor,
    A,
    num_iter: int = 500,
    constraint: str | None = None,
    truncate: float | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Gerchberg-Saxton / error reduction (Fienup 1982) from the spectral start; ``constraint`` is ``None``,
    ``"real"`` or ``"nonneg"``."""
    x0 = _pr.spectral_init(y, A, truncate=truncate, real=constraint is not None)
    return _pr.gerchberg_saxton(y, A, x0=x0, num_iter=num_iter, constraint=constraint, progress=progress).x


def pnp_wf(
    y: torch.Tensor,
    A,
    denoiser: str | Callable[[torch.Tensor, float], torch.Tensor] = "tv",
    sigma: float = 0.01,
    sigma_max: float | None = None,
    num_iter: int = 300,
    mu_max: float = 0.2,
    tau0: float = 330.0,
    truncate: float | None = None,
    tv_iter: int = 20,
    progress: bool = False,
) -> torch.Tensor:
    """Plug-and-play Wirtinger flow for real images: a WF step then ``denoiser(x, sigma)`` at every iteration
    (see :func:`inverselab.solvers.pnp_wirtinger_flow`), the noise level decreasing from ``sigma_max`` to
    ``sigma`` over the first half of the iterations (``sigma_max=None``: constant). ``denoiser`` is a name
    (``"tv"``, ``"wavelet"``, ``"bm3d"``, ``"drunet"``; see :func:`inverselab.methods.pnp.make_denoiser`) or a
    callable."""
    from .pnp import make_denoiser

    sigma = check_number("sigma", sigma, low=0, low_inclusive=False)
    D = make_denoiser(denoiser, A, tv_iter=tv_iter)
    x0 = _pr.spectral_init(y, A, truncate=truncate, real=True)
    x0 = _pr._nonneg_start(x0)
    return _pr.pnp_wirtinger_flow(
        y,
        A,
        D,
        sigma,
        sigma_max=sigma_max,
        x0=x0,
        num_iter=num_iter,
        mu_max=mu_max,
        tau0=tau0,
        progress=progress,
    ).x


def deep_decoder_pr(
    y: torch.Tensor,
    A,
    channels: int = 64,
    num_layers: int = 5,
    num_iter: int = 600,
    lr: float = 0.01,
    seed: int = 0,
    progress: bool = False,
) -> torch.Tensor:
    """An untrained Deep Decoder (Heckel & Hand 2019) fitted to the measured amplitudes of real images:
    ``x = G_θ(z)``, ``min_θ ‖|B G_θ(z)| - √y‖²`` by Adam for ``num_iter`` steps from random weights (no
    spectral start; see :func:`inverselab.solvers.fit_untrained_intensities`). One network per batch item,
    weights and input drawn from ``seed``."""
    from ..networks import DeepDecoder
    from ..noise import make_generator

    shape = A.in_shape
    if len(shape) != 3:
        raise ValueError(f"A must act on images (C, H, W) for the Deep Decoder, got in_shape {shape}")
    seed = check_number("seed", seed, low=0, integer=True)
    A.check_measurement(y)
    out = []
    for i in range(y.shape[0]):
        net = DeepDecoder(shape[1:], shape[0], channels=channels, num_layers=num_layers, generator=seed + i)
        net = net.to(device=y.device, dtype=y.dtype)
        z = net.random_input(generator=make_generator(seed + 10_000 + i))
        res = _pr.fit_untrained_intensities(
            y[i : i + 1], A, net, z, num_iter=num_iter, lr=lr, progress=progress
        )
        out.append(res.x)
    return torch.cat(out)
