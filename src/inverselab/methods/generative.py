"""Generative-prior methods as ``method(y, A, weights=...) -> x``: a model of the signal class, any operator.

- :func:`csgm_vae`, :func:`csgm_gan`: CSGM (Bora et al. 2017), the best code ``z`` of a VAE decoder or a GAN
  generator for the measurements, over several random restarts;
- :func:`dps`, :func:`pigdm`: diffusion posterior sampling with a DDPM prior (Chung et al. 2023; Song et al.
  2023). With ``num_samples > 1`` they return the mean of the samples, and with ``return_samples=True`` the
  samples themselves (``inverselab solve ... --num-samples K`` saves their mean and pixel-wise standard
  deviation).

The shipped models (``vae-digits``, ``gan-digits``, ``ddpm-digits``) are trained on the digits' training split
at 32 px (``inverselab train cs-digits-32 --model vae|gan|ddpm``, see the weights' sidecars): they apply to
the ``*-digits-32`` presets, or to any operator on ``(1, 32, 32)`` images of that class. The methods run
under the caller's ``torch.no_grad()`` (they enable gradients for their own latent or ``z_t`` only) and
draw their randomness from ``seed``, so a call is reproducible.
"""

from __future__ import annotations

import os

import torch

from ..operators.base import LinearOperator
from .classical import _check
from .learned import _network_of_kind

__all__ = ["csgm_vae", "csgm_gan", "dps", "pigdm", "DEFAULT_GENERATIVE"]

#: The shipped model of each kind, used by default.
DEFAULT_GENERATIVE = {"vae": "vae-digits", "gan": "gan-digits", "ddpm": "ddpm-digits"}


def _model_for(weights, kind: str, A: LinearOperator, y: torch.Tensor) -> torch.nn.Module:
    """The generative model ``weights`` (of ``kind``), on ``y``'s device, checked against ``A``'s input."""
    net = _network_of_kind(weights, kind).to(y.device)
    shape = tuple(getattr(net, "sample_shape", ()) or (net.channels, net.image_size, net.image_size))
    if tuple(A.in_shape) != shape:
        raise ValueError(
            f"weights {str(weights)!r} model {shape} signals, but A acts on {tuple(A.in_shape)} "
            f"(the model applies to its own image size, e.g. the *-digits-32 presets)"
        )
    return net


def _csgm(y, A, weights, kind, lam, num_restarts, num_iter, lr, seed, progress) -> torch.Tensor:
    from ..solvers.csgm import csgm

    y = _check(y, A)
    model = _model_for(weights, kind, A, y)
    return csgm(
        y, A, model, lam=lam, num_restarts=num_restarts, num_iter=num_iter, lr=lr, generator=seed,
        progress=progress,
    ).x.detach()  # fmt: skip


def csgm_vae(
    y: torch.Tensor,
    A: LinearOperator,
    weights: str | os.PathLike = DEFAULT_GENERATIVE["vae"],
    lam: float = 0.001,
    num_restarts: int = 10,
    num_iter: int = 300,
    lr: float = 0.05,
    seed: int = 0,
    progress: bool = False,
) -> torch.Tensor:
    """CSGM with a VAE decoder: ``x = G(ẑ)``, ``ẑ`` minimizing ``‖y - A G(z)‖² + lam ‖z‖²`` over restarts.

    Reference: A. Bora, A. Jalal, E. Price and A. G. Dimakis, "Compressed sensing using generative models",
    ICML 2017.

    Args:
        y: Measurements (batch 1, or a batch solved item by item).
        A: Any linear operator on the model's images (``(1, 32, 32)`` for the shipped model).
        weights: VAE weights (name or path); default the shipped digits VAE.
        lam: Weight of ``‖z‖²`` (0.001 was best of {0.001, 0.01, 0.1} on validation digits for the three
            digit presets with the shipped VAE).
        num_restarts: Random starting codes; the one with the lowest ``‖y - A G(z)‖²`` wins.
        num_iter: Adam iterations per restart.
        lr: Adam step size.
        seed: Seeds the starting codes.
        progress: Show a progress bar.
    """
    return _csgm(y, A, weights, "vae", lam, num_restarts, num_iter, lr, seed, progress)


def csgm_gan(
    y: torch.Tensor,
    A: LinearOperator,
    weights: str | os.PathLike = DEFAULT_GENERATIVE["gan"],
    lam: float = 0.001,
    num_restarts: int = 10,
    num_iter: int = 300,
    lr: float = 0.05,
    seed: int = 0,
    progress: bool = False,
) -> torch.Tensor:
    """CSGM with a DCGAN generator (as :func:`csgm_vae`, with the shipped digits GAN by default).

    Reference: A. Bora, A. Jalal, E. Price and A. G. Dimakis, "Compressed sensing using generative models",
    ICML 2017.
    """
    return _csgm(y, A, weights, "gan", lam, num_restarts, num_iter, lr, seed, progress)


