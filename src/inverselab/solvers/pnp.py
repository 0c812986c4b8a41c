"""Plug-and-play solvers: proximal splitting with a denoiser ``denoiser(x, sigma)`` in place of a prox.

- :func:`pnp_pgd`: proximal gradient (optionally with FISTA momentum), ``x ← D(x - step Aᴴ(Ax - y), σ)``.
- :func:`pnp_admm`: ADMM with the z-update ``z ← D(x + u, σ)``.
- :func:`hqs`: half-quadratic splitting with a decreasing noise-level schedule (DPIR).
- :func:`red`: gradient descent on the RED objective ``½‖Ax - y‖² + (λ/2) xᵀ(x - D(x, σ))``.

When the denoiser is the prox of a convex function, ``D(·, σ) = prox_{g_σ}`` (e.g.
:class:`~inverselab.denoisers.WaveletDenoiser`, whose ``g_σ`` is ``fσ‖W_d ·‖₁``), each solver minimizes a
known objective, stated in its docstring; the tests check them against ISTA/FISTA/closed forms. With other
denoisers (BM3D, networks) they are the published heuristics, and the iteration count and ``tol`` are the
stopping rule. The quadratic x-updates of :func:`pnp_admm` and :func:`hqs` are exact (one FFT pair) for
Fourier-diagonal operators (circular blur, denoising), and otherwise ``cg_iter`` warm-started CG iterations
that the caller must give.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from .._checks import check_number
from ..denoisers import check_denoiser, check_sigma
from ..functionals.base import to_domain
from ..operators.base import LinearOperator
from ._common import (
    Monitor,
    SolverResult,
    check_operator,
    check_positive,
    data_step,
    initial_point,
    objective_l2,
)
from .admm import _QuadraticSolver

__all__ = ["pnp_pgd", "pnp_admm", "hqs", "red", "sigma_schedule"]

Denoiser = Callable[[torch.Tensor, float], torch.Tensor]


def _denoise(denoiser: Denoiser, x: torch.Tensor, sigma: float) -> torch.Tensor:
    """``denoiser(x, sigma)``, checked to return a tensor of ``x``'s shape."""
    out = denoiser(x, sigma)
    if not isinstance(out, torch.Tensor) or out.shape != x.shape:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"denoiser must return a tensor of its input's shape {tuple(x.shape)}, got {got}")
    return out


def _check_cg_iter(cg_iter: int | None) -> int | None:
    return None if cg_iter is None else int(check_number("cg_iter", cg_iter, low=1, integer=True))


def sigma_schedule(sigma_max: float, sigma_min: float, num_iter: int) -> list[float]:
    """The geometric noise-level schedule of DPIR: ``num_iter`` levels from ``sigma_max`` down to
    ``sigma_min`` (both included, equally spaced in log scale).

    Example:
        >>> sigma_schedule(0.4, 0.1, 3)
        [0.4, 0.2, 0.1]
    """
    sigma_max = check_sigma("sigma_max", sigma_max)
    sigma_min = check_sigma("sigma_min", sigma_min)
    num_iter = int(check_number("num_iter", num_iter, low=1, integer=True))
    if sigma_min > sigma_max:
        raise ValueError(f"sigma_min must be <= sigma_max ({sigma_max}), got {sigma_min}")
    if num_iter == 1:
        return [sigma_min]
    ratio = math.log(sigma_min / sigma_max) / (num_iter - 1)
    return [sigma_max * math.exp(ratio * k) for k in range(num_iter - 1)] + [sigma_min]


