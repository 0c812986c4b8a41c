"""Approximate message passing (AMP) for compressed sensing, its state evolution and the phase transition.

AMP (Donoho, Maleki & Montanari, PNAS 2009) recovers a sparse ``x`` from ``y = A x + w`` by iterating::

    x_{t+1} = eta(x_t + Aᵀ z_t; alpha tau_t)
    z_{t+1} = y - A x_{t+1} + (1/delta) <eta'(x_t + Aᵀ z_t; alpha tau_t)> z_t

with the soft-threshold denoiser ``eta``, ``delta = m / n`` and the Onsager correction (the last term). For
an ``m x n`` matrix with i.i.d. ``N(0, 1/m)`` entries (or columns of about unit norm) and large ``n``, the
pseudo-data ``x_t + Aᵀ z_t`` behaves like ``x + tau_t Z`` with Gaussian ``Z``, and ``tau_t`` follows the
scalar *state evolution* recursion (Bayati & Montanari, IEEE Trans. Inf. Theory 2011), computed here by
:func:`state_evolution`. Its fixed-point analysis gives the minimax phase transition ``rho_SE(delta)``
(:func:`phase_transition_rho`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import torch

from .._checks import check_choice, check_number
from ..functionals.base import squared_norm
from ..functionals.norms import soft_threshold
from ..operators.base import LinearOperator
from ._common import Monitor, SolverResult

__all__ = [
    "StateEvolution",
    "soft_threshold",
    "amp",
    "state_evolution",
    "phase_transition_rho",
    "phase_transition_threshold",
]

#: ``Phi^{-1}(3/4)``: the median of ``|Z|`` for a standard Gaussian ``Z``.
_MAD_TO_STD = NormalDist().inv_cdf(0.75)


@dataclass
class StateEvolution:
    """The state-evolution prediction of AMP, one entry per iteration ``t = 1, ..., num_iter``.

    Attributes:
        mse: Predicted per-entry mean squared error ``E[(x_t - x)^2]`` of the iterate ``x_t``.
        nmse_db: ``10 log10(mse / eps)``, the normalized MSE in dB (``E[X^2] = eps``).
        tau: Effective noise level ``tau_{t-1}`` of the pseudo-data that produced ``x_t``.
    """

    mse: list[float]
    nmse_db: list[float]
    tau: list[float]


def _expand(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape a per-item ``(B,)`` tensor to broadcast against ``like`` of shape ``(B, ...)``."""
    return v.reshape(-1, *([1] * (like.ndim - 1)))


