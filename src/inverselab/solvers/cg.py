"""Conjugate gradients, and Tikhonov-regularized least squares by CG on the normal equations."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._checks import check_number, check_tensor
from ..functionals.base import batch_sum, squared_norm, to_domain
from ..operators.base import LinearOperator
from ._common import Monitor, SolverResult, check_operator, initial_point

__all__ = ["cg", "tikhonov_cg"]


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``Re <a, b>`` per batch item, shape ``(B,)``."""
    prod = a.conj() * b if a.is_complex() or b.is_complex() else a * b
    return batch_sum(prod.real if prod.is_complex() else prod)


def _bcast(s: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return s.reshape(-1, *([1] * (like.ndim - 1)))


def _cg_steps(apply, b: torch.Tensor, x: torch.Tensor, r: torch.Tensor):
    """Yield ``(x, x_prev, r, relative_residual)`` after each CG iteration (one ``apply`` per iteration)."""
    b_norm = torch.sqrt(_dot(b, b))
    b_norm = torch.where(b_norm > 0, b_norm, torch.ones_like(b_norm))
    p = r.clone()
    rs = _dot(r, r)
    tiny = torch.finfo(rs.dtype).tiny
    while True:
        Mp = apply(p)
        # rs = 0 (a converged item) gives alpha = beta = 0: that item stays put
        alpha = _bcast(rs / torch.clamp(_dot(p, Mp), min=tiny), x)
        x_prev = x
        x = x + alpha * p
        r = r - alpha * Mp
        rs_new = _dot(r, r)
        p = r + _bcast(rs_new / torch.clamp(rs, min=tiny), p) * p
        rs = rs_new
        yield x, x_prev, r, float((torch.sqrt(rs) / b_norm).max())


def _relative_residual(b: torch.Tensor, r: torch.Tensor) -> float:
    b_norm = torch.sqrt(_dot(b, b))
    return float((torch.sqrt(_dot(r, r)) / torch.where(b_norm > 0, b_norm, torch.ones_like(b_norm))).max())


def cg(
    apply: Callable[[torch.Tensor], torch.Tensor],
    b: torch.Tensor,
    *,
    x0: torch.Tensor | None = None,
    num_iter: int = 100,
    tol: float = 1e-6,
    callback: Callable[[int, torch.Tensor], object] | None = None,
) -> SolverResult:
    """Conjugate gradients for ``M x = b`` with ``M`` Hermitian positive (semi)definite, batched.

    Every batch item is an independent system (``apply`` must act on the items separately); each gets its own
    step sizes. Complex-aware (inner products ``Re <a, b>``). Stops when the relative residual
    ``max_b ‖b_b - M x_b‖ / ‖b_b‖`` falls below ``tol`` or after ``num_iter`` iterations;
    ``history["residual"]`` records that quantity and ``history["relative_change"]`` the change of ``x``.

    Reference: M. R. Hestenes and E. Stiefel, "Methods of conjugate gradients for solving linear systems",
    J. Res. Nat. Bur. Standards 49(6), 1952.

    Args:
        apply: The map ``x -> M x``.
        b: Right-hand side ``(B, ...)``.
        x0: Starting point (zeros when omitted).
        num_iter: Maximum number of iterations.
        tol: Relative residual tolerance.
        callback: Called as ``callback(iteration, x)`` after each iteration.

    Example:
        >>> import torch
        >>> M = torch.tensor([[4.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
        >>> res = cg(lambda x: x @ M, torch.tensor([[1.0, 2.0]], dtype=torch.float64), num_iter=10)
        >>> res.x, res.converged
        (tensor([[0.0909, 0.6364]], dtype=torch.float64), True)
    """
    if not callable(apply):
        raise TypeError(f"apply must be callable as apply(x) -> M x, got {type(apply).__name__}")
    check_tensor("b", b, min_ndim=1)
    monitor = Monitor("CG", num_iter, tol, callback, None, progress=False)
    x = torch.zeros_like(b) if x0 is None else check_tensor("x0", x0, ndim=b.ndim, shape=b.shape[1:]).clone()
    r = b - apply(x) if x0 is not None else b.clone()
    if _relative_residual(b, r) <= tol:
        monitor.converged = True
        return monitor.result(x)
    steps = _cg_steps(apply, b, x, r)
    for _ in range(monitor.num_iter):
        x, x_prev, r, residual = next(steps)
        monitor.update(x, x_prev, None, residual=residual)
        monitor.converged = residual <= tol
        if monitor.converged:
            break
    return monitor.result(x)


def tikhonov_cg(
    y: torch.Tensor,
    A: LinearOperator,
    lam: float = 0.0,
    *,
    num_iter: int = 100,
    tol: float = 1e-6,
    x0: torch.Tensor | None = None,
    callback: Callable[[int, torch.Tensor], object] | None = None,
    x_true: torch.Tensor | None = None,
    progress: bool = False,
) -> SolverResult:
    """Tikhonov-regularized least squares ``min_x ½‖Ax - y‖² + (λ/2)‖x‖²`` by CG on ``(AᴴA + λI) x = Aᴴy``.

    With ``lam=0`` this is least squares (CGNE/CGLS in exact arithmetic); the iteration count then acts as the
    regularization. The objective is tracked without extra operator applications
    (``f(x) = -½ Re<x, Aᴴy + r> + ½‖y‖²`` with ``r`` the CG residual). Stops when the relative residual of the
    normal equations falls below ``tol``.

    Args:
        y: Measurements ``(B, *A.out_shape)``.
        A: Forward operator.
        lam: Tikhonov weight λ (>= 0).
        num_iter: Maximum number of CG iterations.
        tol: Relative residual tolerance on the normal equations.
        x0: Starting point (default ``Aᴴy``).
        callback: Called as ``callback(iteration, x)``.
        x_true: Ground truth, to record ``history["psnr"]``.
        progress: Show a progress bar.

    Returns:
        A :class:`SolverResult`.

    Example:
        >>> import torch
        >>> from inverselab.operators import Identity
        >>> y = torch.ones(1, 4, dtype=torch.float64)
        >>> tikhonov_cg(y, 2 * Identity((4,)), lam=1.0).x  # (4 + 1) x = 2
        tensor([[0.4000, 0.4000, 0.4000, 0.4000]], dtype=torch.float64)
    """
    A = check_operator(A)
    y = A.check_measurement(y)
    lam = float(check_number("lam", lam, low=0))
    monitor = Monitor("Tikhonov-CG", num_iter, tol, callback, x_true, progress)
    b = to_domain(A.adjoint(y), A)
    x = initial_point(y, A, x0)
    const = 0.5 * squared_norm(y)

    def apply(z: torch.Tensor) -> torch.Tensor:
        return to_domain(A.normal(z), A) + lam * z

    r = b - apply(x)
    if _relative_residual(b, r) <= tol:
        monitor.converged = True
        return monitor.result(x)
    steps = _cg_steps(apply, b, x, r)
    for _ in range(monitor.num_iter):
        x, x_prev, r, residual = next(steps)
        objective = const - 0.5 * _dot(x, b + r)
        monitor.update(x, x_prev, objective, residual=residual)
        monitor.converged = residual <= tol
        if monitor.converged:
            break
    return monitor.result(x)
