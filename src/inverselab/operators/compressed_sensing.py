"""Compressed-sensing operators: a dense Gaussian matrix and fast subsampled orthonormal transforms.

All act on the flattened signal and return ``(B, m)`` measurements.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .._checks import check_number, check_tensor
from ..noise import make_generator
from .base import LinearOperator, _as_shape

__all__ = ["GaussianMatrix", "SubsampledDCT", "SubsampledHadamard", "dct_matrix", "fwht"]


def _signal_shape(in_shape: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(in_shape, int) and not isinstance(in_shape, bool):
        in_shape = (in_shape,)
    try:
        return _as_shape("in_shape", in_shape)
    except TypeError:
        raise TypeError(
            f"in_shape must be an integer or a tuple of positive sizes, got {in_shape!r}"
        ) from None


def _num_measurements(m: int | None, fraction: float | None, n: int) -> int:
    """``m`` given directly or as ``round(fraction * n)`` (exactly one of the two)."""
    if (m is None) == (fraction is None):
        raise ValueError(f"give exactly one of m and fraction, got m={m!r}, fraction={fraction!r}")
    if m is not None:
        if isinstance(m, float) and 0 < m < 1:
            raise TypeError(
                f"m must be an integer number of measurements, got {m!r} "
                f"(for a fraction, pass fraction={m!r})"
            )
        return check_number("m", m, low=1, high=n, integer=True)
    fraction = check_number("fraction", fraction, low=0, high=1, low_inclusive=False)
    return max(1, round(fraction * n))


class GaussianMatrix(LinearOperator):
    """A dense ``m x n`` matrix with i.i.d. ``N(0, 1/m)`` entries acting on the flattened signal.

    With ``normalize_columns=True`` every column is rescaled to unit L2 norm: the standard LISTA/AMP problem
    (Gregor & LeCun, ICML 2010; Chen et al., NeurIPS 2018) is ``GaussianMatrix(500, 250,
    normalize_columns=True)``. The matrix is the public float64 buffer ``matrix``; it is cast to the input's
    dtype on each call, so for repeated float32 work convert the operator once (``A.float()``).

    Args:
        in_shape: Signal shape without the batch dimension (an integer ``n`` for vectors).
        m: Number of measurements (rows).
        generator: A ``torch.Generator`` or an integer seed (``None`` means seed 0).
        normalize_columns: Rescale the columns to unit norm.

    Example:
        >>> A = GaussianMatrix(500, 250, generator=0, normalize_columns=True)
        >>> tuple(A.matrix.shape), round(float(A.matrix[:, 0].norm()), 12)
        ((250, 500), 1.0)
    """

    def __init__(
        self,
        in_shape: int | Sequence[int],
        m: int,
        generator: torch.Generator | int | None = None,
        normalize_columns: bool = False,
    ):
        in_shape = _signal_shape(in_shape)
        m = check_number("m", m, low=1, integer=True)
        super().__init__(in_shape, (m,))
        gen = make_generator(generator)
        n = math.prod(in_shape)
        M = torch.randn(m, n, dtype=torch.float64, generator=gen, device=gen.device) / math.sqrt(m)
        if normalize_columns:
            M = M / torch.linalg.vector_norm(M, dim=0, keepdim=True)
        self.normalize_columns = bool(normalize_columns)
        self.register_buffer("matrix", M.cpu())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=len(self.in_shape) + 1, shape=self.in_shape, finite=False)
        return x.reshape(x.shape[0], -1) @ self.matrix.to(device=x.device, dtype=x.dtype).T

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        check_tensor("y", y, ndim=2, shape=self.out_shape, finite=False)
        return (y @ self.matrix.to(device=y.device, dtype=y.dtype)).reshape(y.shape[0], *self.in_shape)

    def extra_repr(self) -> str:
        return f"in_shape={self.in_shape}, m={self.out_shape[0]}, normalize_columns={self.normalize_columns}"


# --- transforms ------------------------------------------------------------------------------------------
def dct_matrix(n: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The orthonormal DCT-II matrix ``D[k, j] = sqrt(2/n) c_k cos(π (2j + 1) k / (2n))``, ``c_0 = 1/√2``.

    ``D @ x`` equals ``scipy.fft.dct(x, norm="ortho")`` and ``D.T`` is its inverse.

    Example:
        >>> D = dct_matrix(8)
        >>> bool(torch.allclose(D @ D.T, torch.eye(8, dtype=torch.float64)))
        True
    """
    n = check_number("n", n, low=1, integer=True)
    k = torch.arange(n, dtype=torch.float64)[:, None]
    j = torch.arange(n, dtype=torch.float64)[None, :]
    D = math.sqrt(2 / n) * torch.cos(math.pi * (2 * j + 1) * k / (2 * n))
    D[0] /= math.sqrt(2)
    return D.to(dtype)