def amp(
    y: torch.Tensor,
    A: LinearOperator,
    *,
    alpha: float = 1.0,
    num_iter: int = 100,
    tol: float = 1e-6,
    tau_estimate: str = "residual",
    callback: Callable[[int, torch.Tensor], None] | None = None,
    x_true: torch.Tensor | None = None,
    progress: bool = False,
) -> SolverResult:
    """Approximate message passing with the soft-threshold denoiser (Donoho, Maleki & Montanari, PNAS 2009).

    Starting from ``x_0 = 0, z_0 = y``, each iteration computes the pseudo-data ``r = x_t + Aᵀ z_t``, the
    estimate ``x_{t+1} = soft_threshold(r, alpha * tau_t)`` and the corrected residual
    ``z_{t+1} = y - A x_{t+1} + (‖x_{t+1}‖₀ / m) z_t`` (the Onsager term ``(1/delta) <eta'> z_t``, since
    ``eta'`` is 1 on the support and 0 elsewhere). The noise level of the pseudo-data is estimated per batch
    item at every iteration, either as ``tau_t = ‖z_t‖ / sqrt(m)`` (``tau_estimate="residual"``, as in
    Bayati & Montanari 2011) or as ``median(|Aᵀ z_t|) / 0.6745`` (``"median"``, robust to the few large
    entries on the support).

    AMP's guarantees assume ``A`` is like an ``m x n`` matrix with i.i.d. ``N(0, 1/m)`` entries (columns of
    about unit norm). For other operators (e.g. a badly scaled or highly structured one) it may diverge;
    rescale ``A`` so that its columns have unit norm. The iterates then follow :func:`state_evolution` for
    large ``n``. Real signals only. Works on batches: every item has its own ``tau_t``.

    Args:
        y: Measurements ``(B, *A.out_shape)``.
        A: The linear forward operator.
        alpha: Threshold multiplier (> 0): the threshold is ``alpha * tau_t``. The minimax choice for a given
            ``delta`` is :func:`phase_transition_threshold`; ``alpha = 1`` is a common default.
        num_iter: Maximum number of iterations.
        tol: Stop when ``‖x_{t+1} - x_t‖ <= tol ‖x_t‖`` (norms over the whole batch).
        tau_estimate: ``"residual"`` or ``"median"`` (see above).
        callback: Called as ``callback(t, x_t)`` after each iteration ``t = 1, 2, ...``.
        x_true: Ground truth ``(B, *A.in_shape)``; when given, ``history["nmse_db"]`` records
            ``10 log10(sum_b ‖x_t - x‖² / sum_b ‖x‖²)`` (pooled over the batch) at each iteration.
        progress: Show a progress bar.

    Returns:
        A :class:`~inverselab.solvers.SolverResult`. Its history has, per iteration, ``"relative_change"``,
        ``"tau"`` (root-mean-square over the batch of the estimated ``tau_t`` used in that iteration) and,
        when ``x_true`` is given, ``"nmse_db"`` and ``"psnr"``.

    Example:
        >>> import torch
        >>> from inverselab.operators.compressed_sensing import GaussianMatrix
        >>> A = GaussianMatrix(400, 200, generator=0)
        >>> x = torch.zeros(1, 400, dtype=torch.float64)
        >>> x[0, :20] = torch.randn(20, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        >>> res = amp(A(x), A, num_iter=100, x_true=x)
        >>> res.history["nmse_db"][-1] < -60
        True
    """
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A must be a LinearOperator, got {type(A).__name__}")
    if A.in_complex or A.out_complex:
        raise ValueError("A must be a real operator for AMP, got a complex one")
    A.check_measurement(y, "y")
    if y.is_complex():
        raise ValueError(f"y must be real for AMP, got dtype {y.dtype}")
    alpha = check_number("alpha", alpha, low=0, low_inclusive=False)
    num_iter = check_number("num_iter", num_iter, low=1, integer=True)
    tol = check_number("tol", tol, low=0)
    check_choice("tau_estimate", tau_estimate, ["residual", "median"])
    if x_true is not None:
        A.check_input(x_true, "x_true")
        if x_true.shape[0] != y.shape[0]:
            raise ValueError(
                f"x_true must have batch size {y.shape[0]} like y, got shape {tuple(x_true.shape)}"
            )
        x_true = x_true.to(y.device)
        x_true_norm2 = max(float(squared_norm(x_true.double()).sum()), 1e-300)

    m = math.prod(A.out_shape)
    batch = y.shape[0]
    x = torch.zeros((batch, *A.in_shape), dtype=y.dtype, device=y.device)
    z = y.clone()
    monitor = Monitor("AMP", num_iter, tol, callback, x_true, progress)
    for _ in range(monitor.num_iter):
        ATz = A.adjoint(z)
        if tau_estimate == "residual":
            tau = torch.sqrt(squared_norm(z) / m)
        else:
            tau = torch.median(torch.abs(ATz).reshape(batch, -1), dim=1).values / _MAD_TO_STD
        x_prev, x = x, soft_threshold(x + ATz, _expand(alpha * tau, x))
        # Onsager term (1/delta) <eta'> z = (||x||_0 / m) z, one coefficient per batch item.
        onsager = torch.count_nonzero(x.reshape(batch, -1), dim=1).to(y.dtype) / m
        z = y - A(x) + _expand(onsager, z) * z
        extra = {"tau": math.sqrt(float(torch.mean(tau.double() ** 2)))}
        if x_true is not None:
            err = float(squared_norm(x.double() - x_true.double()).sum()) / x_true_norm2
            extra["nmse_db"] = 10 * math.log10(max(err, 1e-300))
        if monitor.update(x, x_prev, None, **extra):
            break
    return monitor.result(x)


