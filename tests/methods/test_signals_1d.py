"""1-D signals with the library's solvers: spike deconvolution (LASSO optimum by FISTA and ADMM, exact
support recovery), compressed sensing of spikes (AMP, exact) and of piecewise-constant signals (TV, exact),
through the presets ``spikes-1d`` and ``cs-1d``."""

import pytest
import torch

from inverselab.functionals import L1
from inverselab.methods import get_method
from inverselab.presets import evaluate, get_preset, make_problem
from inverselab.solvers import admm, fista, tv_pdhg


def noiseless(name, seed, sample=None):
    p = make_problem(name, seed=seed, noise_sigma=0.0, sample=sample)
    return p, p.y.double(), p.A.double(), p.x_true.double()


def test_spike_deconvolution_lasso_optimum_and_exact_support():
    p, y, A, x = noiseless("spikes-1d", 1)
    lam = 1e-3
    res = fista(y, A, L1(lam), num_iter=20000, tol=1e-12)
    z = res.x
    # KKT conditions of the LASSO: A^T(y - Az) = lam sign(z) on the support, |.| <= lam elsewhere
    g = A.adjoint(y - A(z))
    support = z != 0
    assert float((g[support] - lam * torch.sign(z[support])).abs().max()) < 1e-6
    assert float(g[~support].abs().max()) <= lam * (1 + 1e-6)
    # ADMM reaches the same optimum
    za = admm(y, A, L1(lam), rho=0.1, cg_iter=10, num_iter=500, tol=1e-12).x
    assert float((za - z).norm() / z.norm()) < 1e-3  # measured 5e-5
    # noiseless, small lam: the spikes are recovered (support exactly, amplitudes to the LASSO bias)
    assert torch.equal(z.abs() > 1e-6, x != 0)
    assert evaluate(z, x, p.preset)["nmse_db"] < -60  # measured -72 dB


def test_amp_recovers_sparse_spikes_exactly():
    p, y, A, x = noiseless("cs-1d", 0, sample="spikes")
    x_hat = get_method("amp", alpha=1.5, num_iter=300)(y, A)
    assert evaluate(x_hat, x, p.preset)["nmse_db"] < -60  # measured -112 dB


def test_tv_recovers_piecewise_constant_exactly():
    p, y, A, x = noiseless("cs-1d", 0)
    assert y.shape == (1, 96) and x.shape == (1, 1, 256)
    res = tv_pdhg(y, A, 1e-4, num_iter=5000, tol=1e-12)
    assert evaluate(res.x, x, p.preset)["nmse_db"] < -40


@pytest.mark.parametrize("name", ["spikes-1d", "cs-1d"])
def test_presets_default_method_beats_baseline(name):
    preset = get_preset(name)
    p = make_problem(name, seed=3)
    scores = {}
    for method in (preset.default_method, preset.baseline):
        x_hat = get_method(method, **preset.method_params(method))(p.y, p.A)
        assert x_hat.shape == p.x_true.shape
        scores[method] = evaluate(x_hat, p.x_true, preset)["nmse_db"]
    assert scores[preset.default_method] < -30 < scores[preset.baseline], scores


def test_admm_l1_on_convolution():
    p = make_problem("spikes-1d", seed=4)
    params = get_preset("spikes-1d").method_params("admm-l1")
    x_hat = get_method("admm-l1", **params)(p.y, p.A)
    assert evaluate(x_hat, p.x_true, p.preset)["nmse_db"] < -30
    with pytest.raises(ValueError, match="rho must be > 0"):
        get_method("admm-l1", rho=0.0)(p.y, p.A)
