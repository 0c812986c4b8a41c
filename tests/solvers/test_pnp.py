"""Plug-and-play solvers against the convex problems they solve with prox denoisers, RED against its closed
form with a linear symmetric denoiser, and the PnP methods through the registry."""

import math

import pytest
import torch

from inverselab.denoisers import WaveletDenoiser
from inverselab.functionals import L1Wavelet
from inverselab.methods import get_method
from inverselab.methods.classical import adjoint
from inverselab.operators import Blur, Identity, gaussian_kernel, to_dense
from inverselab.presets import make_problem
from inverselab.solvers import fista, hqs, ista, pnp_admm, pnp_pgd, red, sigma_schedule
from inverselab.solvers._common import psnr

from .test_admm import DenseImageOperator

FACTOR, LEVELS = 1.5, 2


def deblur_problem(size=32, seed=0):
    """A well-conditioned circular blur (transfer function >= 0.36) of a piecewise-smooth image + noise."""
    k = torch.tensor([0.1, 0.8, 0.1], dtype=torch.float64)
    A = Blur((1, size, size), torch.outer(k, k))
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, size, dtype=torch.float64)
    x = (t[:, None] > 0.4).double() * 0.6 + 0.3 * torch.sin(4 * t[None, :])
    x = x.expand(1, 1, size, size)
    y = A(x) + 0.05 * torch.randn(x.shape, generator=g, dtype=torch.float64)
    return A, x, y


def l1_wavelet_optimum(y, A, lam, size=32):
    """ISTA converges linearly here (the problem is strongly convex): ~120 iterations to 1e-14."""
    g = L1Wavelet(lam, (1, size, size), "db4", levels=LEVELS)
    res = ista(y, A, g, num_iter=1000, tol=1e-14)
    assert res.converged
    return res.x


@pytest.mark.parametrize("accelerate", [False, True])
def test_pnp_pgd_with_wavelet_denoiser_is_ista_on_l1_wavelet(accelerate):
    A, _, y = deblur_problem()
    sigma, step = 0.02, 0.8
    ref = l1_wavelet_optimum(y, A, FACTOR * sigma / step)  # PnP-PGD solves ½‖Ax-y‖² + g_σ / step
    D = WaveletDenoiser("db4", LEVELS, FACTOR)
    res = pnp_pgd(y, A, D, sigma, step=step, accelerate=accelerate, num_iter=1000, tol=1e-14)
    assert res.converged
    assert float((res.x - ref).abs().max()) < 1e-9
    assert set(res.history) == {"relative_change", "data_fidelity"}


def test_pnp_pgd_matches_fista_iterate_by_iterate():
    A, _, y = deblur_problem()
    D = WaveletDenoiser("db4", LEVELS, FACTOR)
    g = L1Wavelet(FACTOR * 0.02, (1, 32, 32), "db4", levels=LEVELS)
    a = pnp_pgd(y, A, D, 0.02, accelerate=True, num_iter=7, tol=0.0).x
    b = fista(y, A, g, num_iter=7, tol=0.0).x
    torch.testing.assert_close(a, b, atol=1e-13, rtol=0)


def test_pnp_admm_with_wavelet_denoiser_reaches_the_l1_wavelet_optimum():
    A, _, y = deblur_problem()
    sigma, rho = 0.02, 2.0
    ref = l1_wavelet_optimum(y, A, rho * FACTOR * sigma)  # PnP-ADMM solves ½‖Ax-y‖² + ρ g_σ
    D = WaveletDenoiser("db4", LEVELS, FACTOR)
    res = pnp_admm(y, A, D, sigma, rho=rho, num_iter=1000, tol=1e-14)
    assert res.converged
    assert float((res.x - ref).abs().max()) < 1e-8
    assert res.history["primal_residual"][-1] < 1e-9


def test_pnp_admm_with_cg_updates_reaches_the_same_optimum():
    A, _, y = deblur_problem(size=16)
    dense = DenseImageOperator(to_dense(A), (1, 16, 16))  # not Fourier-diagonal: CG x-update
    sigma, rho = 0.02, 2.0
    ref = l1_wavelet_optimum(y, A, rho * FACTOR * sigma, size=16)
    D = WaveletDenoiser("db4", LEVELS, FACTOR)
    res = pnp_admm(y, dense, D, sigma, rho=rho, cg_iter=5, num_iter=500, tol=1e-14)
    assert res.converged
    assert float((res.x - ref).abs().max()) < 1e-8
    with pytest.raises(ValueError, match="cg_iter"):
        pnp_admm(y, dense, D, sigma)


def test_red_with_linear_symmetric_denoiser_reaches_closed_form():
    size, lam = 16, 1.0
    A = Blur((1, size, size), gaussian_kernel(1.0))
    M = Blur((1, size, size), gaussian_kernel(1.0))  # symmetric kernel: D(x) = Mx, spectrum in (0, 1]
    g = torch.Generator().manual_seed(4)
    y = torch.rand(1, 1, size, size, generator=g, dtype=torch.float64)
    Ad, Md = to_dense(A), to_dense(M)
    H = Ad.T @ Ad + lam * (torch.eye(size * size, dtype=torch.float64) - Md)
    x_star = torch.linalg.solve(H, Ad.T @ y.reshape(-1)).reshape(y.shape)
    res = red(y, A, lambda x, s: M(x), 0.1, lam=lam, num_iter=500, tol=1e-13)
    assert float((res.x - x_star).abs().max()) < 1e-9
    objective = res.history["objective"]
    assert all(b <= a + 1e-12 for a, b in zip(objective, objective[1:], strict=False))


