"""Operator base classes, operator algebra and the adjoint (dot) test.

Every forward model is a :class:`torch.nn.Module` acting on batched tensors ``(B, *in_shape)`` and
returning ``(B, *out_shape)``; the batch dimension is free. Buffers (masks, kernels, sensitivity maps) move
with ``.to()``.
Operators compute in the dtype of their input and cast their buffers to it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Number

import torch
from torch import nn

from .._checks import check_number, check_tensor

__all__ = [
    "Operator",
    "LinearOperator",
    "Identity",
    "Denoising",
    "Adjoint",
    "Composition",
    "Sum",
    "Scaled",
    "check_adjoint",
    "operator_norm",
    "to_dense",
]


def _as_shape(name: str, shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    if not shape or any(s <= 0 for s in shape):
        raise ValueError(f"{name} must be a non-empty tuple of positive sizes, got {shape}")
    return shape


def complex_dtype_of(dtype: torch.dtype) -> torch.dtype:
    """The complex dtype with the precision of ``dtype`` (complex64 for float32, complex128 for float64)."""
    if dtype.is_complex:
        return dtype
    return torch.complex128 if dtype == torch.float64 else torch.complex64


def real_dtype_of(dtype: torch.dtype) -> torch.dtype:
    """The real dtype with the precision of ``dtype``."""
    if not dtype.is_complex:
        return dtype
    return torch.float64 if dtype == torch.complex128 else torch.float32


class Operator(nn.Module):
    """A forward model ``x -> A(x)``, possibly nonlinear.

    Subclasses implement :meth:`forward`. The Jacobian-vector product :meth:`jvp` and the vector-Jacobian
    product :meth:`vjp` default to automatic differentiation; override them where a closed form is cheaper.

    Args:
        in_shape: Shape of one input signal, without the batch dimension.
        out_shape: Shape of one measurement, without the batch dimension.
    """

    #: The input domain is complex (real inputs are promoted).
    in_complex: bool = False
    #: The measurements are complex.
    out_complex: bool = False

    def __init__(self, in_shape: Sequence[int], out_shape: Sequence[int]):
        super().__init__()
        self.in_shape = _as_shape("in_shape", in_shape)
        self.out_shape = _as_shape("out_shape", out_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def jvp(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Jacobian of the operator at ``x`` applied to the direction ``v``."""
        return torch.func.jvp(self.forward, (x,), (v,))[1]

    def vjp(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Adjoint Jacobian at ``x`` applied to ``w`` (the gradient of ``Re<A(x), w>``)."""
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self.forward(x), x, grad_outputs=w)
        return g

    def check_input(self, x: object, name: str = "x") -> torch.Tensor:
        """Raise a ``ValueError`` naming ``name`` unless ``x`` is a finite ``(B, *in_shape)`` tensor."""
        return check_tensor(name, x, ndim=len(self.in_shape) + 1, shape=self.in_shape)

    def check_measurement(self, y: object, name: str = "y") -> torch.Tensor:
        """Raise a ``ValueError`` naming ``name`` unless ``y`` is a finite ``(B, *out_shape)`` tensor."""
        return check_tensor(name, y, ndim=len(self.out_shape) + 1, shape=self.out_shape)

    def reference_tensor(self) -> torch.Tensor | None:
        """A buffer or parameter of the operator (or its children), to pick a device (``None`` if none)."""
        for t in self.buffers():
            return t
        for t in self.parameters():
            return t
        return None

    @property
    def device(self) -> torch.device:
        """Device of the operator's buffers (CPU when it has none)."""
        t = self.reference_tensor()
        return t.device if t is not None else torch.device("cpu")

    def extra_repr(self) -> str:
        return f"in_shape={self.in_shape}, out_shape={self.out_shape}"


class LinearOperator(Operator):
    """A linear operator with an exact adjoint.

    Subclasses implement :meth:`forward` and :meth:`adjoint`. ``A(x)`` applies the operator, ``A.H`` is the
    adjoint as an operator, ``A.normal(x)`` is ``AᴴA x``; ``A @ B``, ``A + B``, ``A - B``, ``c * A`` build
    composite operators.

    Example:
        >>> import torch
        >>> A = 2 * Identity((3,))
        >>> (A.H @ A)(torch.ones(1, 3))
        tensor([[4., 4., 4.]])
    """

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def normal(self, x: torch.Tensor) -> torch.Tensor:
        """``AᴴA x``; override where a cheaper form exists."""
        return self.adjoint(self.forward(x))

    @property
    def H(self) -> LinearOperator:  # noqa: N802 - mathematical notation
        """The adjoint operator."""
        return Adjoint(self)

    def jvp(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return self.forward(v)

    def vjp(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.adjoint(w)

    def norm(self, num_iter: int = 200, tol: float = 1e-7, recompute: bool = False) -> float:
        """Spectral norm ``‖A‖₂`` by power iteration on ``AᴴA`` (cached after the first call).

        Subclasses with a known norm override this. The cache is not invalidated when buffers are changed in
        place: pass ``recompute=True`` after such a change.
        """
        cached = getattr(self, "_norm_cache", None)
        if cached is None or recompute:
            cached = operator_norm(self, num_iter=num_iter, tol=tol)
            self._norm_cache = cached
        return cached

    # --- algebra -------------------------------------------------------------------------------------------
    def __matmul__(self, other: LinearOperator) -> LinearOperator:
        if not isinstance(other, LinearOperator):
            return NotImplemented
        return Composition(self, other)

    def __add__(self, other: LinearOperator) -> LinearOperator:
        if not isinstance(other, LinearOperator):
            return NotImplemented
        return Sum(self, other)

    def __sub__(self, other: LinearOperator) -> LinearOperator:
        if not isinstance(other, LinearOperator):
            return NotImplemented
        return Sum(self, Scaled(-1.0, other))

    def __mul__(self, c: Number) -> LinearOperator:
        if isinstance(c, torch.Tensor) or not isinstance(c, Number):
            return NotImplemented
        return Scaled(c, self)

    __rmul__ = __mul__

    def __truediv__(self, c: Number) -> LinearOperator:
        if isinstance(c, torch.Tensor) or not isinstance(c, Number):
            return NotImplemented
        return Scaled(1.0 / c, self)

    def __neg__(self) -> LinearOperator:
        return Scaled(-1.0, self)


class Identity(LinearOperator):
    """The identity ``A x = x`` on signals of shape ``shape``: the forward model of denoising.

    Args:
        shape: Signal shape without the batch dimension, e.g. ``(1, 64, 64)``.
        complex: Whether the domain is complex.

    Example:
        >>> import torch
        >>> Identity((1, 2, 2))(torch.ones(1, 1, 2, 2)).sum().item()
        4.0
    """

    def __init__(self, shape: Sequence[int], complex: bool = False):
        super().__init__(shape, shape)
        self.in_complex = self.out_complex = bool(complex)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return y

    def normal(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def norm(self, *args, **kwargs) -> float:
        return 1.0


#: Denoising is the identity forward model; the name reads better in presets.
Denoising = Identity


class Adjoint(LinearOperator):
    """The adjoint ``Aᴴ`` of a linear operator, as an operator (``A.H``)."""

    def __init__(self, op: LinearOperator):
        super().__init__(op.out_shape, op.in_shape)
        self.op = op
        self.in_complex, self.out_complex = op.out_complex, op.in_complex

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.op.adjoint(y)

    def adjoint(self, x: torch.Tensor) -> torch.Tensor:
        return self.op.forward(x)

    @property
    def H(self) -> LinearOperator:  # noqa: N802
        return self.op

    def norm(self, *args, **kwargs) -> float:
        return self.op.norm(*args, **kwargs)


class Composition(LinearOperator):
    """``(A @ B) x = A(B(x))``."""

    def __init__(self, outer: LinearOperator, inner: LinearOperator):
        if tuple(outer.in_shape) != tuple(inner.out_shape):
            raise ValueError(
                f"cannot compose: the outer operator's in_shape {outer.in_shape} must equal the inner "
                f"operator's out_shape {inner.out_shape}"
            )
        super().__init__(inner.in_shape, outer.out_shape)
        self.outer, self.inner = outer, inner
        self.in_complex, self.out_complex = inner.in_complex, outer.out_complex

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.outer(self.inner(x))

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return self.inner.adjoint(self.outer.adjoint(y))


class Sum(LinearOperator):
    """``(A + B) x = A x + B x``."""

    def __init__(self, first: LinearOperator, second: LinearOperator):
        if first.in_shape != second.in_shape or first.out_shape != second.out_shape:
            raise ValueError(
                f"cannot add operators of shapes {first.in_shape}->{first.out_shape} and "
                f"{second.in_shape}->{second.out_shape}"
            )
        super().__init__(first.in_shape, first.out_shape)
        self.first, self.second = first, second
        self.in_complex = first.in_complex or second.in_complex
        self.out_complex = first.out_complex or second.out_complex

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.first(x) + self.second(x)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return self.first.adjoint(y) + self.second.adjoint(y)


class Scaled(LinearOperator):
    """``(c A) x = c (A x)`` for a real or complex scalar ``c``."""

    def __init__(self, scale: Number, op: LinearOperator):
        super().__init__(op.in_shape, op.out_shape)
        if isinstance(scale, bool) or not isinstance(scale, Number):
            raise TypeError(f"scale must be a real or complex number, got {scale!r}")
        if not math.isfinite(abs(scale)):
            raise ValueError(f"scale must be finite, got {scale!r}")
        self.scale = scale
        self.op = op
        self.in_complex = op.in_complex or isinstance(scale, complex)
        self.out_complex = op.out_complex or isinstance(scale, complex)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * self.op(x)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        c = self.scale.conjugate() if isinstance(self.scale, complex) else self.scale
        return c * self.op.adjoint(y)

    def normal(self, x: torch.Tensor) -> torch.Tensor:
        return abs(self.scale) ** 2 * self.op.normal(x)

    def norm(self, *args, **kwargs) -> float:
        return abs(self.scale) * self.op.norm(*args, **kwargs)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


# --- tools ---------------------------------------------------------------------------------------------
def _draw(
    shape: tuple[int, ...], is_complex: bool, dtype: torch.dtype, device: torch.device, gen: torch.Generator
) -> torch.Tensor:
    real = real_dtype_of(dtype)
    x = torch.randn(shape, dtype=real, generator=gen).to(device)
    if is_complex:
        x = torch.complex(x, torch.randn(shape, dtype=real, generator=gen).to(device))
    return x


def _inner(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``<a, b> = sum(conj(a) * b)`` over all entries."""
    return torch.sum(a.conj() * b) if (a.is_complex() or b.is_complex()) else torch.sum(a * b)


def check_adjoint(
    A: LinearOperator,
    *,
    dtype: torch.dtype = torch.float64,
    batch_size: int = 2,
    generator: torch.Generator | None = None,
) -> float:
    """Relative error of the dot test ``<A x, y> = <x, Aᴴ y>`` on random ``x`` and ``y``.

    The error is ``|<Ax, y> - <x, Aᴴy>| / (‖Ax‖ ‖y‖ + ‖x‖ ‖Aᴴy‖)``; in float64 an exact adjoint gives about
    1e-16, a wrong one something of order 1.

    Args:
        A: The operator to test.
        dtype: Real precision of the random vectors (complex ones are drawn where the domain is complex).
        batch_size: Number of signals in the test batch.
        generator: Source of randomness (a fixed seed when omitted).

    Example:
        >>> check_adjoint(Identity((4, 4))) < 1e-12
        True
    """
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A must be a LinearOperator, got {type(A).__name__}")
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    device = A.device
    x = _draw((batch_size, *A.in_shape), A.in_complex, dtype, device, gen)
    y = _draw((batch_size, *A.out_shape), A.out_complex, dtype, device, gen)
    Ax, AHy = A(x), A.adjoint(y)
    lhs, rhs = _inner(Ax, y), _inner(x, AHy)
    scale = torch.linalg.vector_norm(Ax) * torch.linalg.vector_norm(y)
    scale = scale + torch.linalg.vector_norm(x) * torch.linalg.vector_norm(AHy)
    return float(torch.abs(lhs - rhs) / torch.clamp(scale, min=torch.finfo(real_dtype_of(dtype)).tiny))


def operator_norm(
    A: LinearOperator,
    *,
    num_iter: int = 200,
    tol: float = 1e-7,
    dtype: torch.dtype = torch.float64,
    generator: torch.Generator | None = None,
) -> float:
    """Spectral norm ``‖A‖₂`` by power iteration on ``AᴴA``.

    Args:
        A: The operator.
        num_iter: Maximum number of power iterations.
        tol: Stop when the relative change of the estimate falls below this.
        dtype: Working precision.
        generator: Source of the random start (a fixed seed when omitted, so the result is deterministic).

    Example:
        >>> round(operator_norm(3 * Identity((5,))), 6)
        3.0
    """
    check_number("num_iter", num_iter, low=1, integer=True)
    check_number("tol", tol, low=0)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    with torch.no_grad():
        x = _draw((1, *A.in_shape), A.in_complex, dtype, A.device, gen)
        x = x / torch.linalg.vector_norm(x)
        estimate = 0.0
        for _ in range(num_iter):
            z = A.normal(x)
            new = float(torch.linalg.vector_norm(z))
            if new == 0.0:
                return 0.0
            x = z / new
            if abs(new - estimate) <= tol * new:
                estimate = new
                break
            estimate = new
    return math.sqrt(estimate)


def to_dense(A: LinearOperator, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The matrix of ``A`` (``prod(out_shape) x prod(in_shape)``), for small operators in tests and teaching.

    Example:
        >>> to_dense(2 * Identity((2,)))
        tensor([[2., 0.],
                [0., 2.]], dtype=torch.float64)
    """
    n = math.prod(A.in_shape)
    work = complex_dtype_of(dtype) if A.in_complex else dtype
    eye = torch.eye(n, dtype=work, device=A.device).reshape(n, *A.in_shape)
    with torch.no_grad():
        cols = A(eye).reshape(n, -1)
    return cols.transpose(0, 1).contiguous()
