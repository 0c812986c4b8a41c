"""Diffusion posterior sampling for linear inverse problems ``y = A x + n``, ``n ~ N(0, σ² I)``, with a
:class:`~inverselab.networks.diffusion.DDPM` prior.

- :func:`dps`: Diffusion Posterior Sampling (Chung et al., ICLR 2023): DDPM ancestral steps, each followed by
  a gradient step on ``‖y - A x̂_0(z_t)‖`` with the paper's normalized step.
- :func:`pigdm`: Pseudoinverse-guided diffusion (Song et al., ICLR 2023): DDIM/DDPM steps driven by the
  conditional score ``∇ log p(z_t) + g`` with ``g`` the likelihood score of ``p(y | z_t) ≈ N(A x̂_0,
  r_t² AAᴴ + σ² I)``.

Both return ``num_samples`` draws, computed as one batch, for a single measurement. Both work in the model's
diffusion variable ``z = 2 (x - lo) / (hi - lo) - 1`` (``image_range = (lo, hi)``): since ``A`` is linear,
``y = A x + n`` becomes ``y_z = A z + n_z`` with ``y_z = (y - A(c 1)) / s``, ``σ_z = σ / s``,
``s = (hi - lo) / 2``, ``c = lo + s``. So the residuals, step sizes and ``r_t`` below have the papers'
meaning for data in ``[-1, 1]`` whatever ``image_range`` is, and the chain rule through ``x(z)`` is exact.

The samplers compute gradients with ``torch.autograd`` under ``torch.enable_grad()`` (they work when the
caller is under ``torch.no_grad()``), with respect to ``z_t`` only: no gradient is ever accumulated in the
model's parameters.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._checks import check_number
from ..functionals.base import batch_sum
from ..networks.diffusion import DDPM, DiffusionUNet, check_model, standard_normal, steps_with_progress
from ..noise import make_generator
from ..operators.base import LinearOperator, complex_dtype_of
from ._common import check_operator
from .cg import cg

__all__ = ["dps", "pigdm"]


def _bcast(s: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return s.reshape(-1, *([1] * (like.ndim - 1)))


def _squared_norm(r: torch.Tensor) -> torch.Tensor:
    """``‖r_b‖²`` per batch item, shape ``(B,)`` (differentiable, complex-aware)."""
    return batch_sum(r.real**2 + r.imag**2 if r.is_complex() else r**2)


def _real_inner(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``Re <a, b>`` per batch item, shape ``(B,)``."""
    return batch_sum((a.conj() * b).real if (a.is_complex() or b.is_complex()) else a * b)


def _setup(
    y: object,
    A: object,
    model: object,
    sigma: object,
    num_samples: object,
    generator: torch.Generator | int | None,
) -> tuple[LinearOperator, DDPM, torch.Tensor, float, torch.Tensor, torch.Generator, int]:
    """Validate the arguments and map the problem to the diffusion variable ``z``.

    Returns ``(A, model, y_z, sigma_z, z_T, generator, num_samples)`` with ``y_z`` repeated over the samples
    and ``z_T ~ N(0, I)`` of shape ``(num_samples, *A.in_shape)``.
    """
    A = check_operator(A)
    model = check_model(model)
    y = A.check_measurement(y)
    if y.shape[0] != 1:
        raise ValueError(
            f"y must hold one measurement (batch size 1; call the sampler once per item), got shape "
            f"{tuple(y.shape)}"
        )
    sigma = float(check_number("sigma", sigma, low=0))
    num_samples = check_number("num_samples", num_samples, low=1, integer=True)
    net = model.network
    if isinstance(net, DiffusionUNet):
        f = net.size_multiple
        shape = A.in_shape
        if len(shape) != 3 or shape[0] != net.channels or shape[1] % f or shape[2] % f:
            raise ValueError(
                f"A must act on ({net.channels}, H, W) images with H, W multiples of {f} (the model's "
                f"U-Net), got A.in_shape={shape}"
            )
    elif tuple(A.in_shape) != tuple(model.sample_shape):
        raise ValueError(f"A.in_shape must equal model.sample_shape {model.sample_shape}, got {A.in_shape}")

    dtype, device = model.dtype, model.device
    y = y.to(device=device, dtype=complex_dtype_of(dtype) if y.is_complex() else dtype)
    lo, hi = model.image_range
    s = (hi - lo) / 2
    c = lo + s
    if c != 0:
        y = y - A(torch.full((1, *A.in_shape), c, dtype=dtype, device=device))
    y_z = (y / s).expand(num_samples, *y.shape[1:])
    gen = make_generator(generator)
    z = standard_normal((num_samples, *A.in_shape), gen, model.alphas_cumprod)
    return A, model, y_z, sigma / s, z, gen, num_samples