def test_hqs_constant_schedule_converges_to_documented_minimizer():
    # A = I: HQS with constant σ minimizes ½‖x-y‖² + (μ/2)‖x-z‖² + μ g_σ(z) whose z* is the wavelet
    # shrinkage of y at fσ(1 + μ), μ = λ / σ².
    g = torch.Generator().manual_seed(5)
    y = torch.rand(1, 1, 16, 16, generator=g, dtype=torch.float64)
    A = Identity((1, 16, 16))
    sigma, lam = 0.05, 0.0025  # μ = 1
    D = WaveletDenoiser("db4", LEVELS, FACTOR)
    res = hqs(y, A, D, [sigma] * 60, lam=lam)
    expected = WaveletDenoiser("db4", LEVELS, FACTOR * 2.0)(y, sigma)
    assert float((res.x - expected).abs().max()) < 1e-12
    assert res.num_iter == 60 and res.history["sigma"] == [sigma] * 60


def test_hqs_decreasing_schedule_beats_adjoint_on_deblur():
    prob = make_problem("deblur-gauss", size=32, seed=0)
    sigmas = sigma_schedule(0.05, 0.003, 20)
    assert sigmas[0] == pytest.approx(0.05) and sigmas[-1] == pytest.approx(0.003)
    assert all(b < a for a, b in zip(sigmas, sigmas[1:], strict=False))
    res = hqs(prob.y, prob.A, WaveletDenoiser("db4", 3), sigmas, lam=1e-5, x_true=prob.x_true)
    baseline = psnr(adjoint(prob.y, prob.A), prob.x_true)
    assert res.history["psnr"][-1] > baseline + 3.0
    assert res.history["sigma"] == sigmas


@pytest.mark.parametrize("name", ["pnp-fista", "pnp-admm", "hqs", "red"])
def test_methods_improve_on_adjoint(name):
    prob = make_problem("deblur-gauss", size=32, seed=0)
    out = get_method(name)(prob.y, prob.A)
    assert out.shape == prob.x_true.shape
    assert psnr(out, prob.x_true) > psnr(adjoint(prob.y, prob.A), prob.x_true) + 3.0


@pytest.mark.parametrize("name", ["pnp-fista", "pnp-admm", "hqs", "red"])
def test_methods_accept_tv_and_callable_denoisers(name):
    prob = make_problem("deblur-gauss", size=32, seed=0)
    calls = []

    def identity(x, sigma):
        calls.append(sigma)
        return x

    out = get_method(name, denoiser=identity, num_iter=3)(prob.y, prob.A)
    assert out.shape == prob.x_true.shape and len(calls) == 3
    out = get_method(name, denoiser="tv", num_iter=3, tv_iter=5)(prob.y, prob.A)
    assert bool(torch.isfinite(out).all())


def test_method_denoiser_errors():
    prob = make_problem("deblur-gauss", size=32, seed=0)
    with pytest.raises(ValueError, match="denoiser must be one of wavelet, tv, bm3d"):
        get_method("pnp-fista", denoiser="nlm")(prob.y, prob.A)
    with pytest.raises(TypeError, match="denoiser"):
        get_method("red", denoiser=3)(prob.y, prob.A)


def _args():
    A, _, y = deblur_problem(size=16)
    return y, A, WaveletDenoiser("haar", 1)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda y, A, D: pnp_pgd(y, A, D, -0.1), "sigma"),
        (lambda y, A, D: pnp_pgd(y, A, D, math.inf), "sigma"),
        (lambda y, A, D: pnp_pgd(y, A, "wavelet", 0.1), "denoiser"),
        (lambda y, A, D: pnp_pgd(y, A, D, 0.1, step=0.0), "step"),
        (lambda y, A, D: pnp_pgd(y, A, D, 0.1, num_iter=-1), "num_iter"),
        (lambda y, A, D: pnp_pgd(y, A, lambda x, s: x[..., :2], 0.1), "denoiser must return"),
        (lambda y, A, D: pnp_admm(y, A, D, 0.1, rho=0.0), "rho"),
        (lambda y, A, D: pnp_admm(y, A, D, 0.1, cg_iter=0), "cg_iter"),
        (lambda y, A, D: pnp_admm(y.numpy(), A, D, 0.1), "y"),
        (lambda y, A, D: hqs(y, A, D, [0.1, 0.2], lam=1.0), "sigmas must be non-increasing"),
        (lambda y, A, D: hqs(y, A, D, [], lam=1.0), "sigmas"),
        (lambda y, A, D: hqs(y, A, D, [0.1, -0.1], lam=1.0), r"sigmas\[1\]"),
        (lambda y, A, D: hqs(y, A, D, 0.1, lam=1.0), "sigmas"),
        (lambda y, A, D: hqs(y, A, D, [0.1], lam=0.0), "lam"),
        (lambda y, A, D: red(y, A, D, 0.1, lam=-1.0), "lam"),
        (lambda y, A, D: red(y, "A", D, 0.1, lam=1.0), "A"),
        (lambda y, A, D: sigma_schedule(0.1, 0.2, 5), "sigma_min"),
    ],
)
def test_bad_arguments_name_the_argument(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(*_args())


def test_callback_and_progress():
    y, A, D = _args()
    seen = []
    res = pnp_pgd(y, A, D, 0.1, num_iter=4, tol=0.0, callback=lambda k, x: seen.append(k), progress=True)
    assert seen == [1, 2, 3, 4] and res.num_iter == 4 and not res.converged
