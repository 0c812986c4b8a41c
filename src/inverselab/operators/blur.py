"""Circular (periodic) blur computed with FFTs, and the usual blur kernels.

Convention: a kernel ``k`` of size ``(h, w)`` has its center at the pixel ``(h // 2, w // 2)``. It is
zero-padded to the image size ``(H, W)`` and rolled so that its center sits at index ``(0, 0)``; call the
result ``k_pad``. The transfer function is ``K̂ = fft2(k_pad)`` and the blur is the circular convolution

    A x = ifft2(K̂ · fft2(x)) per channel, i.e. (A x)[i, j] = Σ_{a,b} k[a, b] x[i - a + h//2, j - b + w//2]

with indices taken modulo ``(H, W)``. For odd kernels this is ``scipy.ndimage.convolve(x, k, mode="wrap")``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .._checks import check_number, check_tensor
from .base import LinearOperator, complex_dtype_of

__all__ = ["Blur", "gaussian_kernel", "box_kernel", "motion_kernel"]


# --- helpers shared with resampling.py ----------------------------------------------------------------------
def _image_shape(shape: Sequence[int]) -> tuple[int, int, int]:
    """Validate an image shape ``(C, H, W)``."""
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"shape must be a tuple (C, H, W) of positive integers, got {shape!r}") from None
    if len(shape) != 3 or any(isinstance(s, bool) or int(s) != s or s <= 0 for s in shape):
        raise ValueError(f"shape must be a tuple (C, H, W) of positive integers, got {shape!r}")
    return tuple(int(s) for s in shape)  # type: ignore[return-value]


def _fold(kernel: torch.Tensor, size: tuple[int, int], center: tuple[int, int]) -> torch.Tensor:
    """Place ``kernel`` on a periodic ``size`` grid with ``kernel[center]`` at index ``(0, 0)``.

    Entries that land on the same grid point (a kernel larger than the grid) are summed, which is exactly
    circular convolution with the original kernel.
    """
    H, W = size
    h, w = kernel.shape
    rows = (torch.arange(h, device=kernel.device) - center[0]) % H
    cols = (torch.arange(w, device=kernel.device) - center[1]) % W
    out = torch.zeros(size, dtype=kernel.dtype, device=kernel.device)
    return out.index_put_((rows[:, None], cols[None, :]), kernel, accumulate=True)


def _rfft_view(padded: torch.Tensor) -> torch.Tensor:
    """``rfft2`` of a real ``(H, W)`` array, stored as a real ``(H, W // 2 + 1, 2)`` tensor.

    A real view (not a complex tensor) so that ``Module.to(dtype)`` casts it correctly.
    """
    return torch.view_as_real(torch.fft.rfft2(padded)).contiguous()


def _spectrum(view: torch.Tensor, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The complex half spectrum stored by :func:`_rfft_view`, in the complex dtype of real ``dtype``."""
    return torch.view_as_complex(view.to(device=device, dtype=dtype).contiguous())


def _filter(x: torch.Tensor, spectrum: torch.Tensor) -> torch.Tensor:
    """Circular filtering of a real ``(..., H, W)`` tensor by the half spectrum ``spectrum``."""
    size = x.shape[-2:]
    return torch.fft.irfft2(torch.fft.rfft2(x) * spectrum, s=size)


def _real_linear(fn, x: torch.Tensor) -> torch.Tensor:
    """Apply a real linear map ``fn`` to ``x``; complex inputs are handled part by part."""
    if x.is_complex():
        return torch.complex(fn(x.real), fn(x.imag))
    return fn(x)


# --- kernels ------------------------------------------------------------------------------------------------
def gaussian_kernel(sigma: float, size: int | None = None) -> torch.Tensor:
    """An isotropic Gaussian kernel ``exp(-(i² + j²) / (2 sigma²))`` normalized to sum 1 (float64).

    Args:
        sigma: Standard deviation in pixels (> 0).
        size: Odd side length; defaults to ``2 * ceil(3 sigma) + 1``.

    Example:
        >>> k = gaussian_kernel(1.0)
        >>> tuple(k.shape), round(float(k.sum()), 12)
        ((7, 7), 1.0)
    """
    sigma = check_number("sigma", sigma, low=0, low_inclusive=False)
    if size is None:
        size = 2 * math.ceil(3 * sigma) + 1
    size = check_number("size", size, low=1, integer=True)
    if size % 2 == 0:
        raise ValueError(f"size must be an odd integer (the kernel is centered on a pixel), got {size}")
    t = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-(t**2) / (2 * sigma**2))
    k = g[:, None] * g[None, :]
    return k / k.sum()