def pnp_pgd(
    y: torch.Tensor,
    A: LinearOperator,
    denoiser: Denoiser,
    sigma: float,
    *,
    step: float | None = None,
    accelerate: bool = False,
    num_iter: int = 100,
    tol: float = 1e-6,
    x0: torch.Tensor | None = None,
    callback: Callable[[int, torch.Tensor], object] | None = None,
    x_true: torch.Tensor | None = None,
    progress: bool = False,
) -> SolverResult:
    """Plug-and-play proximal gradient: ``x_{k+1} = D(z_k - step Aᴴ(A z_k - y), σ)``.

    Without acceleration ``z_k = x_k``; with ``accelerate=True`` ``z_k`` follows FISTA's momentum
    (``t_{k+1} = (1 + √(1 + 4t_k²)) / 2``, ``z_{k+1} = x_{k+1} + ((t_k - 1)/t_{k+1})(x_{k+1} - x_k)``). One
    ``A``, one ``Aᴴ`` and one denoiser call per iteration. If ``D(·, σ) = prox_{g_σ}`` this is exactly
    ISTA/FISTA on ``½‖Ax - y‖² + g_σ(x) / step``. ``history["data_fidelity"]`` records ``½‖Ax - y‖²``
    (summed over the batch); there is no objective for a general denoiser.

    References: S. V. Venkatakrishnan, C. A. Bouman and B. Wohlberg, "Plug-and-play priors for model based
    reconstruction", GlobalSIP 2013 (plug-and-play); U. S. Kamilov, H. Mansour and B. Wohlberg, "A
    plug-and-play priors approach for solving nonlinear imaging inverse problems", IEEE Signal Process.
    Lett. 24(12), 2017 (PnP-FISTA); Y. Sun, B. Wohlberg and U. S. Kamilov, "An online plug-and-play algorithm
    for regularized image reconstruction", IEEE Trans. Comput. Imaging 5(3), 2019 (PnP-PGD).

    Args:
        y: Measurements ``(B, *A.out_shape)``.
        A: Forward operator.
        denoiser: Callable ``denoiser(x, sigma) -> x``.
        sigma: Noise level passed to the denoiser (> 0).
        step: Gradient step size; default ``1 / ‖A‖²``.
        accelerate: Use FISTA momentum.
        num_iter: Maximum number of iterations.
        tol: Stop when ``‖x_{k+1} - x_k‖ / ‖x_k‖ <= tol``.
        x0: Starting point (default ``Aᴴy``).
        callback: Called as ``callback(iteration, x)``.
        x_true: Ground truth, to record ``history["psnr"]``.
        progress: Show a progress bar.

    Example:
        >>> import torch
        >>> from inverselab.operators import Identity
        >>> shrink = lambda x, s: torch.sign(x) * torch.clamp(x.abs() - s, min=0)  # prox of s‖·‖₁
        >>> pnp_pgd(torch.tensor([[3.0, -0.5]]), Identity((2,)), shrink, 1.0, num_iter=5).x
        tensor([[2., -0.]])
    """
    A = check_operator(A)
    y = A.check_measurement(y)
    denoiser = check_denoiser("denoiser", denoiser)
    sigma = check_sigma("sigma", sigma)
    step = check_positive("step", data_step(A) if step is None else step)
    monitor = Monitor("PnP-FISTA" if accelerate else "PnP-PGD", num_iter, tol, callback, x_true, progress)
    x = initial_point(y, A, x0)
    Ax = A(x)
    z, Az, t = x, Ax, 1.0
    for _ in range(monitor.num_iter):
        x_prev, Ax_prev = x, Ax
        x = _denoise(denoiser, z - step * to_domain(A.adjoint(Az - y), A), sigma)
        Ax = A(x)
        if accelerate:
            t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
            beta = (t - 1) / t_new
            z, Az, t = x + beta * (x - x_prev), Ax + beta * (Ax - Ax_prev), t_new
        else:
            z, Az = x, Ax
        if monitor.update(x, x_prev, None, data_fidelity=objective_l2(Ax - y).sum()):
            break
    return monitor.result(x)


