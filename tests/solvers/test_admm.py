"""ADMM (LASSO, KKT-certified) and ADMM-TV (against a duality-gap-certified dual solution)."""

import numpy as np
import pytest
import torch

from inverselab.functionals import L1
from inverselab.operators import Blur, Identity, LinearOperator, gaussian_kernel, to_dense
from inverselab.solvers import admm, admm_tv
from inverselab.solvers.admm import _QuadraticSolver

from ..functionals.tv_reference import tv_reference
from .test_proximal_gradient import LAM, kkt_violation, lasso_problem


class DenseImageOperator(LinearOperator):
    """A dense matrix acting on signals of any shape (not Fourier-diagonal: exercises the CG x-update)."""

    def __init__(self, M: torch.Tensor, shape):
        super().__init__(shape, shape)
        self.register_buffer("M", M)

    def forward(self, x):
        return (x.reshape(x.shape[0], -1) @ self.M.to(x.dtype).T).reshape(x.shape)

    def adjoint(self, y):
        return (y.reshape(y.shape[0], -1) @ self.M.to(y.dtype)).reshape(y.shape)


def tv_problem(shape, seed=0, fourier=False):
    """A small well-conditioned TV problem: A = blur (Fourier-diagonal) or I + small dense perturbation."""
    g = torch.Generator().manual_seed(seed)
    n = int(np.prod(shape))
    if fourier:
        A = Blur(shape, gaussian_kernel(0.5, size=3))
        M = to_dense(A)
    else:
        M = (
            torch.eye(n, dtype=torch.float64)
            + 0.3 * torch.randn(n, n, dtype=torch.float64, generator=g) / n**0.5
        )
        A = DenseImageOperator(M, shape)
    x = torch.zeros(1, *shape, dtype=torch.float64)
    x[..., 1 : shape[-1] // 2 + 1] = 1.0  # piecewise constant
    y = A(x) + 0.1 * torch.randn(x.shape, dtype=torch.float64, generator=g)
    return A, M, y


def reference(M, y, lam, shape, isotropic):
    x, gap = tv_reference(M.numpy(), y.numpy().ravel(), lam, shape, isotropic)
    assert gap < 1e-12  # |x - x*|² <= 2 gap / σ_min(AᵀA)
    return torch.from_numpy(x).reshape(y.shape)


@pytest.mark.parametrize("cg_iter", [40, 5])
def test_admm_reaches_lasso_optimum_with_cg_updates(cg_iter):
    A, M, y, _ = lasso_problem()
    res = admm(y, A, L1(LAM), rho=0.5, cg_iter=cg_iter, num_iter=3000, tol=1e-13)
    assert kkt_violation(res.x, M, y, LAM) < 1e-6
    assert res.history["primal_residual"][-1] < 1e-8


def test_admm_identity_is_closed_form():
    y = torch.tensor([[3.0, -0.5, 1.2]], dtype=torch.float64)
    res = admm(y, Identity((3,)), L1(1.0), rho=2.0, num_iter=500, tol=1e-14)
    assert torch.abs(res.x - torch.tensor([[2.0, 0.0, 0.2]], dtype=torch.float64)).max() < 1e-10


@pytest.mark.parametrize("isotropic", [True, False], ids=["isotropic", "anisotropic"])
@pytest.mark.parametrize(
    "shape,fourier",
    [((1, 16), False), ((1, 6, 6), False), ((1, 8, 8), True)],
    ids=["1d-cg", "2d-cg", "2d-blur-fft"],
)
def test_admm_tv_reaches_tv_optimum(shape, fourier, isotropic):
    A, M, y = tv_problem(shape, fourier=fourier)
    lam = 0.2
    expected = reference(M, y, lam, shape, isotropic)
    cg_iter = None if fourier else 3  # warm-started inexact x-updates suffice
    res = admm_tv(y, A, lam, isotropic=isotropic, rho=3.0, cg_iter=cg_iter, num_iter=2000, tol=1e-13)
    assert torch.abs(res.x - expected).max() < 1e-6


def test_admm_tv_denoising_uses_exact_fft_update():
    A, _, y = tv_problem((1, 6, 6), fourier=False)
    y = y - A(torch.zeros_like(y))  # any data
    expected = reference(torch.eye(36, dtype=torch.float64), y, 0.2, (1, 6, 6), True)
    res = admm_tv(y, Identity((1, 6, 6)), 0.2, rho=3.0, num_iter=1000, tol=1e-13)
    assert torch.abs(res.x - expected).max() < 1e-6


def test_fourier_x_update_is_exact():
    from inverselab.functionals import FiniteDifference

    A = Blur((1, 8, 6), gaussian_kernel(0.8, size=5))
    D = FiniteDifference((1, 8, 6))
    rhs = torch.randn(2, 1, 8, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    solve = _QuadraticSolver(A, 0.7, D, None, rhs)
    assert solve.mode == "fft"
    x, Ax = solve(rhs, rhs)
    normal = to_dense(A).T @ to_dense(A) + 0.7 * to_dense(D).T @ to_dense(D)
    direct = torch.linalg.solve(normal, rhs.reshape(2, -1).T).T.reshape(rhs.shape)
    assert torch.abs(x - direct).max() < 1e-10 and torch.abs(Ax - A(direct)).max() < 1e-10


def test_cg_budget_must_be_explicit():
    A, _, y = tv_problem((1, 6, 6), fourier=False)
    with pytest.raises(ValueError, match="not diagonal in the Fourier basis.*pass cg_iter="):
        admm_tv(y, A, 0.1)
    with pytest.raises(ValueError, match="rho must be > 0"):
        admm_tv(y, A, 0.1, rho=0.0, cg_iter=3)