def box_kernel(size: int | Sequence[int]) -> torch.Tensor:
    """A uniform ``size x size`` (or ``(h, w)``) averaging kernel summing to 1 (float64).

    Even sizes are allowed; the center is then the pixel ``(h // 2, w // 2)`` (see the module docstring).

    Example:
        >>> box_kernel(3)[0]
        tensor([0.1111, 0.1111, 0.1111], dtype=torch.float64)
    """
    h, w = (size, size) if not isinstance(size, Sequence) else tuple(size)
    h = check_number("size", h, low=1, integer=True)
    w = check_number("size", w, low=1, integer=True)
    return torch.full((h, w), 1.0 / (h * w), dtype=torch.float64)


def motion_kernel(length: float, angle: float = 0.0) -> torch.Tensor:
    """A linear motion blur: an anti-aliased line segment of ``length`` pixels, normalized to sum 1 (float64).

    Each pixel gets the weight ``max(0, 1 - d)``, where ``d`` is its distance to the segment of length
    ``length - 1`` through the kernel center (so ``length=5, angle=0`` gives a row of five equal weights, as
    MATLAB's ``fspecial("motion", 5, 0)``). The kernel is square, of odd size
    ``2 ceil((length - 1) / 2) + 1``.

    Args:
        length: Length of the motion in pixels (>= 1).
        angle: Direction in degrees, counter-clockwise from the horizontal (rows point down).

    Example:
        >>> motion_kernel(3, angle=0)
        tensor([[0.0000, 0.0000, 0.0000],
                [0.3333, 0.3333, 0.3333],
                [0.0000, 0.0000, 0.0000]], dtype=torch.float64)
    """
    length = check_number("length", length, low=1)
    angle = check_number("angle", angle)
    half = (length - 1) / 2
    r = math.ceil(half - 1e-9)
    t = torch.arange(-r, r + 1, dtype=torch.float64)
    rows, cols = torch.meshgrid(t, t, indexing="ij")
    theta = math.radians(angle)
    # Unit direction in (column, row) coordinates; rows grow downward, so counter-clockwise is -sin.
    dc, dr = math.cos(theta), -math.sin(theta)
    along = (cols * dc + rows * dr).clamp(-half, half)
    dist = torch.hypot(cols - along * dc, rows - along * dr)
    k = (1 - dist).clamp(min=0)
    k = torch.where(k < 1e-12, torch.zeros_like(k), k)
    return k / k.sum()


