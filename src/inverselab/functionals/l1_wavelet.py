"""Sparsity in an orthonormal wavelet basis: ``λ ‖W x‖₁`` with its exact prox ``Wᵀ soft(W x)``."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .._checks import check_number
from .base import Functional, batch_sum, check_batch, check_step
from .norms import soft_threshold
from .wavelets import Wavelet

__all__ = ["L1Wavelet"]


class L1Wavelet(Functional):
    """``F(x) = λ Σ |(W x)_i|`` over the wavelet detail coefficients of an orthonormal periodized DWT.

    By default the coarsest approximation coefficients are not penalized (they carry the local means, which
    are not sparse); pass ``threshold_approximation=True`` to penalize every coefficient. Because ``W`` is
    orthonormal, ``prox(x, step) = Wᵀ soft(W x, λ step)`` is exact. Complex inputs shrink the modulus.

    Args:
        lam: Weight λ (>= 0).
        shape: Signal shape ``(C, H, W)`` (``H, W`` divisible by ``2**levels``).
        wavelet: Orthogonal PyWavelets wavelet name (``'db1'``...``'db8'``, ``'sym4'``, ...).
        levels: Number of decomposition levels.
        threshold_approximation: Also penalize the coarsest approximation coefficients.

    Example:
        >>> import torch
        >>> f = L1Wavelet(0.1, (1, 8, 8), "haar", levels=1)
        >>> x = torch.ones(1, 1, 8, 8)  # constant image: no detail coefficients
        >>> round(float(f.value(x)), 6), bool(torch.allclose(f.prox(x, 1.0), x))
        (0.0, True)
    """

    def __init__(
        self,
        lam: float,
        shape: Sequence[int],
        wavelet: str = "db4",
        levels: int = 3,
        threshold_approximation: bool = False,
    ):
        self.lam = float(check_number("lam", lam, low=0))
        self.transform = Wavelet(shape, wavelet, levels)
        self.threshold_approximation = bool(threshold_approximation)

    def _detail_mask(self, like: torch.Tensor) -> torch.Tensor | None:
        if self.threshold_approximation:
            return None
        return ~self.transform.approximation_mask(device=like.device)

    def value(self, x: torch.Tensor) -> torch.Tensor:
        c = torch.abs(self.transform(check_batch("x", x)))
        mask = self._detail_mask(c)
        return self.lam * batch_sum(c if mask is None else c * mask)

    def prox(self, x: torch.Tensor, step: float | torch.Tensor) -> torch.Tensor:
        step = check_step(step)
        if isinstance(step, torch.Tensor):
            raise TypeError("L1Wavelet.prox needs a scalar step, got a tensor")
        c = self.transform(x)
        shrunk = soft_threshold(c, self.lam * step)
        mask = self._detail_mask(c)
        if mask is not None:
            shrunk = torch.where(mask, shrunk, c)
        return self.transform.adjoint(shrunk)

    def __repr__(self) -> str:
        t = self.transform
        return (
            f"L1Wavelet(lam={self.lam}, shape={t.in_shape}, wavelet={t.wavelet!r}, levels={t.levels}, "
            f"threshold_approximation={self.threshold_approximation})"
        )