def _posterior(y, A, weights, sampler, num_samples, return_samples, seed, **kwargs) -> torch.Tensor:
    y = _check(y, A)
    model = _model_for(weights, "ddpm", A, y)
    outs = []
    for b in range(y.shape[0]):  # the samplers take one measurement at a time
        samples = sampler(y[b : b + 1], A, model, num_samples=num_samples, generator=seed + b, **kwargs)
        outs.append(samples.detach())
    if return_samples:
        if y.shape[0] != 1:
            raise ValueError(f"return_samples=True needs one measurement (batch 1), got batch {y.shape[0]}")
        return outs[0]
    return torch.cat([s.mean(dim=0, keepdim=True) for s in outs])


def dps(
    y: torch.Tensor,
    A: LinearOperator,
    weights: str | os.PathLike = DEFAULT_GENERATIVE["ddpm"],
    sigma: float = 0.01,
    num_steps: int = 250,
    zeta: float = 1.0,
    num_samples: int = 1,
    return_samples: bool = False,
    clip_x0: bool = True,
    seed: int = 0,
    progress: bool = False,
) -> torch.Tensor:
    """Diffusion posterior sampling (:func:`inverselab.solvers.diffusion.dps`) with a DDPM prior.

    Reference: H. Chung, J. Kim, M. T. Mccann, M. L. Klasky and J. C. Ye, "Diffusion posterior sampling for
    general noisy inverse problems", ICLR 2023.

    Args:
        y: Measurements.
        A: Any linear operator on the model's images.
        weights: DDPM weights (name or path); default the shipped digits model.
        sigma: Measurement noise standard deviation (checked; DPS's step does not use it).
        num_steps: Sampling steps (a respaced subsequence of the model's 1000).
        zeta: Step of the data-consistency gradient (normalized by the residual norm, as in the paper).
        num_samples: Posterior samples drawn (as one batch); the method returns their mean.
        return_samples: Return the ``(num_samples, *A.in_shape)`` samples instead (batch-1 ``y`` only).
        clip_x0: Clamp the denoised estimate to the image range inside the steps (as the papers' code
            does; a small model's estimates at high noise overshoot without it).
        seed: Seeds the sampler (item ``b`` of a batch uses ``seed + b``).
        progress: Show a progress bar.
    """
    from ..solvers.diffusion import dps as sampler

    return _posterior(
        y, A, weights, sampler, num_samples, return_samples, seed, sigma=sigma, num_steps=num_steps,
        zeta=zeta, clip_x0=clip_x0, progress=progress,
    )  # fmt: skip


def pigdm(
    y: torch.Tensor,
    A: LinearOperator,
    weights: str | os.PathLike = DEFAULT_GENERATIVE["ddpm"],
    sigma: float = 0.01,
    num_steps: int = 100,
    num_samples: int = 1,
    return_samples: bool = False,
    clip_x0: bool = True,
    seed: int = 0,
    progress: bool = False,
) -> torch.Tensor:
    """Pseudoinverse-guided diffusion (:func:`inverselab.solvers.diffusion.pigdm`) with a DDPM prior.

    Reference: J. Song, A. Vahdat, M. Mardani and J. Kautz, "Pseudoinverse-guided diffusion models for
    inverse problems", ICLR 2023.

    Args:
        y: Measurements.
        A: Any linear operator on the model's images.
        weights: DDPM weights (name or path); default the shipped digits model.
        sigma: Measurement noise standard deviation (enters the guidance's ``r_t² AAᴴ + σ² I``).
        num_steps: Sampling steps (a respaced subsequence of the model's 1000).
        num_samples: Posterior samples drawn (as one batch); the method returns their mean.
        return_samples: Return the ``(num_samples, *A.in_shape)`` samples instead (batch-1 ``y`` only).
        clip_x0: Clamp the denoised estimate to the image range inside the steps (as the papers' code
            does; a small model's estimates at high noise overshoot without it).
        seed: Seeds the sampler (item ``b`` of a batch uses ``seed + b``).
        progress: Show a progress bar.
    """
    from ..solvers.diffusion import pigdm as sampler

    return _posterior(
        y, A, weights, sampler, num_samples, return_samples, seed, sigma=sigma, num_steps=num_steps,
        clip_x0=clip_x0, progress=progress,
    )  # fmt: skip
