"""Downsampling for super-resolution: circular anti-aliasing filter, then decimation."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .._checks import check_choice, check_tensor
from .base import LinearOperator
from .blur import _filter, _fold, _image_shape, _real_linear, _rfft_view, _spectrum, gaussian_kernel

__all__ = ["Downsampling"]

FACTORS = (2, 3, 4)
FILTERS = ("gaussian", "box")


class Downsampling(LinearOperator):
    """Anti-aliasing filter followed by decimation: ``A x = S (h * x)``, ``(C, H, W) -> (C, H/f, W/f)``.

    The filter ``h`` is a circular convolution (computed with real FFTs, periodic boundary), so the adjoint is
    exact: ``Aᴴ y = h̃ * (Sᵀ y)``, zero-upsampling followed by correlation with ``h``. ``S`` keeps the pixels
    ``(f i, f j)``. Filters (both sum to 1, so a constant image stays that constant):

    - ``"gaussian"`` (default): Gaussian of standard deviation ``sigma = f / 2`` pixels, centered on the kept
      pixel (its gain at the new Nyquist frequency is ``exp(-π² / 8) ≈ 0.29``, a compromise between aliasing
      and blur), truncated at ``3 sigma``.
    - ``"box"``: the mean of the ``f x f`` block whose top-left pixel is kept (average pooling).

    ``norm()`` is exact: ``AAᴴ`` is diagonal in the Fourier basis of the coarse grid, with eigenvalues
    ``(1 / f²) Σ |ĥ|²`` summed over the ``f²`` frequencies that alias together.

    Args:
        shape: Image shape ``(C, H, W)``; ``H`` and ``W`` divisible by ``factor``.
        factor: Decimation factor, one of 2, 3, 4.
        filter: ``"gaussian"`` or ``"box"``.

    Example:
        >>> import torch
        >>> A = Downsampling((1, 8, 8), 2)
        >>> y = A(torch.full((1, 1, 8, 8), 3.0))
        >>> tuple(y.shape), round(float(y.min()), 6), round(float(y.max()), 6)
        ((1, 1, 4, 4), 3.0, 3.0)
    """

    def __init__(self, shape: Sequence[int], factor: int, filter: str = "gaussian"):
        shape = _image_shape(shape)
        if isinstance(factor, bool) or factor not in FACTORS:
            raise ValueError(f"factor must be one of {', '.join(map(str, FACTORS))}; got {factor!r}")
        factor = int(factor)
        C, H, W = shape
        if H % factor or W % factor:
            raise ValueError(
                f"the image height and width in shape={shape} must be divisible by factor={factor}"
            )
        check_choice("filter", filter, FILTERS)
        super().__init__(shape, (C, H // factor, W // factor))
        self.factor = factor
        self.filter = filter
        if filter == "gaussian":
            kernel = gaussian_kernel(factor / 2)
            center = (kernel.shape[0] // 2, kernel.shape[1] // 2)
        else:
            kernel = torch.full((factor, factor), 1.0 / factor**2, dtype=torch.float64)
            center = (factor - 1, factor - 1)  # (h * x)[n] = sum_k h[k] x[n - k]: taps at offsets 0..f-1
        padded = _fold(kernel, (H, W), center)
        self.register_buffer("filter_kernel", padded)
        self.register_buffer("_transfer", _rfft_view(padded), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=4, shape=self.in_shape, finite=False)
        f = self.factor

        def apply(v):
            return _filter(v, _spectrum(self._transfer, v.dtype, v.device))[..., ::f, ::f]

        return _real_linear(apply, x)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        check_tensor("y", y, ndim=4, shape=self.out_shape, finite=False)
        f = self.factor

        def apply(v):
            up = v.new_zeros((v.shape[0], *self.in_shape))
            up[..., ::f, ::f] = v
            return _filter(up, _spectrum(self._transfer, v.dtype, v.device).conj())

        return _real_linear(apply, y)

    def norm(self, *args, **kwargs) -> float:
        """Exact spectral norm (see the class docstring)."""
        f = self.factor
        H, W = self.in_shape[1:]
        power = torch.fft.fft2(self.filter_kernel.double()).abs().square()
        eig = power.reshape(f, H // f, f, W // f).sum(dim=(0, 2)) / f**2
        return math.sqrt(float(eig.max()))

    def extra_repr(self) -> str:
        return f"shape={self.in_shape}, factor={self.factor}, filter={self.filter!r}"
