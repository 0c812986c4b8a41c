"""Sparsity in the orthonormal 2-D DCT: ``λ ‖D x‖₁`` with its exact prox ``Dᵀ soft(D x)``."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .._checks import check_number
from .base import Functional, batch_sum, check_batch, check_step
from .norms import soft_threshold

__all__ = ["L1DCT"]


class L1DCT(Functional):
    """``F(x) = λ Σ |(D x)_i|`` with ``D`` the orthonormal 2-D DCT-II of each channel (``D X Dᵀ`` per image).

    The DC coefficient (the image mean) is not penalized unless ``threshold_dc=True``. Because ``D`` is
    orthonormal, ``prox(x, step) = Dᵀ soft(D x, λ step)`` is exact. Smooth images (e.g. upscaled digits,
    which are band-limited) are sparse in this basis; images with edges are sparser in wavelets.

    Args:
        lam: Weight λ (>= 0).
        shape: Signal shape ``(C, H, W)``.
        threshold_dc: Also penalize the DC coefficient.

    Example:
        >>> import torch
        >>> f = L1DCT(0.1, (1, 8, 8))
        >>> x = torch.full((1, 1, 8, 8), 0.5)  # constant image: only the DC coefficient
        >>> round(float(f.value(x)), 6), bool(torch.allclose(f.prox(x, 1.0), x))
        (0.0, True)
    """

    def __init__(self, lam: float, shape: Sequence[int], threshold_dc: bool = False):
        from ..operators.compressed_sensing import dct_matrix

        self.lam = float(check_number("lam", lam, low=0))
        shape = tuple(shape)
        if len(shape) != 3:
            raise ValueError(f"shape must be (C, H, W), got {shape}")
        self.shape = shape
        self.threshold_dc = bool(threshold_dc)
        self._rows, self._cols = dct_matrix(shape[1]), dct_matrix(shape[2])

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """``D x``: the 2-D DCT coefficients of each channel (same shape as ``x``)."""
        R, C = (m.to(device=x.device, dtype=x.real.dtype) for m in (self._rows, self._cols))
        return R @ x @ C.T

    def inverse(self, c: torch.Tensor) -> torch.Tensor:
        """``Dᵀ c`` (the inverse, as ``D`` is orthonormal)."""
        R, C = (m.to(device=c.device, dtype=c.real.dtype) for m in (self._rows, self._cols))
        return R.T @ c @ C

    def _penalized(self, c: torch.Tensor) -> torch.Tensor:
        if self.threshold_dc:
            return torch.abs(c)
        return torch.abs(c) * self._dc_free(c)

    def _dc_free(self, c: torch.Tensor) -> torch.Tensor:
        keep = torch.ones(c.shape[-2:], dtype=torch.bool, device=c.device)
        keep[0, 0] = False
        return keep

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return self.lam * batch_sum(self._penalized(self.transform(check_batch("x", x))))

    def prox(self, x: torch.Tensor, step: float | torch.Tensor) -> torch.Tensor:
        step = check_step(step)
        if isinstance(step, torch.Tensor):
            raise TypeError("L1DCT.prox needs a scalar step, got a tensor")
        c = self.transform(x)
        shrunk = soft_threshold(c, self.lam * step)
        if not self.threshold_dc:
            shrunk = torch.where(self._dc_free(c), shrunk, c)
        return self.inverse(shrunk)

    def __repr__(self) -> str:
        return f"L1DCT(lam={self.lam}, shape={self.shape}, threshold_dc={self.threshold_dc})"
