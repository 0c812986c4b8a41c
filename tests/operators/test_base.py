import pytest
import torch

from inverselab.operators import Identity, check_adjoint, operator_norm, to_dense

from .factories.base import _Matrix, matrix


def test_algebra_against_matrices():
    A, MA = matrix(4, 6, seed=0)
    B, MB = matrix(6, 3, seed=1)
    C, MC = matrix(4, 6, seed=2)
    assert torch.allclose(to_dense(A @ B), MA @ MB)
    assert torch.allclose(to_dense(A + C), MA + MC)
    assert torch.allclose(to_dense(A - C), MA - MC)
    assert torch.allclose(to_dense(-A / 2), -MA / 2)
    assert torch.allclose(to_dense((A @ B).H), (MA @ MB).T)
    assert (A.H).H is A
    assert operator_norm(A) == pytest.approx(float(torch.linalg.matrix_norm(MA, ord=2)), rel=1e-6)


def test_complex_scale_adjoint():
    g = torch.Generator().manual_seed(0)
    M = torch.randn(3, 3, dtype=torch.complex128, generator=g)
    A = (1 - 2j) * _Matrix(M)
    assert check_adjoint(A) < 1e-12
    assert torch.allclose(to_dense(A), (1 - 2j) * M)


def test_wrong_adjoint_is_caught():
    class Bad(_Matrix):
        def adjoint(self, y):
            return 1.01 * super().adjoint(y)

    A, M = matrix(5, 5)
    assert check_adjoint(Bad(M)) > 1e-3


def test_bad_composition_names_shapes():
    A, _ = matrix(4, 6)
    with pytest.raises(ValueError, match="in_shape"):
        A @ A


def test_check_input_messages():
    A = Identity((1, 4, 4))
    with pytest.raises(ValueError, match=r"y must have trailing shape \(1, 4, 4\)"):
        A.check_measurement(torch.zeros(1, 1, 4, 5))
    with pytest.raises(ValueError, match="finite"):
        A.check_measurement(torch.full((1, 1, 4, 4), float("nan")))
    with pytest.raises(TypeError, match="torch.Tensor"):
        A.check_input([1, 2])


def test_nonlinear_operator_jvp_vjp():
    from inverselab.operators import Operator

    class Square(Operator):
        def forward(self, x):
            return x**2

    op = Square((3,), (3,))
    x = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)
    v = torch.tensor([[1.0, 1.0, 1.0]], dtype=torch.float64)
    assert torch.allclose(op.jvp(x, v), 2 * x * v)
    assert torch.allclose(op.vjp(x, v), 2 * x * v)