# --- operator -----------------------------------------------------------------------------------------------
class Blur(LinearOperator):
    """Circular convolution of each channel of ``(B, C, H, W)`` images with a small 2-D kernel, by real FFTs.

    ``A x = ifft2(K̂ · fft2(x))`` with the boundary taken as periodic and the kernel center (the pixel
    ``(h // 2, w // 2)``) rolled to index ``(0, 0)``; see :meth:`transfer_function`. The operator keeps its
    kernel in float64 and computes in the dtype of its input. The adjoint is the correlation with the same
    kernel (``conj(K̂)`` in Fourier), exact to rounding; ``AᴴA`` is one FFT pair with ``|K̂|²``; the norm is
    ``max |K̂|`` exactly.

    Args:
        shape: Image shape ``(C, H, W)``.
        kernel: Real ``(h, w)`` kernel with ``h <= H`` and ``w <= W`` (see :func:`gaussian_kernel`,
            :func:`box_kernel`, :func:`motion_kernel`).

    Example:
        >>> import torch
        >>> A = Blur((1, 16, 16), gaussian_kernel(1.5))
        >>> round(float(A(torch.ones(1, 1, 16, 16)).mean()), 6), round(A.norm(), 6)
        (1.0, 1.0)
    """

    def __init__(self, shape: Sequence[int], kernel: torch.Tensor):
        shape = _image_shape(shape)
        super().__init__(shape, shape)
        check_tensor("kernel", kernel, ndim=2)
        if kernel.is_complex() or kernel.dtype == torch.bool:
            raise TypeError(f"kernel must be a real tensor, got dtype {kernel.dtype}")
        H, W = shape[1:]
        if kernel.shape[0] > H or kernel.shape[1] > W:
            raise ValueError(
                f"kernel must not be larger than the image {(H, W)}, got kernel shape {tuple(kernel.shape)}"
            )
        kernel = kernel.detach().to(torch.float64)
        self.register_buffer("kernel", kernel.clone())
        padded = _fold(kernel, (H, W), (kernel.shape[0] // 2, kernel.shape[1] // 2))
        self.register_buffer("_transfer", _rfft_view(padded), persistent=False)
        self.register_buffer("_power", torch.fft.rfft2(padded).abs().square(), persistent=False)

    def _spectrum(self, x: torch.Tensor) -> torch.Tensor:
        return _spectrum(self._transfer, x.dtype, x.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=4, shape=self.in_shape, finite=False)
        return _real_linear(lambda v: _filter(v, self._spectrum(v)), x)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        check_tensor("y", y, ndim=4, shape=self.out_shape, finite=False)
        return _real_linear(lambda v: _filter(v, self._spectrum(v).conj()), y)

    def normal(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=4, shape=self.in_shape, finite=False)
        return _real_linear(lambda v: _filter(v, self._power.to(device=v.device, dtype=v.dtype)), x)

    def norm(self, *args, **kwargs) -> float:
        """``max |K̂|``, the exact spectral norm of a circular convolution."""
        return math.sqrt(float(self._power.max()))

    def transfer_function(
        self, dtype: torch.dtype = torch.complex128, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """The full ``(H, W)`` frequency response ``K̂ = fft2(k_pad)``.

        ``k_pad`` is the kernel zero-padded to ``(H, W)`` and rolled so that its center pixel
        ``(h // 2, w // 2)`` sits at index ``(0, 0)``; then ``A x = ifft2(K̂ · fft2(x))`` on each channel
        (unnormalized ``fft2``/``ifft2``, periodic boundary). Solvers use it for exact FFT-diagonal solves,
        e.g. ``(AᴴA + ρ I)⁻¹ = ifft2(fft2(·) / (|K̂|² + ρ))``.

        Args:
            dtype: Complex dtype of the result (a real dtype selects the complex dtype of its precision).
            device: Device of the result (default: the operator's).

        Example:
            >>> import torch
            >>> A = Blur((1, 8, 8), box_kernel(3))
            >>> x = torch.rand(1, 1, 8, 8, dtype=torch.float64)
            >>> y = torch.fft.ifft2(A.transfer_function() * torch.fft.fft2(x)).real
            >>> bool(torch.allclose(y, A(x)))
            True
        """
        device = self.kernel.device if device is None else device
        k = self.kernel
        padded = _fold(k, self.in_shape[1:], (k.shape[0] // 2, k.shape[1] // 2))
        return torch.fft.fft2(padded).to(device=device, dtype=complex_dtype_of(dtype))

    def extra_repr(self) -> str:
        return f"shape={self.in_shape}, kernel_size={tuple(self.kernel.shape)}"