# --- state evolution ---------------------------------------------------------------------------------------
def _Phi(z: float) -> float:  # noqa: N802 - standard notation
    """Standard normal CDF."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _phi(z: float) -> float:
    """Standard normal density."""
    return math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _g(a: float) -> float:
    """``(1 + a²) Phi(-a) - a phi(a)``: half the risk ``E[eta(Z; a)²]`` of soft thresholding pure noise."""
    return (1 + a * a) * _Phi(-a) - a * _phi(a)


def _soft_threshold_mse(tau: float, sparsity: float, alpha: float) -> float:
    """``E[(eta(X + tau Z; alpha tau) - X)²]`` for ``X ~ (1-eps) delta_0 + eps N(0, 1)``, in closed form.

    On ``X = 0`` the error is ``tau² · 2 g(alpha)``. On ``X ~ N(0, 1)``, ``Y = X + tau Z ~ N(0, s²)`` with
    ``s² = 1 + tau²`` and ``E[X | Y] = Y / s²``; with ``a = alpha tau / s`` this gives
    ``E[eta(Y)²] = 2 s² g(a)`` and ``E[eta(Y) X] = E[eta(Y) Y] / s² = 2 Phi(-a)``, so the error is
    ``2 s² g(a) - 4 Phi(-a) + 1``. With ``q = Phi(a) - 1/2`` and ``s² (1 + a²) = 1 + tau² (1 + alpha²)`` this
    is ``tau² (1 + alpha²) + 2 q (1 - tau² (1 + alpha²)) - 2 s² a phi(a)``, which avoids the cancellation
    of O(1) terms, so the result stays accurate down to tiny ``tau`` (it is ``~ tau² (1 + alpha²)`` there).
    """
    s2 = 1.0 + tau * tau
    a = alpha * tau / math.sqrt(s2)
    q = 0.5 * math.erf(a / math.sqrt(2.0))
    b = tau * tau * (1.0 + alpha * alpha)
    on_support = b + 2.0 * q * (1.0 - b) - 2.0 * s2 * a * _phi(a)
    return (1.0 - sparsity) * tau * tau * 2.0 * _g(alpha) + sparsity * max(on_support, 0.0)


def state_evolution(
    delta: float,
    sparsity: float,
    *,
    alpha: float = 1.0,
    sigma: float = 0.0,
    num_iter: int = 30,
    tau0: float | None = None,
) -> StateEvolution:
    """State evolution of AMP with threshold ``alpha * tau_t`` for Bernoulli-Gaussian signals.

    For ``X ~ (1 - eps) delta_0 + eps N(0, 1)`` and ``Z ~ N(0, 1)`` (Bayati & Montanari 2011):

    ``tau_{t+1}² = sigma² + (1/delta) E[(eta(X + tau_t Z; alpha tau_t) - X)²]``,
    ``tau_0² = sigma² + E[X²] / delta`` (AMP starts from ``x_0 = 0``),

    and the MSE of the iterate ``x_{t+1}`` is the expectation in that formula. The expectation is evaluated in
    closed form (Gaussian integrals of the soft threshold), which is exact at every ``tau``; Gauss-Hermite
    quadrature of the same integral loses several percent once ``tau`` falls to a few hundredths, because the
    integrand has a kink of width ``~tau`` at ``X = 0``.

    Args:
        delta: Undersampling ratio ``m / n`` in ``(0, 1]``.
        sparsity: Fraction ``eps`` of nonzero entries, in ``(0, 1)``.
        alpha: Threshold multiplier (> 0).
        sigma: Standard deviation of the measurement noise (for ``A`` with unit-norm columns).
        num_iter: Number of iterations to predict.
        tau0: Initial noise level ``tau_0`` (default ``sqrt(sigma² + eps / delta)``).

    Returns:
        A :class:`StateEvolution` with the predicted MSE, NMSE in dB and ``tau`` for ``t = 1..num_iter``.

    Example:
        >>> se = state_evolution(0.5, 0.1, num_iter=10)
        >>> [round(v, 1) for v in (se.nmse_db[4], se.nmse_db[9])]
        [-12.4, -22.1]
    """
    delta = check_number("delta", delta, low=0, high=1, low_inclusive=False)
    sparsity = check_number("sparsity", sparsity, low=0, high=1, low_inclusive=False, high_inclusive=False)
    alpha = check_number("alpha", alpha, low=0, low_inclusive=False)
    sigma = check_number("sigma", sigma, low=0)
    num_iter = check_number("num_iter", num_iter, low=1, integer=True)
    if tau0 is None:
        tau2 = sigma**2 + sparsity / delta
    else:
        tau2 = check_number("tau0", tau0, low=0, low_inclusive=False) ** 2
    mse, nmse_db, taus = [], [], []
    for _ in range(num_iter):
        tau = math.sqrt(tau2)
        err = _soft_threshold_mse(tau, sparsity, alpha)
        taus.append(tau)
        mse.append(err)
        nmse_db.append(10 * math.log10(max(err / sparsity, 1e-300)))
        tau2 = sigma**2 + err / delta
    return StateEvolution(mse=mse, nmse_db=nmse_db, tau=taus)


# --- phase transition --------------------------------------------------------------------------------------
def _rho_of_threshold(z: float, delta: float, kappa: float) -> float:
    g = _g(z)
    return (1.0 - (kappa / delta) * g) / (1.0 + z * z - kappa * g)


def _phase_transition(delta: float, signed: bool) -> tuple[float, float]:
    """``(rho_SE, z*)``: maximize over ``z`` by a grid search refined with golden sections."""
    delta = check_number("delta", delta, low=0, high=1, low_inclusive=False)
    if not isinstance(signed, bool):
        raise TypeError(f"signed must be a bool, got {signed!r}")
    kappa = 2.0 if signed else 1.0
    # z = 0 is excluded: there the signed denominator 1 + z² - 2 g(z) vanishes (and rho < 0 nearby).
    zmax, num = 12.0, 1200
    grid = [zmax * (i + 1) / num for i in range(num)]
    if delta == 1.0:
        return 1.0, 0.0  # the supremum, approached as z -> 0 (no undersampling, no threshold needed)
    best = max(range(num), key=lambda i: _rho_of_threshold(grid[i], delta, kappa))
    lo, hi = (grid[best - 1] if best > 0 else 1e-8), grid[min(best + 1, num - 1)]
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(100):
        c, d = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if _rho_of_threshold(c, delta, kappa) >= _rho_of_threshold(d, delta, kappa):
            hi = d
        else:
            lo = c
    z = 0.5 * (lo + hi)
    return _rho_of_threshold(z, delta, kappa), z


def phase_transition_rho(delta: float, signed: bool = True) -> float:
    """The minimax phase transition ``rho_SE(delta)`` of AMP / L1 (Donoho, Maleki & Montanari, PNAS 2009).

    ``rho_SE(delta) = max_z [1 - (kappa/delta) g(z)] / [1 + z² - kappa g(z)]`` with
    ``g(z) = (1 + z²) Phi(-z) - z phi(z)``, ``kappa = 2`` for signed and ``1`` for nonnegative signals.
    Noiseless AMP with the optimal threshold recovers ``k``-sparse signals from ``m = delta n`` measurements
    when ``rho = k / m`` is below the curve, and fails above it. In :func:`amp` and :func:`state_evolution`
    terms, ``sparsity = rho * delta``.

    Args:
        delta: Undersampling ratio ``m / n`` in ``(0, 1]``.
        signed: Signed signals (soft threshold) or nonnegative ones (positive soft threshold).

    Example:
        >>> round(phase_transition_rho(0.5), 4), round(phase_transition_rho(0.5, signed=False), 4)
        (0.3857, 0.5582)
    """
    return _phase_transition(delta, signed)[0]


def phase_transition_threshold(delta: float, signed: bool = True) -> float:
    """The maximizing ``z*`` in :func:`phase_transition_rho`: the minimax threshold multiplier ``alpha``.

    With ``alpha = z*`` the noiseless state evolution contracts to zero error exactly for
    ``rho < rho_SE(delta)``.

    Args:
        delta: Undersampling ratio ``m / n`` in ``(0, 1]``.
        signed: Signed or nonnegative signals.

    Example:
        >>> round(phase_transition_threshold(0.5), 3)
        0.877
    """
    return _phase_transition(delta, signed)[1]
