"""Convex constraints as indicator functionals: ``value`` is 0 inside the set and ``inf`` outside, ``prox`` is
the Euclidean projection (independent of the step)."""

from __future__ import annotations

import torch

from .._checks import check_number
from .base import Functional, check_batch, check_step

__all__ = ["NonNegative", "Box"]


def _real(name: str, x: torch.Tensor) -> torch.Tensor:
    x = check_batch(name, x)
    if x.is_complex():
        raise TypeError(f"{name} must be real for an order constraint, got dtype {x.dtype}")
    return x


def _indicator(inside: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    ok = inside.reshape(x.shape[0], -1).all(dim=1)
    zero = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    return torch.where(ok, zero, torch.full_like(zero, float("inf")))


class NonNegative(Functional):
    """Indicator of ``{x >= 0}``; ``prox`` clips negative entries to 0.

    Example:
        >>> import torch
        >>> f = NonNegative()
        >>> f.value(torch.tensor([[1.0, -1.0], [1.0, 0.0]])), f.prox(torch.tensor([[1.0, -1.0]]), 1.0)
        (tensor([inf, 0.]), tensor([[1., 0.]]))
    """

    def value(self, x: torch.Tensor) -> torch.Tensor:
        x = _real("x", x)
        return _indicator(x >= 0, x)

    def prox(self, x: torch.Tensor, step: float | torch.Tensor) -> torch.Tensor:
        check_step(step)
        return torch.clamp(_real("x", x), min=0)


class Box(Functional):
    """Indicator of ``{low <= x <= high}``; ``prox`` clips to the box.

    Args:
        low: Lower bound.
        high: Upper bound (>= low).

    Example:
        >>> import torch
        >>> Box(0.0, 1.0).prox(torch.tensor([[-0.5, 0.5, 1.5]]), 1.0)
        tensor([[0.0000, 0.5000, 1.0000]])
    """

    def __init__(self, low: float, high: float):
        self.low = float(check_number("low", low))
        self.high = float(check_number("high", high, low=self.low))

    def value(self, x: torch.Tensor) -> torch.Tensor:
        x = _real("x", x)
        return _indicator((x >= self.low) & (x <= self.high), x)

    def prox(self, x: torch.Tensor, step: float | torch.Tensor) -> torch.Tensor:
        check_step(step)
        return torch.clamp(_real("x", x), min=self.low, max=self.high)