def fwht(x: torch.Tensor) -> torch.Tensor:
    """Unnormalized fast Walsh-Hadamard transform along the last dimension (Sylvester/natural order).

    ``fwht(x) = x @ H`` with ``H = scipy.linalg.hadamard(n)``; ``n`` must be a power of 2; ``O(n log n)``
    butterflies, differentiable.

    Example:
        >>> fwht(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        tensor([1., 1., 1., 1.])
    """
    n = x.shape[-1]
    if n & (n - 1):
        raise ValueError(f"the last dimension of x must be a power of 2, got {n}")
    lead = x.shape[:-1]
    h = 1
    while h < n:
        v = x.reshape(*lead, n // (2 * h), 2, h)
        a, b = v[..., 0, :], v[..., 1, :]
        x = torch.stack((a + b, a - b), dim=-2).reshape(*lead, n)
        h *= 2
    return x


class _Subsampled(LinearOperator):
    """Orthonormal transform ``T`` of the flattened signal followed by the selection of ``m`` coefficients."""

    def __init__(self, in_shape: tuple[int, ...], indices: torch.Tensor):
        super().__init__(in_shape, (indices.numel(),))
        self.register_buffer("indices", indices.cpu())

    def _transform(self, x: torch.Tensor) -> torch.Tensor:  # (B, *in_shape) -> (B, n)
        raise NotImplementedError

    def _inverse(self, c: torch.Tensor) -> torch.Tensor:  # (B, n) -> (B, *in_shape)
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=len(self.in_shape) + 1, shape=self.in_shape, finite=False)
        return self._transform(x)[:, self.indices.to(x.device)]

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        check_tensor("y", y, ndim=2, shape=self.out_shape, finite=False)
        full = y.new_zeros((y.shape[0], math.prod(self.in_shape)))
        full = full.index_copy(1, self.indices.to(y.device), y)
        return self._inverse(full)

    def norm(self, *args, **kwargs) -> float:
        """1: the rows are orthonormal (``A Aᴴ = I``)."""
        return 1.0


class SubsampledDCT(_Subsampled):
    """Orthonormal DCT-II, then a seeded random selection of ``m`` coefficients: ``A = P D``, ``A Aᵀ = I``.

    The transform is separable over the last two axes of ``(C, H, W)`` or ``(H, W)`` signals (over the single
    axis of ``(n,)`` signals), computed as products with precomputed orthonormal DCT matrices (exact, and fast
    for sizes up to a few hundred). Coefficients are indexed over the flattened ``C x H x W`` array.

    Selection: the ``round(low_fraction * n)`` lowest frequencies (ordered by ``i / H + j / W``, every channel
    before the next frequency) are always kept, and the remaining ``m - round(low_fraction * n)`` are drawn
    uniformly without replacement from the others. ``low_fraction=0`` (default) is the purely random ensemble;
    natural images are far better recovered with a few percent of low frequencies. ``indices`` (a long buffer,
    sorted) lists the kept coefficients.

    Args:
        in_shape: ``(C, H, W)``, ``(H, W)`` or ``(n,)`` (an integer ``n`` for vectors).
        m: Number of kept coefficients (give ``m`` or ``fraction``).
        fraction: Fraction of kept coefficients, in ``(0, 1]``.
        generator: A ``torch.Generator`` or an integer seed (``None`` means seed 0).
        low_fraction: Fraction of all coefficients, the lowest frequencies, always kept (at most ``m / n``).

    Example:
        >>> import torch
        >>> A = SubsampledDCT((1, 8, 8), fraction=0.25, low_fraction=0.05)
        >>> y = torch.randn(3, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        >>> bool(torch.allclose(A(A.adjoint(y)), y)), A.indices[:3].tolist()  # DC, (0, 1), (1, 0)
        (True, [0, 1, 8])
    """

    def __init__(
        self,
        in_shape: int | Sequence[int],
        m: int | None = None,
        *,
        fraction: float | None = None,
        generator: torch.Generator | int | None = None,
        low_fraction: float = 0.0,
    ):
        in_shape = _signal_shape(in_shape)
        if len(in_shape) > 3:
            raise ValueError(f"in_shape must be (n,), (H, W) or (C, H, W), got {in_shape}")
        n = math.prod(in_shape)
        m = _num_measurements(m, fraction, n)
        low_fraction = check_number("low_fraction", low_fraction, low=0, high=1)
        num_low = round(low_fraction * n)
        if num_low > m:
            raise ValueError(
                f"low_fraction={low_fraction} keeps {num_low} low frequencies, more than the "
                f"m={m} measurements"
            )
        # Frequency key of every flattened coefficient; a stable sort puts the lowest ones first.
        axes = in_shape[-2:] if len(in_shape) >= 2 else in_shape
        freq = torch.zeros(())
        for size in axes:
            freq = freq[..., None] + torch.arange(size, dtype=torch.float64) / size
        key = freq.expand(in_shape).reshape(-1)
        order = torch.sort(key, stable=True).indices
        low, rest = order[:num_low], order[num_low:]
        gen = make_generator(generator)
        pick = torch.randperm(rest.numel(), generator=gen, device=gen.device).cpu()[: m - num_low]
        indices = torch.sort(torch.cat((low, rest[pick]))).values
        super().__init__(in_shape, indices)
        self.low_fraction = low_fraction
        for i, size in enumerate(axes):
            self.register_buffer(f"_dct{i}", dct_matrix(size), persistent=False)

    def _mats(self, t: torch.Tensor) -> list[torch.Tensor]:
        return [
            getattr(self, f"_dct{i}").to(device=t.device, dtype=t.dtype)
            for i in range(len(self.in_shape[-2:]))
        ]

    def _transform(self, x: torch.Tensor) -> torch.Tensor:
        mats = self._mats(x)
        c = x @ mats[-1].T
        if len(mats) == 2:
            c = mats[0] @ c
        return c.reshape(x.shape[0], -1)

    def _inverse(self, c: torch.Tensor) -> torch.Tensor:
        mats = self._mats(c)
        x = c.reshape(c.shape[0], *self.in_shape) @ mats[-1]
        if len(mats) == 2:
            x = mats[0].T @ x
        return x

    def extra_repr(self) -> str:
        return f"in_shape={self.in_shape}, m={self.out_shape[0]}, low_fraction={self.low_fraction}"


