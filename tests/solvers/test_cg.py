"""Conjugate gradients and Tikhonov/least squares by CG, against dense direct solves."""

import pytest
import torch

from inverselab.operators import Identity
from inverselab.solvers import SolverResult, cg, tikhonov_cg

from ..operators.factories.base import _Matrix

GEN = torch.Generator().manual_seed(0)


def dense_problem(m=30, n=20, complex=False):
    M = torch.randn(m, n, dtype=torch.float64, generator=GEN)
    if complex:
        M = torch.complex(M, torch.randn(m, n, dtype=torch.float64, generator=GEN))
    y = torch.randn(3, m, dtype=M.dtype, generator=GEN)
    return _Matrix(M), M, y


@pytest.mark.parametrize("complex", [False, True], ids=["real", "complex"])
@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_tikhonov_cg_equals_direct_solve(lam, complex):
    A, M, y = dense_problem(complex=complex)
    y = y * torch.tensor([[1.0], [1e3], [1e-3]], dtype=torch.float64)  # very different scales per batch item
    res = tikhonov_cg(y, A, lam, num_iter=200, tol=1e-13)
    n = M.shape[1]
    normal = M.conj().T @ M + lam * torch.eye(n, dtype=M.dtype)
    direct = torch.linalg.solve(normal, (y @ M.conj()).T).T
    rel = torch.linalg.vector_norm(res.x - direct, dim=1) / torch.linalg.vector_norm(direct, dim=1)
    assert float(rel.max()) < 1e-8
    assert isinstance(res, SolverResult) and res.converged and res.num_iter <= 60
    assert res.history["residual"][-1] <= 1e-13
    # tracked objective (no extra operator application) equals the true one at the end
    true_obj = 0.5 * (torch.abs(res.x @ M.T - y) ** 2).sum() + 0.5 * lam * (torch.abs(res.x) ** 2).sum()
    assert res.history["objective"][-1] == pytest.approx(float(true_obj), rel=1e-10)
    assert all(
        b <= a * (1 + 1e-12)
        for a, b in zip(res.history["objective"], res.history["objective"][1:], strict=False)
    )


def test_tikhonov_cg_psnr_history_and_callback():
    A, M, _ = dense_problem()
    x_true = torch.rand(1, 20, dtype=torch.float64, generator=GEN)
    y = x_true @ M.T
    seen = []
    res = tikhonov_cg(y, A, 0.0, num_iter=100, tol=1e-12, x_true=x_true, callback=lambda k, x: seen.append(k))
    assert res.history["psnr"][-1] > 150  # exact recovery of a consistent overdetermined system
    assert seen == list(range(1, res.num_iter + 1))


def test_cg_generic_spd_and_iteration_cap():
    B = torch.randn(12, 12, dtype=torch.float64, generator=GEN)
    S = B @ B.T + 0.1 * torch.eye(12, dtype=torch.float64)
    b = torch.randn(2, 12, dtype=torch.float64, generator=GEN)
    res = cg(lambda x: x @ S, b, num_iter=200, tol=1e-12)
    assert torch.abs(res.x - torch.linalg.solve(S, b.T).T).max() < 1e-8
    capped = cg(lambda x: x @ S, b, num_iter=3, tol=1e-12)
    assert capped.num_iter == 3 and not capped.converged
    # warm start at the solution: converged immediately, zero iterations
    again = cg(lambda x: x @ S, b, x0=res.x, num_iter=10, tol=1e-6)
    assert again.num_iter == 0 and again.converged


def test_bad_arguments():
    A = Identity((4,))
    with pytest.raises(ValueError, match="lam must be >= 0"):
        tikhonov_cg(torch.ones(1, 4), A, -1.0)
    with pytest.raises(ValueError, match=r"y must have trailing shape \(4,\)"):
        tikhonov_cg(torch.ones(1, 5), A, 1.0)
    with pytest.raises(ValueError, match="y must contain only finite"):
        tikhonov_cg(torch.full((1, 4), float("nan")), A, 1.0)
    with pytest.raises(ValueError, match="num_iter must be >= 0"):
        tikhonov_cg(torch.ones(1, 4), A, 1.0, num_iter=-1)
    with pytest.raises(TypeError, match="A must be a LinearOperator"):
        tikhonov_cg(torch.ones(1, 4), torch.eye(4), 1.0)
