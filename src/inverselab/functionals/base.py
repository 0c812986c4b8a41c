"""The functional interface: ``value(x)``, ``prox(x, step)``, and for smooth functionals ``grad(x)``.

Conventions shared by every functional of :mod:`inverselab.functionals`:

- ``value(x)`` takes a batch ``(B, ...)`` and returns one value per batch item, a tensor of shape ``(B,)``
  (``inf`` where a constraint is violated). Batch items are independent problems; solvers report the sum.
- ``prox(x, step)`` returns ``argmin_z value(z) + ‖z - x‖² / (2 step)`` for each batch item. ``step`` is a
  positive number; elementwise-separable functionals also accept a tensor broadcastable to ``x`` (diagonal
  preconditioning in :func:`~inverselab.solvers.pdhg`).
- ``prox_conjugate(v, step)`` is the prox of the convex conjugate ``F*``, by default from Moreau's identity
  ``prox_{σF*}(v) = v - σ prox_{F/σ}(v / σ)``; functionals whose conjugate prox is simpler override it.
- Smooth functionals set ``smooth = True``, implement ``grad(x)`` and give the Lipschitz constant of the
  gradient as ``lipschitz`` (used for default step sizes).
- Complex tensors are supported wherever the maths is (norms use the modulus).
"""

from __future__ import annotations

from numbers import Real

import torch

from .._checks import check_number, check_tensor

__all__ = ["Functional", "Zero"]


def batch_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum over every dimension but the first: ``(B, ...) -> (B,)``."""
    return t.reshape(t.shape[0], -1).sum(dim=1)


def squared_norm(x: torch.Tensor) -> torch.Tensor:
    """``‖x_b‖²`` per batch item, real even for complex ``x``."""
    a = torch.view_as_real(x) if x.is_complex() else x
    return batch_sum(a * a)


def check_step(step: object) -> float | torch.Tensor:
    """Validate a prox step: a positive finite number or a tensor of positive finite entries."""
    if isinstance(step, torch.Tensor):
        check_tensor("step", step)
        if step.is_complex() or bool((step <= 0).any()):
            raise ValueError(
                "step must contain only positive real values, got a nonpositive or complex entry"
            )
        return step
    if not isinstance(step, Real):
        raise TypeError(f"step must be a positive number or a tensor, got {type(step).__name__}")
    return check_number("step", step, low=0, low_inclusive=False)


def check_batch(name: str, x: object) -> torch.Tensor:
    """``x`` must be a tensor with a batch dimension (values are not scanned: this runs inside solver loops,
    which validate their inputs once)."""
    return check_tensor(name, x, min_ndim=1, finite=False)


class Functional:
    """Base class of the functionals (see the module docstring for the conventions).

    Subclasses implement :meth:`value` and :meth:`prox`; smooth ones also :meth:`grad`.
    """

    #: Whether :meth:`grad` is available.
    smooth: bool = False
    #: Lipschitz constant of :meth:`grad` (``None`` when unknown or not smooth).
    lipschitz: float | None = None

    def value(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def prox(self, x: torch.Tensor, step: float | torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError(f"{type(self).__name__} has no proximal operator")

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} is not smooth: it has no gradient")

    def prox_conjugate(self, v: torch.Tensor, step: float | torch.Tensor) -> torch.Tensor:
        """Prox of the convex conjugate, ``prox_{step F*}(v) = v - step prox_{F/step}(v / step)``."""
        step = check_step(step)
        return v - step * self.prox(v / step, 1.0 / step)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


class Zero(Functional):
    """The zero functional: ``value = 0``, ``prox`` is the identity (the "no regularizer" choice).

    Example:
        >>> import torch
        >>> Zero().value(torch.ones(2, 3))
        tensor([0., 0.])
    """

    smooth = True
    lipschitz = 0.0

    def value(self, x: torch.Tensor) -> torch.Tensor:
        x = check_batch("x", x)
        real = x.real if x.is_complex() else x
        return torch.zeros(x.shape[0], dtype=real.dtype, device=x.device)

    def prox(self, x: torch.Tensor, step: float | torch.Tensor) -> torch.Tensor:
        check_step(step)
        return x

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)

    def prox_conjugate(self, v: torch.Tensor, step: float | torch.Tensor) -> torch.Tensor:
        check_step(step)
        return torch.zeros_like(v)


def to_domain(x: torch.Tensor, A: object) -> torch.Tensor:
    """Keep ``x`` real when ``A`` maps a real domain to complex data (``Aᴴy`` of a real-to-complex operator is
    defined with the real inner product ``Re<Ax, y>``, i.e. the real part).

    A real-to-real operator (a real matrix such as :class:`FiniteDifference`) acts on complex signals too, and
    its adjoint of complex data is kept complex: taking the real part there would drop the imaginary half of
    the gradient of a complex unknown (as in TV-regularized MRI).
    """
    if x.is_complex() and not getattr(A, "in_complex", True) and getattr(A, "out_complex", False):
        return x.real
    return x
