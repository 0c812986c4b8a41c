"""Gradient descent / Landweber reaches least-squares and Tikhonov solutions of small dense problems."""

import pytest
import torch

from inverselab.functionals import Tikhonov, TotalVariation
from inverselab.solvers import gradient_descent

from ..operators.factories.base import _Matrix


def problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    M = torch.randn(30, 10, dtype=torch.float64, generator=g) / 30**0.5 + torch.eye(
        30, 10, dtype=torch.float64
    )
    y = torch.randn(2, 30, dtype=torch.float64, generator=g)
    return _Matrix(M), M, y


def test_landweber_converges_to_least_squares():
    A, M, y = problem()
    res = gradient_descent(y, A, num_iter=5000, tol=1e-14)
    lstsq = torch.linalg.lstsq(M, y.T).solution.T
    assert torch.abs(res.x - lstsq).max() < 1e-8
    h = res.history["objective"]
    assert all(b <= a + 1e-12 for a, b in zip(h, h[1:], strict=False))  # step 1/‖A‖² decreases monotonically


def test_with_tikhonov_gradient():
    A, M, y = problem(1)
    lam = 0.7
    res = gradient_descent(y, A, Tikhonov(lam), num_iter=5000, tol=1e-14)
    direct = torch.linalg.solve(M.T @ M + lam * torch.eye(10, dtype=torch.float64), (y @ M).T).T
    assert torch.abs(res.x - direct).max() < 1e-8
    assert res.converged


def test_needs_step_without_lipschitz_and_rejects_nonsmooth():
    A, _, y = problem()
    with pytest.raises(TypeError, match="regularizer must be a functional with value\\(\\) and grad\\(\\)"):
        gradient_descent(y, A, object())
    with pytest.raises(TypeError, match="regularizer must be smooth .*got TotalVariation"):
        gradient_descent(y, A, TotalVariation(0.1), step=0.1, num_iter=1)