def pnp_admm(
    y: torch.Tensor,
    A: LinearOperator,
    denoiser: Denoiser,
    sigma: float,
    *,
    rho: float = 1.0,
    cg_iter: int | None = None,
    num_iter: int = 100,
    tol: float = 1e-6,
    x0: torch.Tensor | None = None,
    callback: Callable[[int, torch.Tensor], object] | None = None,
    x_true: torch.Tensor | None = None,
    progress: bool = False,
) -> SolverResult:
    """Plug-and-play ADMM: ADMM for ``x = z`` with the z-update replaced by the denoiser.

    ``x ← (AᴴA + ρI)⁻¹(Aᴴy + ρ(z - u))``, ``z ← D(x + u, σ)``, ``u ← u + x - z``, from ``z = x0``, ``u = 0``.
    The x-update is exact for Fourier-diagonal ``A`` (one FFT pair), otherwise ``cg_iter`` CG iterations
    warm-started at the previous ``x``. If ``D(·, σ) = prox_{g_σ}`` this is exactly ADMM on
    ``½‖Ax - y‖² + ρ g_σ(x)``. Returns ``z``; ``history["primal_residual"]`` records ``‖x - z‖`` and
    ``history["data_fidelity"]`` ``½‖Az - y‖²``.

    Reference: S. V. Venkatakrishnan, C. A. Bouman and B. Wohlberg, "Plug-and-play priors for model based
    reconstruction", IEEE GlobalSIP 2013; S. H. Chan, X. Wang and O. A. Elgendy, "Plug-and-play ADMM for
    image restoration: fixed-point convergence and applications", IEEE Trans. Comput. Imaging 3(1), 2017.

    Args:
        y: Measurements ``(B, *A.out_shape)``.
        A: Forward operator.
        denoiser: Callable ``denoiser(x, sigma) -> x``.
        sigma: Noise level passed to the denoiser (> 0).
        rho: Penalty parameter ρ (> 0).
        cg_iter: CG iterations per x-update (required unless ``A`` is Fourier-diagonal).
        num_iter: Maximum number of iterations.
        tol: Stop when ``‖z_{k+1} - z_k‖ / ‖z_k‖ <= tol``.
        x0: Starting point (default ``Aᴴy``).
        callback: Called as ``callback(iteration, z)``.
        x_true: Ground truth, to record ``history["psnr"]``.
        progress: Show a progress bar.

    Example:
        >>> import torch
        >>> from inverselab.operators import Identity
        >>> shrink = lambda x, s: torch.sign(x) * torch.clamp(x.abs() - s, min=0)  # prox of s‖·‖₁
        >>> pnp_admm(torch.tensor([[3.0, -0.5]]), Identity((2,)), shrink, 1.0, num_iter=50).x
        tensor([[2., -0.]])
    """
    A = check_operator(A)
    y = A.check_measurement(y)
    denoiser = check_denoiser("denoiser", denoiser)
    sigma = check_sigma("sigma", sigma)
    rho = check_positive("rho", rho)
    cg_iter = _check_cg_iter(cg_iter)
    monitor = Monitor("PnP-ADMM", num_iter, tol, callback, x_true, progress)
    x = initial_point(y, A, x0)
    solve = _QuadraticSolver(A, rho, None, cg_iter, x)
    AHy = to_domain(A.adjoint(y), A)
    z, u = x, torch.zeros_like(x)
    for _ in range(monitor.num_iter):
        x, _ = solve(AHy + rho * (z - u), x)
        z_prev = z
        z = _denoise(denoiser, x + u, sigma)
        u = u + x - z
        if monitor.update(
            z,
            z_prev,
            None,
            data_fidelity=objective_l2(A(z) - y).sum(),
            primal_residual=torch.linalg.vector_norm(x - z),
        ):
            break
    return monitor.result(z)


