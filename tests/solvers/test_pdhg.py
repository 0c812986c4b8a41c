"""PDHG (Chambolle-Pock) on LASSO (KKT-certified) and TV problems (duality-gap-certified references)."""

import pytest
import torch

from inverselab.functionals import L1, L21, FiniteDifference, NonNegative, SquaredL2
from inverselab.operators import Blur, Identity, gaussian_kernel, to_dense
from inverselab.solvers import pdhg, stacked_norm, tv_pdhg

from .test_admm import DenseImageOperator, reference, tv_problem
from .test_proximal_gradient import LAM, kkt_violation, lasso_problem


@pytest.mark.parametrize("precondition", [False, True], ids=["scalar-steps", "diagonal-preconditioning"])
def test_pdhg_reaches_lasso_optimum(precondition):
    A, M, y, _ = lasso_problem()
    res = pdhg(
        A,
        SquaredL2(y),
        L1(LAM),
        x0=torch.zeros(2, 40, dtype=torch.float64),
        precondition=precondition,
        num_iter=20000,
        tol=1e-14,
    )
    assert kkt_violation(res.x, M, y, LAM) < 1e-6
    objective = 0.5 * ((res.x @ M.T - y) ** 2).sum() + LAM * res.x.abs().sum()
    assert res.history["objective"][-1] == pytest.approx(float(objective), rel=1e-12)


@pytest.mark.parametrize(
    "shape,fourier,isotropic",
    [((1, 16), False, True), ((1, 6, 6), False, False), ((1, 8, 8), True, True), ((1, 8, 8), True, False)],
    ids=["1d", "2d-dense-anisotropic", "2d-blur-isotropic", "2d-blur-anisotropic"],
)
def test_tv_pdhg_reaches_tv_optimum(shape, fourier, isotropic):
    A, M, y = tv_problem(shape, fourier=fourier)
    lam = 0.2
    expected = reference(M, y, lam, shape, isotropic)
    res = tv_pdhg(y, A, lam, isotropic=isotropic, num_iter=3000, tol=1e-14)
    assert torch.abs(res.x - expected).max() < 1e-6


def test_tv_pdhg_denoising_isotropic():
    A, _, y = tv_problem((1, 6, 6))
    expected = reference(torch.eye(36, dtype=torch.float64), y, 0.2, (1, 6, 6), True)
    res = tv_pdhg(y, Identity((1, 6, 6)), 0.2, num_iter=3000, tol=1e-14)
    assert torch.abs(res.x - expected).max() < 1e-6


def test_tv_pdhg_nonnegative_matches_another_splitting():
    """x >= 0 as G (tv_pdhg) or as a third dual block F_3 = indicator with K_3 = I (Moreau conjugate prox)."""
    A, _, y = tv_problem((1, 8, 8), fourier=True)
    y = y - 0.5  # the unconstrained solution has negative entries
    res = tv_pdhg(y, A, 0.1, nonneg=True, num_iter=5000, tol=1e-14)
    free = tv_pdhg(y, A, 0.1, num_iter=5000, tol=1e-14)
    assert float(free.x.min()) < -0.05 and float(res.x.min()) >= 0
    D = FiniteDifference((1, 8, 8))
    other = pdhg(
        [A, D, Identity((1, 8, 8))],
        [SquaredL2(y), L21(0.1), NonNegative()],
        x0=torch.zeros_like(y),
        num_iter=20000,
        tol=1e-14,
    )
    assert torch.abs(res.x - other.x).max() < 1e-6


def test_stacked_norm_exact_and_by_power_iteration():
    A = Blur((1, 8, 6), gaussian_kernel(0.8, size=5))
    D = FiniteDifference((1, 8, 6))
    dense = torch.cat([to_dense(A), to_dense(D)])
    assert stacked_norm([A, D]) == pytest.approx(float(torch.linalg.matrix_norm(dense, 2)), rel=1e-12)
    _, M, _ = tv_problem((1, 6, 6))
    B = DenseImageOperator(M, (1, 6, 6))
    D = FiniteDifference((1, 6, 6))
    dense = torch.cat([M, to_dense(D)])
    assert stacked_norm([B, D]) == pytest.approx(float(torch.linalg.matrix_norm(dense, 2)), rel=1e-5)


def test_history_psnr_callback_and_bad_arguments():
    A, _, y = tv_problem((1, 8, 8), fourier=True)
    x_true = torch.zeros_like(y)
    x_true[..., 1:5] = 1.0
    calls = []
    res = tv_pdhg(y, A, 0.05, num_iter=50, tol=0, x_true=x_true, callback=lambda k, x: calls.append(k))
    assert calls == list(range(1, 51)) and len(res.history["psnr"]) == 50
    assert res.history["psnr"][-1] > res.history["psnr"][0]
    with pytest.raises(ValueError, match="F must have one functional per operator"):
        pdhg([A, A], [SquaredL2(y)], x0=y)
    with pytest.raises(ValueError, match="theta must be <= 1"):
        tv_pdhg(y, A, 0.1, theta=2.0)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        tv_pdhg(y, A, -0.1)
    with pytest.raises(ValueError, match=r"x0 must have trailing shape \(1, 8, 8\)"):
        tv_pdhg(y, A, 0.1, x0=torch.zeros(1, 1, 4, 4))


def test_tv_pdhg_on_complex_mri_matches_admm():
    """A complex unknown (MRI): the TV block's adjoint must keep its imaginary part (regression: it was
    dropped, and PDHG's objective rose from the start)."""
    from inverselab.functionals import TotalVariation
    from inverselab.operators import MRI
    from inverselab.operators.mri import random_kspace_mask
    from inverselab.solvers import admm_tv

    g = torch.Generator().manual_seed(3)
    shape = (16, 16)
    x = torch.zeros(1, 1, *shape, dtype=torch.complex128)
    x[..., 4:12, 5:11] = 1.0 + 0.5j
    A = MRI(shape, random_kspace_mask(shape, 2, 0.25, generator=g))
    y = A(x) + 0.05 * torch.randn(A(x).shape, dtype=torch.complex128, generator=g)
    lam = 0.05

    def objective(z):
        return float(0.5 * (A(z) - y).abs().pow(2).sum() + TotalVariation(lam).value(z).sum())

    ref = admm_tv(y, A, lam, rho=1.0, cg_iter=10, num_iter=600, tol=1e-12).x
    res = tv_pdhg(y, A, lam, num_iter=1500, tol=1e-12)
    assert res.x.is_complex()
    assert objective(res.x) <= objective(ref) * (1 + 1e-4)
    assert torch.abs(res.x - ref).max() < 1e-2