@torch.no_grad()
def _solve_likelihood(
    A: LinearOperator, b: torch.Tensor, r2: torch.Tensor, sigma: float, num_iter: int
) -> torch.Tensor:
    """``(r² AAᵀ + σ² I)⁻¹ b`` by CG, for real signals (``Aᵀ u = Re Aᴴu``).

    For complex measurements the noise convention of :mod:`inverselab.noise` (``E|n_i|² = σ²``, so ``σ²/2``
    per real component) gives ``(r² A Re(Aᴴ ·) + σ²/2 I)`` in the real representation, which is the system
    solved then.
    """
    noise_var = sigma**2 / 2 if b.is_complex() else sigma**2

    def system(u: torch.Tensor) -> torch.Tensor:
        AHu = A.adjoint(u)
        return r2 * A(AHu.real if AHu.is_complex() else AHu) + noise_var * u

    return cg(system, b, num_iter=num_iter, tol=1e-6).x


def dps(
    y: torch.Tensor,
    A: LinearOperator,
    model: DDPM,
    *,
    sigma: float,
    num_samples: int = 1,
    num_steps: int = 250,
    zeta: float = 1.0,
    generator: torch.Generator | int | None = None,
    clip_x0: bool = False,
    progress: bool = False,
    callback: Callable[[int, torch.Tensor], object] | None = None,
) -> torch.Tensor:
    """Diffusion Posterior Sampling for ``y = A x + n`` with Gaussian noise (Chung et al. 2023, Algorithm 1).

    Each step from ``z_t`` predicts ``x̂_0 = E[z_0 | z_t]`` (Tweedie), takes the DDPM ancestral step
    ``z'_{t'} ~ q(z_{t'} | z_t, x̂_0)`` and then the data step
    ``z_{t'} = z'_{t'} - ζ_t ∇_{z_t} ‖y_z - A x̂_0(z_t)‖²`` with ``ζ_t = ζ / ‖y_z - A x̂_0(z_t)‖`` (the step of
    the paper's experiments, Appendix C; it replaces the ``1/σ²`` of the likelihood, so ``sigma`` is
    validated but does not enter). The residual is measured in the ``[-1, 1]`` scale of the diffusion
    variable (see the module docstring), as in the paper; each sample has its own norm. In terms of the
    authors' code, which steps by ``scale · ∇‖r‖``, ``scale = 2 ζ``.

    DPS approximates ``p(y | z_t)`` by ``p(y | x̂_0)``, ignoring the spread of ``z_0`` given ``z_t``; it is
    a reconstruction heuristic more than an exact posterior sampler (its samples are too concentrated: see
    ``tests/solvers/test_diffusion_sampling.py`` for the measured gap on a Gaussian prior).

    Cost: one forward and one backward pass of the network per step. The paper uses all ``T = 1000``
    steps; the default here is an evenly respaced chain of 250 (with that chain's own DDPM variances), 4x
    cheaper: with the default 32x32 U-Net about 8 s per sample on one CPU thread (about 35 s for 1000
    steps). The guidance per step is not rescaled, so with fewer steps the total pull toward the data is
    weaker. ``ζ`` acts through a step of fixed length ``2ζ ‖Jᵀ Aᵀ r̂‖``, so its good value depends on the
    signal dimension (the paper's 0.1 to 1 is for 256x256 color images); tune it per problem.

    Reference: H. Chung, J. Kim, M. T. Mccann, M. L. Klasky and J. C. Ye, "Diffusion posterior sampling for
    general noisy inverse problems", ICLR 2023.

    Args:
        y: One measurement, shape ``(1, *A.out_shape)``.
        A: Linear forward operator on image-space signals (``A.in_shape`` is the sample shape).
        model: The diffusion prior.
        sigma: Measurement noise standard deviation (>= 0), in the units of ``y`` (not used by DPS).
        num_samples: Number of posterior samples, computed as one batch.
        num_steps: Number of denoising steps, in ``[1, T]`` (evenly respaced when below ``T``).
        zeta: Step size ``ζ`` (>= 0; ``0`` is unconditional sampling); the paper uses 0.1 to 1.
        generator: Source of all randomness (a ``torch.Generator``, a seed, or ``None`` for seed 0).
        clip_x0: Clamp ``x̂_0`` to ``[-1, 1]`` in the ancestral step (the gradient uses the unclamped one).
        progress: Show a progress bar.
        callback: Called as ``callback(step, x0_hat)`` with ``x̂_0`` in image space.

    Returns:
        Samples ``(num_samples, *A.in_shape)`` in image space, in the model's dtype (not clamped).

    Example:
        >>> import torch
        >>> from inverselab.networks.diffusion import DDPM
        >>> from inverselab.operators import Identity
        >>> model = DDPM(widths=(8,), image_size=8)
        >>> dps(torch.zeros(1, 1, 8, 8), Identity((1, 8, 8)), model, sigma=0.1, num_samples=2,
        ...     num_steps=3).shape
        torch.Size([2, 1, 8, 8])
    """
    A, model, y_z, _, z, gen, _ = _setup(y, A, model, sigma, num_samples, generator)
    steps = model.timesteps(check_number("num_steps", num_steps, low=1, integer=True))
    zeta = float(check_number("zeta", zeta, low=0))
    tiny = torch.finfo(z.dtype).tiny
    for i, (t, t_prev) in enumerate(steps_with_progress(steps, progress, "DPS")):
        with torch.enable_grad():
            z_t = z.detach().requires_grad_(True)
            x0 = model.predict_x0(z_t, t)
            sq = _squared_norm(y_z - A(x0))
            (grad,) = torch.autograd.grad(sq.sum(), z_t)
        with torch.no_grad():
            x0 = x0.detach()
            noise = standard_normal(z.shape, gen, z) if t_prev >= 0 else None
            z = model.ancestral_step(z, x0.clamp(-1, 1) if clip_x0 else x0, t, t_prev, noise)
            z = z - _bcast(zeta / torch.sqrt(sq.detach()).clamp(min=tiny), grad) * grad
        if callback is not None:
            callback(i, model.to_image(x0))
    return model.to_image(z)