def hqs(
    y: torch.Tensor,
    A: LinearOperator,
    denoiser: Denoiser,
    sigmas: Sequence[float],
    *,
    lam: float,
    cg_iter: int | None = None,
    tol: float = 0.0,
    x0: torch.Tensor | None = None,
    callback: Callable[[int, torch.Tensor], object] | None = None,
    x_true: torch.Tensor | None = None,
    progress: bool = False,
) -> SolverResult:
    """Half-quadratic splitting with a decreasing noise-level schedule (the DPIR iteration).

    For ``k = 1 ... len(sigmas)``, with ``μ_k = λ / σ_k²``:
    ``x_k = argmin_x ½‖Ax - y‖² + (μ_k/2)‖x - z_{k-1}‖² = (AᴴA + μ_k I)⁻¹(Aᴴy + μ_k z_{k-1})`` and
    ``z_k = D(x_k, σ_k)``, from ``z_0 = x0``. If ``D(·, σ)`` is the MAP denoiser of a prior ``Φ``
    (``prox_{σ²Φ}``), the z-step is exactly ``argmin_z (μ_k/2)‖x_k - z‖² + λΦ(z)``: HQS on
    ``½‖Ax - y‖² + λΦ(x)`` with the penalty ``μ_k`` growing as ``σ_k`` falls. (DPIR's ``λ`` is ours divided
    by the measurement noise variance.) With a constant schedule ``σ_k = σ`` and ``D(·, σ) = prox_{g_σ}``,
    HQS is alternating minimization of ``½‖Ax - y‖² + (μ/2)‖x - z‖² + μ g_σ(z)`` and converges to its
    minimizer (it is proximal gradient with step ``1/μ`` on that function minimized over ``x``).

    The x-update is exact for Fourier-diagonal ``A``, otherwise ``cg_iter`` CG iterations warm-started at the
    previous ``x``. Returns ``z`` (the last denoiser output).

    Reference: K. Zhang, Y. Li, W. Zuo, L. Zhang, L. Van Gool and R. Timofte, "Plug-and-play image restoration
    with deep denoiser prior", IEEE Trans. Pattern Anal. Mach. Intell. 44(10), 2021 (DPIR).

    Args:
        y: Measurements ``(B, *A.out_shape)``.
        A: Forward operator.
        denoiser: Callable ``denoiser(x, sigma) -> x``.
        sigmas: Noise levels, one per iteration, each > 0 and non-increasing (e.g. :func:`sigma_schedule`).
        lam: Prior weight λ (> 0).
        cg_iter: CG iterations per x-update (required unless ``A`` is Fourier-diagonal).
        tol: Stop early when ``‖z_{k+1} - z_k‖ / ‖z_k‖ <= tol`` (default 0: run the whole schedule).
        x0: Starting point (default ``Aᴴy``).
        callback: Called as ``callback(iteration, z)``.
        x_true: Ground truth, to record ``history["psnr"]``.
        progress: Show a progress bar.

    Example:
        >>> import torch
        >>> from inverselab.operators import Identity
        >>> identity = lambda x, s: x
        >>> hqs(torch.ones(1, 2), Identity((2,)), identity, [0.5, 0.1], lam=0.01).x
        tensor([[1., 1.]])
    """
    A = check_operator(A)
    y = A.check_measurement(y)
    denoiser = check_denoiser("denoiser", denoiser)
    if isinstance(sigmas, (str, bytes)) or not isinstance(sigmas, Sequence):
        raise TypeError(f"sigmas must be a sequence of noise levels, got {type(sigmas).__name__}")
    if len(sigmas) == 0:
        raise ValueError("sigmas must contain at least one noise level, got an empty sequence")
    sigmas = [check_sigma(f"sigmas[{k}]", s) for k, s in enumerate(sigmas)]
    for k in range(1, len(sigmas)):
        if sigmas[k] > sigmas[k - 1]:
            raise ValueError(
                f"sigmas must be non-increasing, got sigmas[{k}] = {sigmas[k]} > sigmas[{k - 1}] = "
                f"{sigmas[k - 1]}"
            )
    lam = check_positive("lam", lam)
    cg_iter = _check_cg_iter(cg_iter)
    monitor = Monitor("HQS", len(sigmas), tol, callback, x_true, progress)
    x = initial_point(y, A, x0)
    AHy = to_domain(A.adjoint(y), A)
    z = x
    for sigma in sigmas:
        mu = lam / sigma**2
        solve = _QuadraticSolver(A, mu, None, cg_iter, x)
        x, _ = solve(AHy + mu * z, x)
        z_prev = z
        z = _denoise(denoiser, x, sigma)
        if monitor.update(z, z_prev, None, data_fidelity=objective_l2(A(z) - y).sum(), sigma=sigma):
            break
    return monitor.result(z)