class SubsampledHadamard(_Subsampled):
    """Random signs, orthonormal Walsh-Hadamard transform, random selection: ``A = P (H/√n) diag(s)``.

    The seeded Rademacher signs ``s`` make the rows behave like a random ensemble (a structurally random
    matrix, Do, Gan, Nguyen & Tran, IEEE TSP 2012); ``P`` keeps ``m`` of the ``n`` rows uniformly at random
    (``indices``, sorted). ``H`` is the Sylvester Hadamard matrix (``scipy.linalg.hadamard``) applied by the
    fast ``O(n log n)`` transform :func:`fwht`. ``n = prod(in_shape)`` must be a power of 2; ``A Aᵀ = I``.

    Args:
        in_shape: Signal shape (an integer ``n`` for vectors); ``prod(in_shape)`` a power of 2.
        m: Number of kept rows (give ``m`` or ``fraction``).
        fraction: Fraction of kept rows, in ``(0, 1]``.
        generator: A ``torch.Generator`` or an integer seed (``None`` means seed 0).

    Example:
        >>> import torch
        >>> A = SubsampledHadamard((1, 8, 8), m=16, generator=1)
        >>> y = torch.randn(2, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        >>> bool(torch.allclose(A(A.adjoint(y)), y))
        True
    """

    def __init__(
        self,
        in_shape: int | Sequence[int],
        m: int | None = None,
        *,
        fraction: float | None = None,
        generator: torch.Generator | int | None = None,
    ):
        in_shape = _signal_shape(in_shape)
        n = math.prod(in_shape)
        if n & (n - 1):
            raise ValueError(
                f"in_shape must have a power-of-2 number of entries, got {in_shape} ({n} entries)"
            )
        m = _num_measurements(m, fraction, n)
        gen = make_generator(generator)
        signs = torch.randint(0, 2, (n,), generator=gen, device=gen.device).cpu().to(torch.float64) * 2 - 1
        pick = torch.randperm(n, generator=gen, device=gen.device).cpu()[:m]
        super().__init__(in_shape, torch.sort(pick).values)
        self.register_buffer("signs", signs)

    def _transform(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(x.shape[0], -1) * self.signs.to(device=x.device, dtype=x.dtype)
        return fwht(flat) / math.sqrt(flat.shape[-1])

    def _inverse(self, c: torch.Tensor) -> torch.Tensor:
        x = fwht(c) / math.sqrt(c.shape[-1]) * self.signs.to(device=c.device, dtype=c.dtype)
        return x.reshape(c.shape[0], *self.in_shape)

    def extra_repr(self) -> str:
        return f"in_shape={self.in_shape}, m={self.out_shape[0]}"
