"""Phase retrieval: the linear part ``A`` (Gaussian rows, coded diffraction patterns) and ``y = |A x|²``.

The measurements of phase retrieval are intensities ``y_r = |a_rᴴ x|²`` (+ noise): the phase of ``A x`` is
lost, and ``x`` can only be recovered up to a global phase ``e^{iφ} x`` (a sign for real signals). The linear
parts are ordinary :class:`~.base.LinearOperator` s with exact adjoints; :class:`MagnitudeSquared` wraps one
into the nonlinear measurement model that presets and methods use (``method(y, MagnitudeSquared(A))``).

Normalization (as in Candès, Li & Soltanolkotabi 2015): each row has ``E‖a_r‖² = n``, so that
``E |a_rᴴ x|² = ‖x‖²`` and ``(1/m) Σ_r y_r ≈ ‖x‖²``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .._checks import check_choice, check_number, check_tensor
from ..noise import make_generator
from .base import LinearOperator, Operator, _as_shape, complex_dtype_of, real_dtype_of
from .compressed_sensing import _signal_shape

__all__ = ["GaussianSensingMatrix", "CodedDiffraction", "MagnitudeSquared", "octanary_masks"]


def _as_complex(t: torch.Tensor) -> torch.Tensor:
    return t if t.is_complex() else t.to(complex_dtype_of(t.dtype))


class GaussianSensingMatrix(LinearOperator):
    """A dense ``m x n`` matrix of i.i.d. standard Gaussian rows ``a_rᴴ``: the Gaussian model of phase
    retrieval (Candès, Li & Soltanolkotabi, IEEE Trans. Inf. Theory 61(4), 2015).

    Complex (default): ``a_r ~ CN(0, I)``, real and imaginary parts ``N(0, 1/2)`` each; real:
    ``a_r ~ N(0, I)``.
    Unlike :class:`~.compressed_sensing.GaussianMatrix` (entries ``N(0, 1/m)``) the rows are not scaled, so
    ``E |a_rᴴ x|² = ‖x‖²``. The matrix is stored in float64 as ``matrix`` (a real ``(m, n, 2)`` view for
    complex matrices, so that ``.to(dtype)`` casts it correctly) and cast to the input's precision.

    Args:
        in_shape: Signal shape without the batch dimension (an integer ``n`` for vectors).
        m: Number of measurements (rows).
        complex: Complex (``CN(0, I)``) or real (``N(0, I)``) rows.
        generator: A ``torch.Generator`` or an integer seed (``None`` means seed 0).

    Example:
        >>> A = GaussianSensingMatrix(64, 512, generator=0)
        >>> x = torch.randn(1, 64, dtype=torch.complex128, generator=torch.Generator().manual_seed(1))
        >>> ratio = float((A(x).abs() ** 2).mean() / (x.abs() ** 2).sum())
        >>> abs(ratio - 1) < 0.2
        True
    """

    def __init__(
        self,
        in_shape: int | Sequence[int],
        m: int,
        *,
        complex: bool = True,
        generator: torch.Generator | int | None = None,
    ):
        in_shape = _signal_shape(in_shape)
        m = check_number("m", m, low=1, integer=True)
        super().__init__(in_shape, (m,))
        self.in_complex = self.out_complex = bool(complex)
        gen = make_generator(generator)
        n = math.prod(in_shape)
        if complex:
            M = torch.randn(m, n, 2, dtype=torch.float64, generator=gen, device=gen.device) / math.sqrt(2)
        else:
            M = torch.randn(m, n, dtype=torch.float64, generator=gen, device=gen.device)
        self.register_buffer("matrix", M.cpu())
        self._pinv: torch.Tensor | None = None

    def dense(self, dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
        """The ``(m, n)`` matrix in the precision of ``dtype`` (complex for complex rows)."""
        device = self.matrix.device if device is None else device
        M = self.matrix.to(device=device, dtype=real_dtype_of(dtype))
        if self.in_complex:
            return torch.view_as_complex(M.contiguous())
        return M.to(dtype) if dtype.is_complex else M

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=len(self.in_shape) + 1, shape=self.in_shape, finite=False)
        flat = x.reshape(x.shape[0], -1)
        if self.in_complex:
            flat = _as_complex(flat)
        return flat @ self.dense(flat.dtype, flat.device).T

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        check_tensor("y", y, ndim=2, shape=self.out_shape, finite=False)
        if self.out_complex:
            y = _as_complex(y)
        return (y @ self.dense(y.dtype, y.device).conj()).reshape(y.shape[0], *self.in_shape)

    def frobenius_norm2(self) -> float:
        """``‖A‖_F² = Σ_r ‖a_r‖²`` (about ``m n``)."""
        return float(self.matrix.square().sum())

    def pseudo_inverse(self, y: torch.Tensor) -> torch.Tensor:
        """The least-squares solution ``argmin_x ‖A x - y‖`` (``A⁺ y``; the pseudo-inverse is computed once,
        in float64, and cached)."""
        check_tensor("y", y, ndim=2, shape=self.out_shape, finite=False)
        if self._pinv is None or self._pinv.device != self.matrix.device:
            self._pinv = torch.linalg.pinv(self.dense(torch.float64))
        if self.out_complex:
            y = _as_complex(y)
        P = self._pinv.to(device=y.device, dtype=y.dtype)
        return (y @ P.T).reshape(y.shape[0], *self.in_shape)

    def extra_repr(self) -> str:
        return f"in_shape={self.in_shape}, m={self.out_shape[0]}, complex={self.in_complex}"


def octanary_masks(
    num_masks: int, shape: Sequence[int], generator: torch.Generator | int | None = None
) -> torch.Tensor:
    """Random octanary modulation patterns ``d = b₁ b₂`` of coded diffraction imaging (complex128).

    ``b₁`` is uniform on ``{1, -1, i, -i}`` and ``b₂`` is ``√2/2`` with probability 4/5 and ``√3`` with
    probability 1/5, independently for every mask and sample, so that ``E d = 0`` and ``E|d|² = 1``
    (Candès, Li & Soltanolkotabi, Appl. Comput. Harmon. Anal. 39(2), 2015).

    Example:
        >>> d = octanary_masks(4, (64, 64), generator=0)
        >>> tuple(d.shape), abs(float((d.abs() ** 2).mean()) - 1) < 0.05
        ((4, 64, 64), True)
    """
    num_masks = check_number("num_masks", num_masks, low=1, integer=True)
    shape = _as_shape("shape", shape)
    gen = make_generator(generator)
    size = (num_masks, *shape)
    quarter = torch.randint(0, 4, size, generator=gen, device=gen.device).cpu()
    b1 = torch.tensor([1, 1j, -1, -1j], dtype=torch.complex128)[quarter]
    rare = torch.rand(size, generator=gen, device=gen.device, dtype=torch.float64).cpu() < 0.2
    b2 = torch.where(rare, math.sqrt(3.0), math.sqrt(2.0) / 2).to(torch.float64)
    return b1 * b2


class CodedDiffraction(LinearOperator):
    """Coded diffraction patterns: ``L`` random masks, each followed by a discrete Fourier transform.

    ``(A x)_l = F(d_l ⊙ x)``, ``l = 1, ..., L``, with the unnormalized DFT ``F`` over the spatial axes (the
    last two of ``(C, H, W)`` images, the last one of ``(C, n)`` or ``(n,)`` signals) and the masks ``d_l``
    shared by the channels (Candès, Li & Soltanolkotabi, Appl. Comput. Harmon. Anal. 39(2), 2015). Masks are
    ``"octanary"`` (:func:`octanary_masks`, the paper's) or ``"phase"`` (uniform random phases ``e^{iθ}``).
    Output shape ``(L, *in_shape)``; ``m = L n`` measurements. ``AᴴA = N Σ_l |d_l|²`` is diagonal (``N`` the
    number of spatial samples), so :meth:`normal` and :meth:`pseudo_inverse` are exact and cheap.

    Args:
        in_shape: ``(C, H, W)``, ``(C, n)`` or ``(n,)`` (an integer ``n`` for vectors).
        num_masks: Number of masks ``L``.
        mask: ``"octanary"`` or ``"phase"``.
        generator: A ``torch.Generator`` or an integer seed (``None`` means seed 0).

    Example:
        >>> A = CodedDiffraction((1, 8, 8), 3, generator=0)
        >>> x = torch.ones(1, 1, 8, 8, dtype=torch.float64)
        >>> A.out_shape, bool(torch.allclose(A.adjoint(A(x)).real, 64 * A.mask_power()))
        ((3, 1, 8, 8), True)
    """

    in_complex = True
    out_complex = True

    def __init__(
        self,
        in_shape: int | Sequence[int],
        num_masks: int,
        *,
        mask: str = "octanary",
        generator: torch.Generator | int | None = None,
    ):
        in_shape = _signal_shape(in_shape)
        if len(in_shape) > 3:
            raise ValueError(f"in_shape must be (C, H, W), (C, n) or (n,), got {in_shape}")
        num_masks = check_number("num_masks", num_masks, low=1, integer=True)
        check_choice("mask", mask, ["octanary", "phase"])
        super().__init__(in_shape, (num_masks, *in_shape))
        self.spatial = in_shape[-2:] if len(in_shape) == 3 else in_shape[-1:]
        self.mask_kind = mask
        gen = make_generator(generator)
        if mask == "octanary":
            d = octanary_masks(num_masks, self.spatial, gen)
        else:
            theta = torch.rand(
                (num_masks, *self.spatial), generator=gen, device=gen.device, dtype=torch.float64
            )
            d = torch.polar(torch.ones_like(theta), 2 * math.pi * theta).cpu()
        self.register_buffer("masks", torch.view_as_real(d).contiguous())

    @property
    def _dims(self) -> tuple[int, ...]:
        return tuple(range(-len(self.spatial), 0))

    def _masks(self, t: torch.Tensor) -> torch.Tensor:
        """``(L, [1,] *spatial)`` complex masks in ``t``'s precision, broadcastable over the channels."""
        d = torch.view_as_complex(self.masks.to(device=t.device, dtype=t.real.dtype).contiguous())
        if len(self.in_shape) > len(self.spatial):
            d = d.unsqueeze(1)
        return d

    def mask_power(self) -> torch.Tensor:
        """``Σ_l |d_l|²`` over the spatial grid (float64): ``AᴴA = N · mask_power()``."""
        return torch.view_as_complex(self.masks.to(torch.float64)).abs().square().sum(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=len(self.in_shape) + 1, shape=self.in_shape, finite=False)
        x = _as_complex(x)
        return torch.fft.fftn(x.unsqueeze(1) * self._masks(x), dim=self._dims)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        check_tensor("y", y, ndim=len(self.out_shape) + 1, shape=self.out_shape, finite=False)
        y = _as_complex(y)
        # Fᴴ = N ifft (the DFT is unnormalized): norm="forward" puts no 1/N on the inverse.
        z = torch.fft.ifftn(y, dim=self._dims, norm="forward")
        return (z * self._masks(y).conj()).sum(1)

    def _diagonal(self, t: torch.Tensor) -> torch.Tensor:
        N = math.prod(self.spatial)
        return N * self._masks(t).abs().square().sum(0)

    def normal(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=len(self.in_shape) + 1, shape=self.in_shape, finite=False)
        x = _as_complex(x)
        return self._diagonal(x) * x

    def pseudo_inverse(self, y: torch.Tensor) -> torch.Tensor:
        """The least-squares solution ``(AᴴA)⁻¹ Aᴴ y``, exact (``AᴴA`` is diagonal)."""
        z = self.adjoint(y)
        return z / self._diagonal(z)

    def frobenius_norm2(self) -> float:
        """``‖A‖_F² = Σ_r ‖a_r‖² = N C Σ_l ‖d_l‖²`` (about ``m n``)."""
        C = self.in_shape[0] if len(self.in_shape) > len(self.spatial) else 1
        return math.prod(self.spatial) * C * float(self.mask_power().sum())

    def norm(self, *args, **kwargs) -> float:
        """``√(N max Σ_l |d_l|²)``, exact."""
        return math.sqrt(math.prod(self.spatial) * float(self.mask_power().max()))

    def extra_repr(self) -> str:
        return f"in_shape={self.in_shape}, num_masks={self.out_shape[0]}, mask={self.mask_kind!r}"


class MagnitudeSquared(Operator):
    """The phase retrieval measurement model ``x -> |A x|²`` (intensities) for a linear operator ``A``.

    A nonlinear :class:`~.base.Operator` with the input and output shapes of ``A``; ``linear`` is ``A``.
    Noise is separate, as everywhere: ``y = noise(MagnitudeSquared(A)(x), generator)``. The phase retrieval
    methods take it as their operator (``method(y, MagnitudeSquared(A))``).

    :meth:`gradient` is the Wirtinger gradient of the intensity loss
    ``f(z) = (1/(2m)) Σ_r (|a_rᴴ z|² - y_r)²``: ``∇f(z) = (1/m) Aᴴ((|A z|² - y) ⊙ A z)``
    (Candès, Li & Soltanolkotabi 2015; for a real ``A`` and ``z``, half the ordinary gradient).

    Args:
        A: The linear part (e.g. :class:`GaussianSensingMatrix`, :class:`CodedDiffraction`).

    Example:
        >>> A = GaussianSensingMatrix(4, 16, generator=0)
        >>> M = MagnitudeSquared(A)
        >>> x = torch.randn(1, 4, dtype=torch.complex128, generator=torch.Generator().manual_seed(0))
        >>> bool(torch.allclose(M(x), M(1j * x))), M(x).dtype  # a global phase is invisible
        (True, torch.float64)
    """

    def __init__(self, A: LinearOperator):
        if not isinstance(A, LinearOperator):
            raise TypeError(f"A must be a LinearOperator, got {type(A).__name__}")
        super().__init__(A.in_shape, A.out_shape)
        self.linear = A
        self.in_complex = A.in_complex
        self.out_complex = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        Ax = self.linear(x)
        return Ax.real.square() + Ax.imag.square() if Ax.is_complex() else Ax.square()

    def gradient(self, z: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(∇f(z), f(z))`` for ``f(z) = (1/(2m)) Σ (|A z|² - y)²`` per batch item (the loss is ``(B,)``)."""
        Az = self.linear(z)
        residual = (Az.abs().square() if Az.is_complex() else Az.square()) - y
        m = math.prod(self.out_shape)
        grad = self.linear.adjoint(residual * Az) / m
        loss = residual.reshape(residual.shape[0], -1).square().sum(1) / (2 * m)
        return grad, loss

    def extra_repr(self) -> str:
        return f"in_shape={self.in_shape}, out_shape={self.out_shape}"