def pigdm(
    y: torch.Tensor,
    A: LinearOperator,
    model: DDPM,
    *,
    sigma: float,
    num_samples: int = 1,
    num_steps: int = 100,
    eta: float = 1.0,
    cg_iter: int = 10,
    generator: torch.Generator | int | None = None,
    clip_x0: bool = False,
    progress: bool = False,
    callback: Callable[[int, torch.Tensor], object] | None = None,
) -> torch.Tensor:
    """Pseudoinverse-guided diffusion (ΠGDM) for ``y = A x + n`` with Gaussian noise (Song et al. 2023).

    ΠGDM approximates ``p(z_0 | z_t)`` by ``N(x̂_0, r_t² I)``, so ``p(y | z_t) ≈ N(A x̂_0, r_t² AAᴴ + σ_z² I)``
    and the likelihood score is the guidance
    ``g = ((y_z - A x̂_0)ᵀ (r_t² AAᴴ + σ_z² I)⁻¹ A ∂x̂_0/∂z_t)ᵀ`` (the paper's Eq. for noisy linear problems),
    computed as the vector-Jacobian product ``∇_{z_t} Re<v, A x̂_0(z_t)>`` with
    ``v = (r_t² AAᴴ + σ_z² I)⁻¹ (y_z - A x̂_0)`` obtained by at most ``cg_iter`` conjugate-gradient
    iterations (stopping earlier at relative residual 1e-6), using ``A`` and ``A.adjoint`` (for complex
    measurements, ``σ_z²/2`` per real component, the convention of :mod:`inverselab.noise`).
    We use ``r_t² = 1 - ᾱ_t``, the paper's choice for the VP (DDPM) process: the exact ``Cov[z_0 | z_t]``
    when ``z_0 ~ N(μ, I)`` (data of unit variance in the ``[-1, 1]`` scale of ``z``).

    The guidance enters as a score: ``∇ log p(z_t | y) ≈ ∇ log p(z_t) + g``, i.e. the conditional Tweedie
    estimate ``x̂_0^y = x̂_0 + (1 - ᾱ_t) / √ᾱ_t · g`` (equivalently ``ε^y = ε_θ - √(1 - ᾱ_t) g``) replaces
    ``x̂_0`` in the DDIM update (:meth:`~inverselab.networks.diffusion.DDPM.ddim_step`; ``eta=1`` is the DDPM
    step, ``eta=0`` the deterministic one). The paper's Algorithm 1 instead adds ``√ᾱ_t g`` after the
    unconditional DDIM step, a tuned weighting; the score form used here is the one for which the sampler
    is exact when the approximation is (a Gaussian prior with identity covariance; tested).

    Cost per step: one forward and one backward pass of the network and up to ``cg_iter`` applications of
    ``AAᴴ``. The paper uses 100 DDIM steps with ``eta = 1``, the defaults here.

    Reference: J. Song, A. Vahdat, M. Mardani and J. Kautz, "Pseudoinverse-guided diffusion models for
    inverse problems", ICLR 2023.

    Args:
        y: One measurement, shape ``(1, *A.out_shape)``.
        A: Linear forward operator on image-space signals (``A.in_shape`` is the sample shape).
        model: The diffusion prior.
        sigma: Measurement noise standard deviation (>= 0), in the units of ``y``. With ``sigma=0`` the
            system ``r_t² AAᴴ`` must be invertible (``A`` with full row rank).
        num_samples: Number of posterior samples, computed as one batch.
        num_steps: Number of denoising steps, in ``[1, T]`` (evenly respaced when below ``T``).
        eta: DDIM stochasticity ``η`` in ``[0, 1]``.
        cg_iter: Maximum number of CG iterations per step (>= 1).
        generator: Source of all randomness (a ``torch.Generator``, a seed, or ``None`` for seed 0).
        clip_x0: Clamp the guided ``x̂_0`` to ``[-1, 1]`` before the DDIM update.
        progress: Show a progress bar.
        callback: Called as ``callback(step, x0_hat)`` with the guided ``x̂_0`` in image space.

    Returns:
        Samples ``(num_samples, *A.in_shape)`` in image space, in the model's dtype (not clamped).

    Example:
        >>> import torch
        >>> from inverselab.networks.diffusion import DDPM
        >>> from inverselab.operators import Identity
        >>> model = DDPM(widths=(8,), image_size=8)
        >>> pigdm(torch.zeros(1, 1, 8, 8), Identity((1, 8, 8)), model, sigma=0.1, num_samples=2,
        ...     num_steps=3).shape
        torch.Size([2, 1, 8, 8])
    """
    A, model, y_z, sigma_z, z, gen, _ = _setup(y, A, model, sigma, num_samples, generator)
    steps = model.timesteps(check_number("num_steps", num_steps, low=1, integer=True))
    eta = float(check_number("eta", eta, low=0, high=1))
    cg_iter = check_number("cg_iter", cg_iter, low=1, integer=True)
    for i, (t, t_prev) in enumerate(steps_with_progress(steps, progress, "PiGDM")):
        ab = model.alphas_cumprod[t].to(z.dtype)
        r2 = 1 - ab
        with torch.enable_grad():
            z_t = z.detach().requires_grad_(True)
            x0 = model.predict_x0(z_t, t)
            Ax0 = A(x0)
            v = _solve_likelihood(A, y_z - Ax0.detach(), r2, sigma_z, cg_iter)
            (g,) = torch.autograd.grad(_real_inner(v, Ax0).sum(), z_t)
        with torch.no_grad():
            x0 = x0.detach() + (1 - ab) / torch.sqrt(ab) * g
            if clip_x0:
                x0 = x0.clamp(-1, 1)
            noise = standard_normal(z.shape, gen, z) if (t_prev >= 0 and eta > 0) else None
            z = model.ddim_step(z, x0, t, t_prev, eta, noise)
        if callback is not None:
            callback(i, model.to_image(x0))
    return model.to_image(z)
