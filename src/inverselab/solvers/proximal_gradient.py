"""Gradient descent (Landweber) and proximal gradient (ISTA, FISTA) for ``½‖Ax - y‖² + g(x)``."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..functionals.base import Functional, Zero, to_domain
from ..operators.base import LinearOperator
from ._common import (
    Monitor,
    SolverResult,
    check_functional,
    check_operator,
    check_positive,
    data_step,
    initial_point,
    objective_l2,
)

__all__ = ["gradient_descent", "ista", "fista"]


def gradient_descent(
    y: torch.Tensor,
    A: LinearOperator,
    regularizer: Functional | None = None,
    *,
    step: float | None = None,
    num_iter: int = 100,
    tol: float = 1e-6,
    x0: torch.Tensor | None = None,
    callback: Callable[[int, torch.Tensor], object] | None = None,
    x_true: torch.Tensor | None = None,
    progress: bool = False,
) -> SolverResult:
    """Gradient descent on ``½‖Ax - y‖² + R(x)`` for a smooth ``R`` (Landweber iteration without ``R``).

    ``x_{k+1} = x_k - step (Aᴴ(A x_k - y) + ∇R(x_k))``; one ``A`` and one ``Aᴴ`` per iteration.

    Reference: L. Landweber, "An iteration formula for Fredholm integral equations of the first kind",
    Amer. J. Math. 73(3), 1951.

    Args:
        y: Measurements ``(B, *A.out_shape)``.
        A: Forward operator.
        regularizer: Smooth functional with ``grad`` (e.g. :class:`~inverselab.functionals.Tikhonov`).
        step: Step size; default ``1 / (‖A‖² + L_R)`` with ``L_R`` the regularizer's ``lipschitz``.
        num_iter: Maximum number of iterations.
        tol: Stop when ``‖x_{k+1} - x_k‖ / ‖x_k‖ <= tol``.
        x0: Starting point (default ``Aᴴy``).
        callback: Called as ``callback(iteration, x)``.
        x_true: Ground truth, to record ``history["psnr"]``.
        progress: Show a progress bar.

    Example:
        >>> import torch
        >>> from inverselab.operators import Identity
        >>> res = gradient_descent(torch.ones(1, 3), 2 * Identity((3,)), num_iter=50)
        >>> res.x
        tensor([[0.5000, 0.5000, 0.5000]])
    """
    A = check_operator(A)
    y = A.check_measurement(y)
    reg = Zero() if regularizer is None else check_functional("regularizer", regularizer, "grad")
    if not getattr(reg, "smooth", True):
        raise TypeError(
            f"regularizer must be smooth (have a gradient), got {type(reg).__name__}; use ista/fista"
        )
    if step is None:
        if reg.lipschitz is None:
            raise ValueError(
                "step must be given when the regularizer has no known Lipschitz constant (lipschitz)"
            )
        step = data_step(A, reg.lipschitz)
    step = check_positive("step", step)
    monitor = Monitor("Gradient descent", num_iter, tol, callback, x_true, progress)
    x = initial_point(y, A, x0)
    Ax = A(x)
    for _ in range(monitor.num_iter):
        x_prev = x
        x = x - step * (to_domain(A.adjoint(Ax - y), A) + reg.grad(x))
        Ax = A(x)
        if monitor.update(x, x_prev, objective_l2(Ax - y) + reg.value(x)):
            break
    return monitor.result(x)


def ista(
    y: torch.Tensor,
    A: LinearOperator,
    g: Functional,
    *,
    step: float | None = None,
    num_iter: int = 100,
    tol: float = 1e-6,
    x0: torch.Tensor | None = None,
    callback: Callable[[int, torch.Tensor], object] | None = None,
    x_true: torch.Tensor | None = None,
    progress: bool = False,
) -> SolverResult:
    """ISTA (proximal gradient) for ``min_x ½‖Ax - y‖² + g(x)``.

    ``x_{k+1} = prox_{step g}(x_k - step Aᴴ(A x_k - y))``, converging for ``step < 2 / ‖A‖²``; the objective
    decreases as ``O(1/k)``. One ``A`` and one ``Aᴴ`` per iteration.

    Reference: I. Daubechies, M. Defrise and C. De Mol, "An iterative thresholding algorithm for linear
    inverse problems with a sparsity constraint", Comm. Pure Appl. Math. 57(11), 2004.

    Args:
        y: Measurements ``(B, *A.out_shape)``.
        A: Forward operator.
        g: Regularizer with ``prox`` (e.g. :class:`~inverselab.functionals.L1`,
            :class:`~inverselab.functionals.L1Wavelet`).
        step: Step size; default ``1 / ‖A‖²``.
        num_iter: Maximum number of iterations.
        tol: Stop when ``‖x_{k+1} - x_k‖ / ‖x_k‖ <= tol``.
        x0: Starting point (default ``Aᴴy``).
        callback: Called as ``callback(iteration, x)``.
        x_true: Ground truth, to record ``history["psnr"]``.
        progress: Show a progress bar.

    Example:
        >>> import torch
        >>> from inverselab.functionals import L1
        >>> from inverselab.operators import Identity
        >>> ista(torch.tensor([[3.0, -0.5]]), Identity((2,)), L1(1.0), num_iter=5).x
        tensor([[2., -0.]])
    """
    A = check_operator(A)
    y = A.check_measurement(y)
    g = check_functional("g", g, "prox")
    step = check_positive("step", data_step(A) if step is None else step)
    monitor = Monitor("ISTA", num_iter, tol, callback, x_true, progress)
    x = initial_point(y, A, x0)
    Ax = A(x)
    for _ in range(monitor.num_iter):
        x_prev = x
        x = g.prox(x - step * to_domain(A.adjoint(Ax - y), A), step)
        Ax = A(x)
        if monitor.update(x, x_prev, objective_l2(Ax - y) + g.value(x)):
            break
    return monitor.result(x)


def fista(
    y: torch.Tensor,
    A: LinearOperator,
    g: Functional,
    *,
    step: float | None = None,
    num_iter: int = 100,
    tol: float = 1e-6,
    x0: torch.Tensor | None = None,
    callback: Callable[[int, torch.Tensor], object] | None = None,
    x_true: torch.Tensor | None = None,
    progress: bool = False,
) -> SolverResult:
    """FISTA (accelerated proximal gradient) for ``min_x ½‖Ax - y‖² + g(x)``.

    ``x_{k+1} = prox_{step g}(z_k - step Aᴴ(A z_k - y))``, ``t_{k+1} = (1 + √(1 + 4t_k²)) / 2``,
    ``z_{k+1} = x_{k+1} + ((t_k - 1) / t_{k+1}) (x_{k+1} - x_k)``; the objective decreases as ``O(1/k²)`` for
    ``step <= 1 / ‖A‖²``. ``A z`` is formed from ``A x_{k+1}`` and ``A x_k`` by linearity, so one ``A`` and
    one ``Aᴴ`` per iteration, with the objective at ``x_{k+1}`` for free.

    Reference: A. Beck and M. Teboulle, "A fast iterative shrinkage-thresholding algorithm for linear inverse
    problems", SIAM J. Imaging Sci. 2(1), 2009.

    Args:
        y: Measurements ``(B, *A.out_shape)``.
        A: Forward operator.
        g: Regularizer with ``prox``.
        step: Step size; default ``1 / ‖A‖²``.
        num_iter: Maximum number of iterations.
        tol: Stop when ``‖x_{k+1} - x_k‖ / ‖x_k‖ <= tol``.
        x0: Starting point (default ``Aᴴy``).
        callback: Called as ``callback(iteration, x)``.
        x_true: Ground truth, to record ``history["psnr"]``.
        progress: Show a progress bar.

    Example:
        >>> import torch
        >>> from inverselab.functionals import L1
        >>> from inverselab.operators import Identity
        >>> fista(torch.tensor([[3.0, -0.5]]), Identity((2,)), L1(1.0), num_iter=5).x
        tensor([[2., -0.]])
    """
    A = check_operator(A)
    y = A.check_measurement(y)
    g = check_functional("g", g, "prox")
    step = check_positive("step", data_step(A) if step is None else step)
    monitor = Monitor("FISTA", num_iter, tol, callback, x_true, progress)
    x = initial_point(y, A, x0)
    Ax = A(x)
    z, Az, t = x, Ax, 1.0
    for _ in range(monitor.num_iter):
        x_prev, Ax_prev = x, Ax
        x = g.prox(z - step * to_domain(A.adjoint(Az - y), A), step)
        Ax = A(x)
        t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
        beta = (t - 1) / t_new
        z, Az, t = x + beta * (x - x_prev), Ax + beta * (Ax - Ax_prev), t_new
        if monitor.update(x, x_prev, objective_l2(Ax - y) + g.value(x)):
            break
    return monitor.result(x)
