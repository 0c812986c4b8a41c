"""Quadratic functionals: squared L2 norms, the least-squares data fidelity and Tikhonov regularization."""

from __future__ import annotations

import torch

from .._checks import check_number, check_tensor
from ..operators.base import LinearOperator
from .base import Functional, check_batch, check_step, squared_norm, to_domain

__all__ = ["SquaredL2", "L2DataFidelity", "Tikhonov"]


class SquaredL2(Functional):
    """``F(x) = ½‖x - y‖²`` (``½‖x‖²`` when ``y`` is ``None``).

    Used as the data term ``F(Ax)`` of :func:`~inverselab.solvers.pdhg`, whose conjugate prox is closed form:
    ``prox_{σF*}(v) = (v - σy) / (1 + σ)``.

    Args:
        y: Offset, broadcastable to the inputs (typically the measurements ``(B, *out_shape)``).

    Example:
        >>> import torch
        >>> f = SquaredL2(torch.ones(1, 2))
        >>> f.value(torch.zeros(1, 2)), f.prox(torch.zeros(1, 2), 1.0)
        (tensor([1.]), tensor([[0.5000, 0.5000]]))
    """

    smooth = True
    lipschitz = 1.0

    def __init__(self, y: torch.Tensor | None = None):
        self.y = None if y is None else check_tensor("y", y)

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.y is None else x - self.y

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * squared_norm(self._residual(check_batch("x", x)))

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        return self._residual(x)

    def prox(self, x: torch.Tensor, step: float | torch.Tensor) -> torch.Tensor:
        step = check_step(step)
        return (x if self.y is None else x + step * self.y) / (1 + step)

    def prox_conjugate(self, v: torch.Tensor, step: float | torch.Tensor) -> torch.Tensor:
        step = check_step(step)
        return (v if self.y is None else v - step * self.y) / (1 + step)

    def __repr__(self) -> str:
        return "SquaredL2()" if self.y is None else f"SquaredL2(y of shape {tuple(self.y.shape)})"


class L2DataFidelity(Functional):
    """Least-squares data fidelity ``F(x) = ½‖Ax - y‖²``, with ``∇F(x) = Aᴴ(Ax - y)``.

    Its prox solves ``(I + step AᴴA) z = x + step Aᴴy``; in general that needs an iterative solve, so
    :meth:`prox` takes an explicit ``num_iter`` (conjugate-gradient iterations) and has no hidden budget.

    Args:
        y: Measurements ``(B, *A.out_shape)``.
        A: The forward operator.

    Example:
        >>> import torch
        >>> from inverselab.operators import Identity
        >>> f = L2DataFidelity(torch.ones(1, 3), 2 * Identity((3,)))
        >>> f.value(torch.ones(1, 3)), f.grad(torch.zeros(1, 3))
        (tensor([1.5000]), tensor([[-2., -2., -2.]]))
    """

    smooth = True

    def __init__(self, y: torch.Tensor, A: LinearOperator):
        if not isinstance(A, LinearOperator):
            raise TypeError(f"A must be a LinearOperator, got {type(A).__name__}")
        self.y = A.check_measurement(y)
        self.A = A

    @property
    def lipschitz(self) -> float:  # type: ignore[override]
        """``‖A‖²`` (power iteration, cached by the operator)."""
        return self.A.norm() ** 2

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * squared_norm(self.A(x) - self.y)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        return to_domain(self.A.adjoint(self.A(x) - self.y), self.A)

    def prox(self, x: torch.Tensor, step: float, *, num_iter: int, tol: float = 0.0) -> torch.Tensor:
        """Approximate prox by ``num_iter`` conjugate-gradient iterations warm-started at ``x``.

        Args:
            x: Point ``(B, *A.in_shape)``.
            step: Prox step (> 0).
            num_iter: Number of CG iterations (explicit: there is no default budget).
            tol: Stop earlier when the relative residual falls below this.
        """
        from ..solvers.cg import cg

        step = check_number("step", step, low=0, low_inclusive=False)
        check_number("num_iter", num_iter, low=1, integer=True)
        b = x + step * to_domain(self.A.adjoint(self.y), self.A)
        return cg(
            lambda z: z + step * to_domain(self.A.normal(z), self.A), b, x0=x, num_iter=num_iter, tol=tol
        ).x


class Tikhonov(Functional):
    """Tikhonov (ridge) regularization ``F(x) = (λ/2) ‖x‖²``; ``prox(x, step) = x / (1 + λ step)``.

    Args:
        lam: Regularization weight λ (>= 0).

    Example:
        >>> import torch
        >>> Tikhonov(2.0).prox(torch.ones(1, 2), 0.5)
        tensor([[0.5000, 0.5000]])
    """

    smooth = True

    def __init__(self, lam: float):
        self.lam = float(check_number("lam", lam, low=0))
        self.lipschitz = self.lam

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * self.lam * squared_norm(check_batch("x", x))

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        return self.lam * x

    def prox(self, x: torch.Tensor, step: float | torch.Tensor) -> torch.Tensor:
        step = check_step(step)
        return x / (1 + self.lam * step)
