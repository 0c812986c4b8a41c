"""Orthonormal 2-D discrete wavelet transform (periodized) on batched torch tensors.

The filter banks come from PyWavelets (``pywt.Wavelet(name).dec_lo`` / ``dec_hi``: Daubechies
``db1``-``db38``, ``haar``, Symlets ``sym2``-``sym20``, Coiflets); the transform itself runs in torch, with
circular padding and stride-2 filtering, so it is differentiable, batched and device-agnostic. With periodic
extension and an orthogonal filter bank the transform is orthonormal (``WᵀW = WWᵀ = I``), so the soft
threshold of the coefficients is the exact prox of ``‖Wx‖₁``. (ptwt has no periodization mode; PyWavelets
runs on NumPy only.)

Coefficients are returned as a same-size tiled array, laid out exactly like
``pywt.coeffs_to_array(pywt.wavedec2(x, wavelet, mode="periodization", level=levels))``: the coarsest
approximation in the top-left ``H/2^L x W/2^L`` block; at each level the detail along W (``'ad'``) top-right,
along H (``'da'``) bottom-left and diagonal (``'dd'``) bottom-right.

Reference: S. Mallat, *A Wavelet Tour of Signal Processing*, 3rd ed., Academic Press, 2009, ch. 7.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
import torch.nn.functional as nnf

from .._checks import check_number, check_tensor
from ..operators.base import LinearOperator

__all__ = ["Wavelet", "dwt2", "idwt2", "wavelet_filters"]


@functools.lru_cache(maxsize=32)
def _pywt_filters(wavelet: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    import pywt

    if not isinstance(wavelet, str):
        raise TypeError(f"wavelet must be a wavelet name such as 'db4', got {wavelet!r}")
    try:
        w = pywt.Wavelet(wavelet)
    except ValueError:
        raise ValueError(
            f"wavelet must be a discrete orthogonal wavelet known to PyWavelets (e.g. 'haar', 'db1'-'db38', "
            f"'sym2'-'sym20', 'coif1'-'coif17'), got {wavelet!r}"
        ) from None
    if not w.orthogonal:
        raise ValueError(
            f"wavelet must be orthogonal for an orthonormal transform, got {wavelet!r} (biorthogonal)"
        )
    return tuple(w.dec_lo), tuple(w.dec_hi)


def wavelet_filters(wavelet: str, dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
    """The decomposition filters ``(2, F)`` (low-pass, high-pass) of ``wavelet``, from PyWavelets.

    Example:
        >>> wavelet_filters("haar").shape
        torch.Size([2, 2])
    """
    lo, hi = _pywt_filters(wavelet)
    return torch.tensor([lo, hi], dtype=dtype, device=device)


def _check_levels(shape: Sequence[int], levels: int) -> None:
    check_number("levels", levels, low=1, integer=True)
    h, w = shape[-2], shape[-1]
    step = 2**levels
    if h % step or w % step:
        raise ValueError(
            f"image size must be divisible by 2**levels = {step} in both dimensions for levels={levels}, "
            f"got (H, W) = ({h}, {w})"
        )


def _pad_index(n: int, f: int, device) -> torch.Tensor:
    """Indices of the periodic extension by ``f/2 - 1`` samples on each side (wrapping again if ``f > n``)."""
    p = f // 2 - 1
    return torch.remainder(torch.arange(-p, n + p, device=device), n)


# The 1-D transforms act along dimension -2 (rows), so that each filter tap is one fused multiply-add over
# contiguous memory; the other axis is handled by transposing. (Measured here: about 3x faster than
# conv1d/conv2d with 1 x F kernels and their transposes on CPU.)
#
# PyWavelets' periodization computes a[k] = Σ_j h[j] x[(2k + F/2 - j) mod N]. With the periodic extension
# xp[i] = x[(i - p) mod N], p = F/2 - 1, this is a[k] = Σ_m g[m] xp[2k + m] with g the flipped filter.
def _rows_analysis(
    x: torch.Tensor, filters: tuple[tuple[float, ...], ...]
) -> tuple[torch.Tensor, torch.Tensor]:
    n = x.shape[-2]
    f = len(filters[0])
    xp = x.index_select(-2, _pad_index(n, f, x.device))
    out = []
    for h in filters:
        g = h[::-1]
        acc = xp[..., 0 : n - 1 : 2, :] * g[0]
        for m in range(1, f):
            acc = torch.add(acc, xp[..., m : m + n - 1 : 2, :], alpha=g[m])
        out.append(acc)
    return out[0], out[1]


def _rows_synthesis(a: torch.Tensor, d: torch.Tensor, filters: tuple[tuple[float, ...], ...]) -> torch.Tensor:
    """Adjoint of :func:`_rows_analysis` (polyphase form: even and odd rows of the extension separately)."""
    k = a.shape[-2]
    f = len(filters[0])
    p = f // 2 - 1
    pads = [nnf.pad(c, (0, 0, p, p)) if p else c for c in (a, d)]  # cpad[t] = c[t - p]
    phases = []
    for parity in (0, 1):
        acc = None
        for c, h in zip(pads, filters, strict=True):
            g = h[::-1]
            for j in range(f // 2):
                term = c[..., p - j : p - j + k + p, :]
                acc = (
                    term * g[2 * j + parity] if acc is None else torch.add(acc, term, alpha=g[2 * j + parity])
                )
        phases.append(acc)
    xp = torch.stack(phases, dim=-2).reshape(*a.shape[:-2], 2 * (k + p), a.shape[-1])
    n = 2 * k
    return xp.new_zeros(*a.shape[:-2], n, a.shape[-1]).index_add(-2, _pad_index(n, f, a.device), xp)


def _analysis(x: torch.Tensor, filters, levels: int) -> torch.Tensor:
    """Analysis of real ``x`` of shape ``(n, H, W)`` into the tiled ``(n, H, W)`` coefficient array."""
    lo_h, hi_h = _rows_analysis(x, filters)  # (n, H/2, W): low/high pass along H
    t = torch.stack([lo_h, hi_h], dim=1).transpose(-1, -2).contiguous()  # (n, 2 [H band], W, H/2)
    lo_w, hi_w = _rows_analysis(t, filters)  # (n, 2, W/2, H/2)
    lo_w, hi_w = lo_w.transpose(-1, -2), hi_w.transpose(-1, -2)
    aa, ad, da, dd = lo_w[:, 0], hi_w[:, 0], lo_w[:, 1], hi_w[:, 1]
    if levels > 1:
        aa = _analysis(aa.contiguous(), filters, levels - 1)
    return torch.cat([torch.cat([aa, ad], dim=-1), torch.cat([da, dd], dim=-1)], dim=-2)


def _synthesis(c: torch.Tensor, filters, levels: int) -> torch.Tensor:
    """Inverse (= adjoint) of :func:`_analysis`."""
    h, w = c.shape[-2:]
    aa, ad = c[:, : h // 2, : w // 2], c[:, : h // 2, w // 2 :]
    da, dd = c[:, h // 2 :, : w // 2], c[:, h // 2 :, w // 2 :]
    if levels > 1:
        aa = _synthesis(aa.contiguous(), filters, levels - 1)
    lo_w = torch.stack([aa, da], dim=1).transpose(-1, -2).contiguous()  # (n, 2 [H band], W/2, H/2)
    hi_w = torch.stack([ad, dd], dim=1).transpose(-1, -2).contiguous()
    t = _rows_synthesis(lo_w, hi_w, filters).transpose(-1, -2).contiguous()  # (n, 2, H/2, W)
    return _rows_synthesis(t[:, 0], t[:, 1], filters)


def _apply(fn, x: torch.Tensor, wavelet: str, levels: int) -> torch.Tensor:
    filters = _pywt_filters(wavelet)
    lead, (h, w) = x.shape[:-2], x.shape[-2:]
    flat = x.reshape(-1, h, w)
    if x.is_complex():
        n = flat.shape[0]
        out = fn(torch.cat([flat.real, flat.imag], dim=0), filters, levels)
        out = torch.complex(out[:n], out[n:])
    else:
        out = fn(flat, filters, levels)
    return out.reshape(*lead, h, w)


def dwt2(x: torch.Tensor, wavelet: str = "db4", levels: int = 3) -> torch.Tensor:
    """Orthonormal periodized 2-D DWT over the last two dimensions of ``x`` (any leading dimensions).

    Args:
        x: Real or complex tensor ``(..., H, W)``; ``H`` and ``W`` divisible by ``2**levels``.
        wavelet: Name of an orthogonal PyWavelets wavelet (``'haar'``, ``'db1'``...``'db38'``, ``'sym4'``...).
        levels: Number of decomposition levels.

    Returns:
        The tiled coefficients, same shape as ``x`` (layout in the module docstring).

    Example:
        >>> import torch
        >>> x = torch.randn(2, 1, 16, 16, dtype=torch.float64)
        >>> c = dwt2(x, "db2", levels=2)
        >>> bool(torch.allclose(c.norm(), x.norm())), bool(torch.allclose(idwt2(c, "db2", levels=2), x))
        (True, True)
    """
    check_tensor("x", x, min_ndim=2, finite=False)
    _check_levels(x.shape, levels)
    return _apply(_analysis, x, wavelet, levels)


def idwt2(c: torch.Tensor, wavelet: str = "db4", levels: int = 3) -> torch.Tensor:
    """Inverse (= adjoint) of :func:`dwt2`."""
    check_tensor("c", c, min_ndim=2, finite=False)
    _check_levels(c.shape, levels)
    return _apply(_synthesis, c, wavelet, levels)


class Wavelet(LinearOperator):
    """Orthonormal periodized 2-D wavelet transform ``W`` as a linear operator (adjoint = inverse).

    Acts on ``(B, *shape)`` tensors over the last two dimensions; the output has the same shape: the tiled
    coefficient array of :func:`dwt2`. Real and complex inputs are accepted (the filters are real).

    Args:
        shape: Signal shape without batch dimension, e.g. ``(C, H, W)``; ``H, W`` divisible by ``2**levels``.
        wavelet: Orthogonal PyWavelets wavelet name (filters from ``pywt.Wavelet(wavelet)``).
        levels: Number of decomposition levels.

    Example:
        >>> import torch
        >>> W = Wavelet((1, 8, 8), "db2", levels=2)
        >>> x = torch.randn(3, 1, 8, 8, dtype=torch.float64)
        >>> float((W.adjoint(W(x)) - x).abs().max()) < 1e-12
        True
    """

    def __init__(self, shape: Sequence[int], wavelet: str = "db4", levels: int = 3):
        shape = tuple(int(s) for s in shape)
        if len(shape) < 2:
            raise ValueError(f"shape must have at least two dimensions (..., H, W), got {shape}")
        _check_levels(shape, levels)
        _pywt_filters(wavelet)
        super().__init__(shape, shape)
        self.wavelet, self.levels = wavelet, int(levels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _apply(_analysis, x, self.wavelet, self.levels)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return _apply(_synthesis, y, self.wavelet, self.levels)

    def normal(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def norm(self, *args, **kwargs) -> float:
        return 1.0

    def approximation_mask(self, dtype: torch.dtype = torch.bool, device=None) -> torch.Tensor:
        """``(H, W)`` mask that is true on the coarsest approximation block of the tiled coefficients."""
        h, w = self.in_shape[-2], self.in_shape[-1]
        mask = torch.zeros(h, w, dtype=torch.bool, device=device)
        mask[: h >> self.levels, : w >> self.levels] = True
        return mask.to(dtype)

    def extra_repr(self) -> str:
        return f"shape={self.in_shape}, wavelet={self.wavelet!r}, levels={self.levels}"
