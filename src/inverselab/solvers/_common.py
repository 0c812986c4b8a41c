"""Shared pieces of the iterative solvers: the result record, the iteration monitor and small helpers."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .._checks import check_number, check_tensor
from ..functionals.base import Functional, squared_norm, to_domain
from ..operators.base import Identity, LinearOperator

__all__ = ["SolverResult"]


@dataclass
class SolverResult:
    """What an iterative solver returns.

    Attributes:
        x: The final iterate, of the operator's input shape ``(B, *A.in_shape)``.
        history: Per-iteration records, each a list with one float per iteration: ``"objective"`` (summed
            over the batch), ``"relative_change"`` (``‖x_{k+1} - x_k‖ / ‖x_k‖`` over the whole batch),
            ``"psnr"`` (dB, mean over the batch, only when ``x_true`` was given) and solver-specific entries
            (e.g. ``"residual"``).
        num_iter: Number of iterations performed.
        converged: Whether the stopping tolerance was met before the iteration cap.
    """

    x: torch.Tensor
    history: dict[str, list[float]] = field(default_factory=dict)
    num_iter: int = 0
    converged: bool = False


def psnr(x: torch.Tensor, x_true: torch.Tensor) -> float:
    """PSNR in dB averaged over the batch, with the data range of each item = ``max |x_true|`` (so 1 for
    images in [0, 1] that reach 1). Complex inputs compare moduli of the difference."""
    err = squared_norm(x - x_true) / x_true[0].numel()
    peak = torch.abs(x_true).reshape(x_true.shape[0], -1).amax(dim=1)
    values = 10 * torch.log10(peak**2 / torch.clamp(err, min=torch.finfo(err.dtype).tiny))
    return float(values.mean())


class Monitor:
    """Bookkeeping of one solver run: history, PSNR, callback, stopping rule and progress bar.

    Call :meth:`update` once per iteration with the new and previous iterates; it returns ``True`` when the
    relative change ``‖x_{k+1} - x_k‖ / ‖x_k‖`` is at most ``tol`` (then the solver stops).
    """

    def __init__(
        self,
        name: str,
        num_iter: int,
        tol: float,
        callback: Callable[[int, torch.Tensor], object] | None,
        x_true: torch.Tensor | None,
        progress: bool,
    ):
        self.num_iter = check_number("num_iter", num_iter, low=0, integer=True)
        self.tol = float(check_number("tol", tol, low=0))
        if callback is not None and not callable(callback):
            raise TypeError(
                f"callback must be callable as callback(iteration, x), got {type(callback).__name__}"
            )
        self.callback = callback
        self.x_true = None if x_true is None else check_tensor("x_true", x_true, min_ndim=1)
        self.history: dict[str, list[float]] = {"objective": [], "relative_change": []}
        if x_true is not None:
            self.history["psnr"] = []
        self.iterations = 0
        self.converged = False
        self._bar = None
        if progress:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.num_iter, desc=name, leave=False)

    def update(
        self, x: torch.Tensor, x_prev: torch.Tensor, objective: torch.Tensor | float | None, **extra
    ) -> bool:
        """Record iteration ``self.iterations`` and return whether to stop."""
        self.iterations += 1
        diff = float(torch.linalg.vector_norm(x - x_prev))
        ref = float(torch.linalg.vector_norm(x_prev))
        change = diff / ref if ref > 0 else (0.0 if diff == 0 else math.inf)
        self.history["relative_change"].append(change)
        if objective is not None:
            self.history["objective"].append(
                float(objective.sum()) if torch.is_tensor(objective) else objective
            )
        for key, value in extra.items():
            self.history.setdefault(key, []).append(float(value))
        if self.x_true is not None:
            self.history["psnr"].append(psnr(x, self.x_true))
        if self.callback is not None:
            self.callback(self.iterations, x)
        if self._bar is not None:
            self._bar.update(1)
            if objective is not None and self.iterations % 10 == 0:
                self._bar.set_postfix(
                    objective=f"{self.history['objective'][-1]:.4g}", change=f"{change:.2e}"
                )
        self.converged = change <= self.tol
        return self.converged

    def result(self, x: torch.Tensor) -> SolverResult:
        if self._bar is not None:
            self._bar.close()
        if not self.history["objective"]:
            del self.history["objective"]
        return SolverResult(x=x, history=self.history, num_iter=self.iterations, converged=self.converged)


def check_functional(name: str, g: object, need: str) -> Functional:
    """Raise a ``TypeError`` naming ``name`` unless ``g`` has ``value()`` and the method ``need``."""
    if not hasattr(g, need) or not hasattr(g, "value"):
        raise TypeError(f"{name} must be a functional with value() and {need}(), got {type(g).__name__}")
    return g  # type: ignore[return-value]


def check_operator(A: object) -> LinearOperator:
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A must be a LinearOperator, got {type(A).__name__}")
    return A


def initial_point(y: torch.Tensor, A: LinearOperator, x0: torch.Tensor | None) -> torch.Tensor:
    """``x0`` validated against ``A.in_shape``, or ``Aᴴy`` (kept real for a real-domain operator)."""
    if x0 is None:
        return to_domain(A.adjoint(y), A)
    x0 = A.check_input(x0, "x0")
    if x0.shape[0] != y.shape[0]:
        raise ValueError(f"x0 must have the batch size of y ({y.shape[0]}), got shape {tuple(x0.shape)}")
    return x0.clone()


def data_step(A: LinearOperator, extra_lipschitz: float = 0.0) -> float:
    """Default step ``1 / (‖A‖² + L)`` for ``½‖Ax - y‖²`` plus a term with an ``L``-Lipschitz gradient."""
    lip = A.norm() ** 2 + extra_lipschitz
    if lip <= 0:
        raise ValueError("cannot choose a default step: the operator norm is 0; pass step=...")
    return 1.0 / lip


def check_positive(name: str, value: object) -> float:
    return float(check_number(name, value, low=0, low_inclusive=False))


def transfer_function(A: LinearOperator, dtype: torch.dtype, device) -> torch.Tensor | None:
    """The Fourier multiplier ``T`` with ``fft2(A x) = T · fft2(x)`` over the last two dimensions, when ``A``
    is diagonal in the 2-D Fourier basis (circular blur, identity and scalings/compositions of those); else
    ``None``.

    ``T`` has shape ``(H, W)`` (or is a 0-d tensor for multiples of the identity).
    """
    from ..operators.base import Adjoint, Composition, Scaled

    if A.in_shape != A.out_shape:
        return None
    if isinstance(A, Identity):
        return torch.ones((), dtype=dtype, device=device)
    if hasattr(A, "transfer_function"):
        return A.transfer_function(dtype, device)
    if isinstance(A, Scaled):
        inner = transfer_function(A.op, dtype, device)
        return None if inner is None else A.scale * inner
    if isinstance(A, Adjoint):
        inner = transfer_function(A.op, dtype, device)
        return None if inner is None else inner.conj()
    if isinstance(A, Composition):
        outer = transfer_function(A.outer, dtype, device)
        inner = transfer_function(A.inner, dtype, device)
        return None if outer is None or inner is None else outer * inner
    return None


def objective_l2(residual: torch.Tensor) -> torch.Tensor:
    """``½‖r‖²`` per batch item."""
    return 0.5 * squared_norm(residual)