def red(
    y: torch.Tensor,
    A: LinearOperator,
    denoiser: Denoiser,
    sigma: float,
    *,
    lam: float,
    step: float | None = None,
    num_iter: int = 100,
    tol: float = 1e-6,
    x0: torch.Tensor | None = None,
    callback: Callable[[int, torch.Tensor], object] | None = None,
    x_true: torch.Tensor | None = None,
    progress: bool = False,
) -> SolverResult:
    """Regularization by denoising (RED), steepest-descent variant.

    ``x_{k+1} = x_k - step (Aᴴ(A x_k - y) + λ (x_k - D(x_k, σ)))``: gradient descent on
    ``½‖Ax - y‖² + (λ/2) xᵀ(x - D(x, σ))``, whose gradient is ``Aᴴ(Ax - y) + λ(x - D(x))`` when the
    denoiser is locally homogeneous with a symmetric Jacobian (exactly so for a symmetric linear denoiser
    ``D(x) = Mx``). One ``A``, one ``Aᴴ`` and one denoiser call per iteration. ``history["objective"][k]``
    records that objective at ``x_k``, the iterate the ``k``-th step starts from (its denoiser output is at
    hand; meaningful under the same assumptions).

    Reference: Y. Romano, M. Elad and P. Milanfar, "The little engine that could: regularization by denoising
    (RED)", SIAM J. Imaging Sci. 10(4), 2017.

    Args:
        y: Measurements ``(B, *A.out_shape)``.
        A: Forward operator.
        denoiser: Callable ``denoiser(x, sigma) -> x``.
        sigma: Noise level passed to the denoiser (> 0).
        lam: Regularization weight λ (> 0).
        step: Step size; default ``1 / (‖A‖² + 2λ)`` (safe for any nonexpansive denoiser).
        num_iter: Maximum number of iterations.
        tol: Stop when ``‖x_{k+1} - x_k‖ / ‖x_k‖ <= tol``.
        x0: Starting point (default ``Aᴴy``).
        callback: Called as ``callback(iteration, x)``.
        x_true: Ground truth, to record ``history["psnr"]``.
        progress: Show a progress bar.

    Example:
        >>> import torch
        >>> from inverselab.operators import Identity
        >>> smooth = lambda x, s: x.mean(dim=1, keepdim=True).expand_as(x)  # symmetric, linear
        >>> red(torch.tensor([[0.0, 2.0]]), Identity((2,)), smooth, 1.0, lam=1.0, num_iter=200).x
        tensor([[0.5000, 1.5000]])
    """
    A = check_operator(A)
    y = A.check_measurement(y)
    denoiser = check_denoiser("denoiser", denoiser)
    sigma = check_sigma("sigma", sigma)
    lam = check_positive("lam", lam)
    step = check_positive("step", data_step(A, 2 * lam) if step is None else step)
    monitor = Monitor("RED", num_iter, tol, callback, x_true, progress)
    x = initial_point(y, A, x0)
    Ax = A(x)
    for _ in range(monitor.num_iter):
        x_prev, Ax_prev = x, Ax
        residual = x - _denoise(denoiser, x, sigma)
        x = x - step * (to_domain(A.adjoint(Ax - y), A) + lam * residual)
        Ax = A(x)
        # the objective at x_prev, whose denoiser residual is at hand (no extra denoiser call)
        prior = 0.5 * lam * torch.sum((x_prev.conj() * residual).real.reshape(x.shape[0], -1), dim=1)
        if monitor.update(x, x_prev, objective_l2(Ax_prev - y) + prior):
            break
    return monitor.result(x)
