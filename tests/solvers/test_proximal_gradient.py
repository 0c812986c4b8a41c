"""ISTA and FISTA reach the LASSO optimum (certified by the KKT conditions) and FISTA is faster."""

import pytest
import torch

from inverselab.functionals import L1, L1Wavelet, NonNegative
from inverselab.solvers import fista, ista

from ..operators.factories.base import _Matrix

LAM = 0.05


def lasso_problem(m=20, n=40, batch=2, seed=0):
    """A small underdetermined LASSO problem ``½‖Ax - y‖² + λ‖x‖₁`` (A Gaussian with unit-norm columns)."""
    g = torch.Generator().manual_seed(seed)
    M = torch.randn(m, n, dtype=torch.float64, generator=g)
    M = M / torch.linalg.vector_norm(M, dim=0)
    x0 = torch.zeros(batch, n, dtype=torch.float64)
    for b in range(batch):
        support = torch.randperm(n, generator=g)[:4]
        x0[b, support] = torch.randn(4, dtype=torch.float64, generator=g)
    y = x0 @ M.T + 0.01 * torch.randn(batch, m, dtype=torch.float64, generator=g)
    return _Matrix(M), M, y, x0


def kkt_violation(x: torch.Tensor, M: torch.Tensor, y: torch.Tensor, lam: float) -> float:
    """Subgradient optimality of the LASSO: Mᵀ(Mx - y)_i = -λ sign(x_i) on the support, |·| <= λ off it."""
    g = (x @ M.T - y) @ M
    on = torch.abs(x) > 1e-12
    v_on = torch.where(on, torch.abs(g + lam * torch.sign(x)), 0.0)
    v_off = torch.where(on, 0.0, torch.clamp(torch.abs(g) - lam, min=0))
    return float(torch.maximum(v_on, v_off).max())


@pytest.mark.parametrize("solver,num_iter", [(fista, 3000), (ista, 20000)], ids=["fista", "ista"])
def test_reaches_lasso_optimum(solver, num_iter):
    A, M, y, _ = lasso_problem()
    res = solver(y, A, L1(LAM), num_iter=num_iter, tol=1e-15)
    assert kkt_violation(res.x, M, y, LAM) < 1e-6
    assert 2 <= int((res.x.abs() > 0).sum(dim=1).min()) <= 20  # a genuinely sparse, nonzero solution
    objective = 0.5 * ((res.x @ M.T - y) ** 2).sum() + LAM * res.x.abs().sum()
    assert res.history["objective"][-1] == pytest.approx(float(objective), rel=1e-12)


def test_fista_objective_below_ista_after_same_iterations():
    A, M, y, x0 = lasso_problem(seed=1)
    f = fista(y, A, L1(LAM), num_iter=100, tol=0, x_true=x0)
    i = ista(y, A, L1(LAM), num_iter=100, tol=0, x_true=x0)
    assert f.num_iter == i.num_iter == 100
    assert f.history["objective"][-1] < i.history["objective"][-1]
    optimum = fista(y, A, L1(LAM), num_iter=5000, tol=1e-15).history["objective"][-1]
    assert f.history["objective"][-1] - optimum < 0.1 * (i.history["objective"][-1] - optimum)
    assert len(f.history["psnr"]) == 100
    # ISTA's objective is monotone
    h = i.history["objective"]
    assert all(b <= a + 1e-12 for a, b in zip(h, h[1:], strict=False))


def test_wavelet_denoising_fixed_point_and_nonneg():
    g = torch.Generator().manual_seed(4)
    from inverselab.operators import Identity

    A = Identity((1, 16, 16))
    y = torch.rand(1, 1, 16, 16, dtype=torch.float64, generator=g)
    reg = L1Wavelet(0.1, (1, 16, 16), "db2", levels=2)
    res = fista(y, A, reg, num_iter=50, tol=1e-14)
    # with A = I and step 1 the solution is the prox itself, reached in one step
    assert torch.abs(res.x - reg.prox(y, 1.0)).max() < 1e-12 and res.converged
    neg = ista(y - 0.5, A, NonNegative(), num_iter=5)
    assert torch.equal(neg.x, torch.clamp(y - 0.5, min=0))


def test_stopping_rule_and_step_validation():
    A, M, y, _ = lasso_problem()
    res = fista(y, A, L1(LAM), num_iter=10000, tol=1e-5)
    assert res.converged and res.num_iter < 10000
    assert res.history["relative_change"][-1] <= 1e-5 < max(res.history["relative_change"][-5:-1])
    with pytest.raises(ValueError, match="step must be > 0"):
        ista(y, A, L1(LAM), step=-1.0)
    with pytest.raises(TypeError, match="g must be a functional with value\\(\\) and prox\\(\\)"):
        ista(y, A, object())
