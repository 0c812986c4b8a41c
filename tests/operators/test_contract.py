"""The operator contract, run over every registered operator factory (see ``registry.py``).

Checks, for each operator and for float32/float64 (complex where the domain is complex): the dot test,
linearity, ``normal``, batch independence, the dense matrix (when the factory gives one), the algebra
(``A.H``, ``A @ B``, ``A + B``, ``c * A``) against dense matrices, ``gradcheck`` in float64, the
power-iteration norm against the largest singular value, and ``.to()`` round trips.
"""

from __future__ import annotations

import copy
import inspect

import pytest
import torch

import inverselab.operators as ops
from inverselab.operators import LinearOperator, check_adjoint, to_dense
from inverselab.operators.base import Adjoint, Composition, Scaled, Sum, complex_dtype_of

from .registry import load_all

FACTORIES = load_all()
NAMES = sorted(FACTORIES)
DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: 2e-5, torch.float64: 1e-10}


def build(name):
    return FACTORIES[name][1]()


def draw(op: LinearOperator, shape, is_complex, dtype, seed=0, batch=2):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((batch, *shape), dtype=dtype, generator=g)
    if is_complex:
        x = torch.complex(x, torch.randn((batch, *shape), dtype=dtype, generator=g))
    return x


def close(a, b, dtype, rtol_scale=1.0):
    a, b = a.to(torch.complex128 if (a.is_complex() or b.is_complex()) else torch.float64), b
    b = b.to(a.dtype)
    err = float(torch.linalg.vector_norm(a - b) / torch.clamp(torch.linalg.vector_norm(b), min=1e-30))
    return err < TOL[dtype] * 10 * rtol_scale, err


def test_registry_is_complete():
    """Every exported concrete LinearOperator class has at least one factory."""
    exported = {
        obj
        for name in ops.__all__
        if inspect.isclass(obj := getattr(ops, name))
        and issubclass(obj, LinearOperator)
        and obj not in (LinearOperator, Adjoint, Composition, Sum, Scaled)
    }
    covered = {cls for cls, _ in FACTORIES.values()}
    missing = sorted(c.__name__ for c in exported - covered)
    assert not missing, f"operators without a contract-test factory: {missing}"


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_dot_test(name, dtype):
    A = build(name)
    err = check_adjoint(A.op, dtype=dtype)
    assert err < TOL[dtype], f"{name}: dot test error {err:.2e}"


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_linearity_normal_batch_and_dtype(name, dtype):
    A = build(name).op
    x1 = draw(A, A.in_shape, A.in_complex, dtype, seed=1)
    x2 = draw(A, A.in_shape, A.in_complex, dtype, seed=2)
    a, b = 0.7, -1.3
    y = A(a * x1 + b * x2)
    ok, err = close(y, a * A(x1) + b * A(x2), dtype)
    assert ok, f"{name}: linearity error {err:.2e}"
    assert tuple(y.shape) == (2, *A.out_shape)
    assert y.is_complex() == A.out_complex or (not A.out_complex and not y.is_complex())
    real = y.real if y.is_complex() else y
    assert real.dtype == dtype, f"{name}: output dtype {y.dtype} for input {x1.dtype}"
    ok, err = close(A.normal(x1), A.adjoint(A(x1)), dtype)
    assert ok, f"{name}: normal() disagrees with adjoint(forward()) by {err:.2e}"
    ok, err = close(A(x1)[1:], A(x1[1:]), dtype)
    assert ok, f"{name}: batch entries are not independent ({err:.2e})"
    xa = A.adjoint(draw(A, A.out_shape, A.out_complex, dtype, seed=3))
    assert tuple(xa.shape) == (2, *A.in_shape)


@pytest.mark.parametrize("name", NAMES)
def test_dense_and_algebra(name):
    case = build(name)
    A = case.op
    D = to_dense(A)
    if case.dense is not None:
        ok, err = close(D, case.dense, torch.float64)
        assert ok, f"{name}: operator differs from the reference matrix by {err:.2e}"
    ok, err = close(to_dense(A.H), D.conj().T, torch.float64)
    assert ok, f"{name}: A.H is not the conjugate transpose ({err:.2e})"
    ok, err = close(to_dense(A.H @ A), D.conj().T @ D, torch.float64)
    assert ok, f"{name}: A.H @ A disagrees with the dense product ({err:.2e})"
    ok, err = close(to_dense(2.5 * A + A - 0.5 * A), 3.0 * D, torch.float64)
    assert ok, f"{name}: scaled sums disagree with dense ({err:.2e})"
    if min(D.shape) <= 600:
        smax = float(torch.linalg.matrix_norm(D.to(complex_dtype_of(torch.float64)), ord=2))
        assert A.norm() == pytest.approx(smax, rel=1e-3), f"{name}: norm() {A.norm()} vs sigma_max {smax}"


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck(name):
    case = build(name)
    if not case.gradcheck:
        pytest.skip("factory opts out of gradcheck (instance too large)")
    A = case.op
    x = draw(A, A.in_shape, A.in_complex, torch.float64, batch=1).requires_grad_(True)
    y = draw(A, A.out_shape, A.out_complex, torch.float64, batch=1, seed=5).requires_grad_(True)
    assert torch.autograd.gradcheck(A, (x,), fast_mode=True)
    assert torch.autograd.gradcheck(A.adjoint, (y,), fast_mode=True)


@pytest.mark.parametrize("name", NAMES)
def test_to_round_trip(name):
    A = build(name).op
    x = draw(A, A.in_shape, A.in_complex, torch.float64)
    ref = A(x)
    B = copy.deepcopy(A).to(torch.float64).to(torch.float32).to("cpu")
    ok, err = close(B(x.to(torch.complex64 if x.is_complex() else torch.float32)), ref, torch.float32)
    assert ok, f"{name}: output changed after a .to() round trip ({err:.2e})"
    for buf in B.buffers():
        assert buf.device.type == "cpu"
    if torch.cuda.is_available():  # pragma: no cover - no GPU on CI
        C = copy.deepcopy(A).to("cuda")
        ok, err = close(C(x.cuda()).cpu(), ref, torch.float64)
        assert ok, f"{name}: CUDA result differs ({err:.2e})"
