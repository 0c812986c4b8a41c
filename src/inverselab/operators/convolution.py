"""Circular 1-D convolution of signals ``(B, C, n)`` with a known kernel, and the usual 1-D kernels.

The forward model of sparse spike deconvolution (seismic reflectivity, spike trains in microscopy or
spectroscopy): ``y = k * x + noise`` with a short pulse ``k`` (a Gaussian or a Ricker wavelet) and a sparse
``x``.

Convention (as :mod:`.blur` in 1-D): a kernel of length ``h`` has its center at index ``h // 2``; it is
zero-padded to the signal length ``n`` and rolled so that its center sits at index 0 (``k_pad``), and

    A x = irfft(K̂ · rfft(x)),  K̂ = rfft(k_pad),  i.e. (A x)[i] = Σ_a k[a] x[i - a + h//2]  (indices mod n),

which is ``scipy.ndimage.convolve1d(x, k, mode="wrap")`` for odd ``h``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .._checks import check_number, check_tensor
from .base import LinearOperator, complex_dtype_of

__all__ = ["Convolution1D", "gaussian_pulse", "ricker_wavelet"]


def _odd_size(size: int | None, default: int) -> int:
    size = default if size is None else check_number("size", size, low=1, integer=True)
    if size % 2 == 0:
        raise ValueError(f"size must be an odd integer (the kernel is centered on a sample), got {size}")
    return int(size)


def gaussian_pulse(sigma: float, size: int | None = None) -> torch.Tensor:
    """A 1-D Gaussian kernel ``exp(-t² / (2 sigma²))`` normalized to sum 1 (float64).

    Args:
        sigma: Standard deviation in samples (> 0).
        size: Odd length; defaults to ``2 * ceil(3 sigma) + 1``.

    Example:
        >>> k = gaussian_pulse(1.0)
        >>> tuple(k.shape), round(float(k.sum()), 12), int(k.argmax())
        ((7,), 1.0, 3)
    """
    sigma = check_number("sigma", sigma, low=0, low_inclusive=False)
    size = _odd_size(size, 2 * math.ceil(3 * sigma) + 1)
    t = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-(t**2) / (2 * sigma**2))
    return g / g.sum()


def ricker_wavelet(sigma: float, size: int | None = None) -> torch.Tensor:
    """The Ricker ("Mexican hat") wavelet ``(1 - t²/sigma²) exp(-t² / (2 sigma²))``, peak 1 (float64).

    The negative second derivative of a Gaussian: the standard seismic source pulse of spike deconvolution
    (its central frequency is ``1 / (π √2 sigma)`` cycles per sample). It has zero mean in the continuum, so
    the deconvolution cannot recover a signal's mean: sparsity must.

    Args:
        sigma: Width in samples (> 0): the zero crossings are at ``t = ±sigma``.
        size: Odd length; defaults to ``2 * ceil(4 sigma) + 1``.

    Example:
        >>> k = ricker_wavelet(2.0)
        >>> tuple(k.shape), float(k[k.shape[0] // 2]), round(float(k[k.shape[0] // 2 + 2]), 12)
        ((17,), 1.0, 0.0)
    """
    sigma = check_number("sigma", sigma, low=0, low_inclusive=False)
    size = _odd_size(size, 2 * math.ceil(4 * sigma) + 1)
    t = torch.arange(size, dtype=torch.float64) - size // 2
    u = (t / sigma) ** 2
    return (1 - u) * torch.exp(-u / 2)


class Convolution1D(LinearOperator):
    """Circular convolution of each channel of ``(B, C, n)`` signals with a short 1-D kernel, by real FFTs.

    ``A x = irfft(K̂ · rfft(x))`` with a periodic boundary and the kernel center (index ``h // 2``) rolled to
    index 0 (see the module docstring). The kernel is kept in float64 and cast to the input's dtype; complex
    inputs are convolved part by part. The adjoint is the correlation with the same kernel (``conj(K̂)``),
    exact to rounding; ``AᴴA`` is one FFT pair with ``|K̂|²`` and the norm is ``max |K̂|`` exactly.

    Args:
        shape: Signal shape ``(C, n)`` (an integer ``n`` means ``(1, n)``).
        kernel: Real 1-D kernel of length at most ``n`` (see :func:`ricker_wavelet`, :func:`gaussian_pulse`).

    Example:
        >>> import torch
        >>> A = Convolution1D(8, torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
        >>> A(torch.eye(8, dtype=torch.float64)[None, None, 2]).round(decimals=12)  # kernel centered at 2
        tensor([[[0., 1., 2., 3., 0., 0., 0., 0.]]], dtype=torch.float64)
        >>> round(A.norm(), 6)
        6.0
    """

    def __init__(self, shape: int | Sequence[int], kernel: torch.Tensor):
        if isinstance(shape, int) and not isinstance(shape, bool):
            shape = (1, shape)
        try:
            shape = tuple(shape)
        except TypeError:
            raise TypeError(f"shape must be (C, n) or an integer n, got {shape!r}") from None
        if len(shape) != 2 or any(isinstance(s, bool) or int(s) != s or s <= 0 for s in shape):
            raise ValueError(f"shape must be (C, n) with positive integers, got {shape!r}")
        shape = (int(shape[0]), int(shape[1]))
        super().__init__(shape, shape)
        check_tensor("kernel", kernel, ndim=1)
        if kernel.is_complex() or kernel.dtype == torch.bool:
            raise TypeError(f"kernel must be a real tensor, got dtype {kernel.dtype}")
        n = shape[1]
        if kernel.shape[0] > n:
            raise ValueError(f"kernel must not be longer than the signal ({n}), got length {kernel.shape[0]}")
        kernel = kernel.detach().to(torch.float64).cpu()
        self.register_buffer("kernel", kernel.clone())
        padded = torch.roll(
            torch.nn.functional.pad(kernel, (0, n - kernel.shape[0])), -(kernel.shape[0] // 2)
        )
        spectrum = torch.fft.rfft(padded)
        # A real view (not a complex tensor) so that Module.to(dtype) casts it correctly.
        self.register_buffer("_transfer", torch.view_as_real(spectrum).contiguous(), persistent=False)
        self.register_buffer("_power", spectrum.abs().square(), persistent=False)

    def _filter(self, x: torch.Tensor, spectrum_of) -> torch.Tensor:
        def real_filter(v: torch.Tensor) -> torch.Tensor:
            return torch.fft.irfft(torch.fft.rfft(v) * spectrum_of(v), n=v.shape[-1])

        if x.is_complex():
            return torch.complex(real_filter(x.real), real_filter(x.imag))
        return real_filter(x)

    def _spectrum(self, v: torch.Tensor) -> torch.Tensor:
        return torch.view_as_complex(self._transfer.to(device=v.device, dtype=v.dtype).contiguous())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=3, shape=self.in_shape, finite=False)
        return self._filter(x, self._spectrum)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        check_tensor("y", y, ndim=3, shape=self.out_shape, finite=False)
        return self._filter(y, lambda v: self._spectrum(v).conj())

    def normal(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=3, shape=self.in_shape, finite=False)
        return self._filter(x, lambda v: self._power.to(device=v.device, dtype=v.dtype))

    def norm(self, *args, **kwargs) -> float:
        """``max |K̂|``, the exact spectral norm of a circular convolution."""
        return math.sqrt(float(self._power.max()))

    def frequency_response(
        self, dtype: torch.dtype = torch.complex128, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """The full length-``n`` response ``K̂ = fft(k_pad)``: ``A x = ifft(K̂ · fft(x))`` on each channel.

        Solvers use it for exact solves, e.g. ``(AᴴA + ρ I)⁻¹ = ifft(fft(·) / (|K̂|² + ρ))``.

        Example:
            >>> import torch
            >>> A = Convolution1D((1, 8), gaussian_pulse(1.0))
            >>> x = torch.rand(1, 1, 8, dtype=torch.float64)
            >>> bool(torch.allclose(torch.fft.ifft(A.frequency_response() * torch.fft.fft(x)).real, A(x)))
            True
        """
        device = self.kernel.device if device is None else device
        k, n = self.kernel, self.in_shape[1]
        padded = torch.roll(torch.nn.functional.pad(k, (0, n - k.shape[0])), -(k.shape[0] // 2))
        return torch.fft.fft(padded).to(device=device, dtype=complex_dtype_of(dtype))

    def extra_repr(self) -> str:
        return f"shape={self.in_shape}, kernel_size={self.kernel.shape[0]}"
