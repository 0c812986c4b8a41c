import math

import numpy as np
import pytest
import torch
from scipy import integrate
from scipy.stats import norm

from inverselab.data.sparse import bernoulli_gaussian, exact_sparse
from inverselab.operators.base import Identity
from inverselab.operators.compressed_sensing import GaussianMatrix
from inverselab.solvers.amp import (
    amp,
    phase_transition_rho,
    phase_transition_threshold,
    soft_threshold,
    state_evolution,
)


# --- soft threshold -----------------------------------------------------------------------------------------
def test_soft_threshold_values_and_prox_property():
    v = torch.tensor([[-3.0, -1.0, -0.2, 0.0, 0.4, 2.5]], dtype=torch.float64)
    assert soft_threshold(v, 0.5).tolist() == [[-2.5, -0.5, 0.0, 0.0, 0.0, 2.0]]
    # Per-item thresholds broadcast over the batch.
    out = soft_threshold(torch.ones(2, 3), torch.tensor([[0.25], [2.0]]))
    assert out.tolist() == [[0.75] * 3, [0.0] * 3]
    # It is the prox of lam*|.|: no point of a fine grid has a smaller objective.
    lam, grid = 0.7, torch.linspace(-4, 4, 80001, dtype=torch.float64)
    for vi in (-2.3, -0.5, 0.1, 1.9):
        obj = 0.5 * (grid - vi) ** 2 + lam * grid.abs()
        best = grid[torch.argmin(obj)]
        assert float(soft_threshold(torch.tensor(vi, dtype=torch.float64), lam)) == pytest.approx(
            float(best), abs=2e-4
        )


def test_soft_threshold_complex_shrinks_modulus_keeps_phase():
    x = torch.tensor([3 + 4j, 0.3 + 0.4j, 0j], dtype=torch.complex128)
    out = soft_threshold(x, 1.0)
    assert torch.allclose(out, torch.tensor([2.4 + 3.2j, 0j, 0j], dtype=torch.complex128))


def test_soft_threshold_rejects_negative_threshold():
    with pytest.raises(ValueError, match="^threshold "):
        soft_threshold(torch.ones(3), -0.1)
    with pytest.raises(ValueError, match="^threshold "):
        soft_threshold(torch.ones(2, 3), torch.tensor([[0.1], [-0.1]]))


# --- phase transition ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "delta, signed, expected",
    [
        (0.1, True, 0.1894),
        (0.2, True, 0.2433),
        (0.5, True, 0.3857),
        (0.9, True, 0.6782),
        (0.1, False, 0.2410),
        (0.2, False, 0.3259),
        (0.5, False, 0.5582),
        (0.9, False, 0.9027),
    ],
)
def test_phase_transition_published_values(delta, signed, expected):
    assert phase_transition_rho(delta, signed=signed) == pytest.approx(expected, abs=1e-3)


def test_phase_transition_threshold_and_limits():
    assert phase_transition_threshold(0.5) == pytest.approx(0.877, abs=1e-3)
    assert phase_transition_rho(1.0) == 1.0
    # The curve increases with delta and the nonnegative one lies above the signed one.
    deltas = np.linspace(0.05, 0.95, 10)
    signed = [phase_transition_rho(float(d)) for d in deltas]
    nonneg = [phase_transition_rho(float(d), signed=False) for d in deltas]
    assert np.all(np.diff(signed) > 0) and np.all(np.array(nonneg) > np.array(signed))


def test_phase_transition_is_where_state_evolution_stops_converging():
    # With alpha = z*, noiseless state evolution drives the error to 0 just below rho_SE and stalls above it.
    delta = 0.5
    rho, z = phase_transition_rho(delta), phase_transition_threshold(delta)
    below = state_evolution(delta, 0.97 * rho * delta, alpha=z, num_iter=2000)
    above = state_evolution(delta, 1.03 * rho * delta, alpha=z, num_iter=2000)
    assert below.nmse_db[-1] < -150
    assert above.nmse_db[-1] > -40
    assert above.nmse_db[-1] == pytest.approx(above.nmse_db[-2], abs=1e-6)  # a nonzero fixed point


# --- state evolution ----------------------------------------------------------------------------------------
def _soft_threshold_risk(mu, lam):
    """E[(eta(mu + Z; lam) - mu)^2], Z ~ N(0, 1) (Johnstone, Gaussian Estimation, the soft-threshold risk)."""
    return (
        1
        + lam**2
        + (mu**2 - lam**2 - 1) * (norm.cdf(lam - mu) - norm.cdf(-lam - mu))
        - (lam - mu) * norm.pdf(lam + mu)
        - (lam + mu) * norm.pdf(lam - mu)
    )


def test_soft_threshold_risk_formula_matches_1d_quadrature():
    for mu, lam in [(0.0, 1.0), (0.4, 1.3), (-2.0, 0.7)]:
        f = lambda z, mu=mu, lam=lam: (np.sign(mu + z) * max(abs(mu + z) - lam, 0) - mu) ** 2 * norm.pdf(z)  # noqa: E731
        cuts = (-np.inf, -lam - mu, lam - mu, np.inf)
        value = sum(
            integrate.quad(f, a, b, epsabs=1e-13)[0] for a, b in zip(cuts[:-1], cuts[1:], strict=True)
        )
        assert _soft_threshold_risk(mu, lam) == pytest.approx(value, rel=1e-9)


@pytest.mark.parametrize("tau, alpha", [(1.0, 1.0), (0.3, 1.5), (0.03, 0.8), (1e-4, 1.0)])
def test_state_evolution_step_matches_quadrature(tau, alpha):
    # Independent of the closed form used in the code: the scalar risk integrated over X ~ N(0, 1) on a fine
    # grid (the integrand has a feature of width ~tau at 0, resolved by the grid step).
    eps = 0.1
    x = np.linspace(-12, 12, 2_400_001)
    on_support = np.trapezoid(tau**2 * _soft_threshold_risk(x / tau, alpha) * norm.pdf(x), x)
    expected = (1 - eps) * tau**2 * _soft_threshold_risk(0.0, alpha) + eps * on_support
    se = state_evolution(0.5, eps, alpha=alpha, num_iter=1, tau0=tau)
    assert se.tau[0] == pytest.approx(tau)
    assert se.mse[0] == pytest.approx(expected, rel=1e-7)


def test_state_evolution_recursion_and_published_values():
    delta, eps, sigma = 0.5, 0.1, 0.05
    se = state_evolution(delta, eps, sigma=sigma, num_iter=5)
    assert se.tau[0] == pytest.approx(math.sqrt(sigma**2 + eps / delta))
    for t in range(4):
        assert se.tau[t + 1] ** 2 == pytest.approx(sigma**2 + se.mse[t] / delta)
    assert se.nmse_db[2] == pytest.approx(10 * math.log10(se.mse[2] / eps))
    noiseless = state_evolution(delta, eps, num_iter=10)
    assert noiseless.nmse_db[4] == pytest.approx(-12.4, abs=0.05)  # REFERENCES.md, t = 5


# --- AMP ----------------------------------------------------------------------------------------------------
def test_amp_tracks_state_evolution():
    # N = 4000, delta = 0.5, eps = 0.1, alpha = 1; 2 matrices x 16 signals, errors pooled.
    n, m, eps, num_iter = 4000, 2000, 0.1, 10
    gen = torch.Generator().manual_seed(0)
    err, energy = np.zeros(num_iter), 0.0
    for _ in range(2):
        A = GaussianMatrix(n, m, generator=gen).float()
        x = bernoulli_gaussian(16, n, eps, gen)
        res = amp(A(x), A, num_iter=num_iter, tol=0, x_true=x)
        e = float((x.double() ** 2).sum())
        err += 10 ** (np.array(res.history["nmse_db"]) / 10) * e
        energy += e
    empirical = 10 * np.log10(err / energy)
    predicted = np.array(state_evolution(m / n, eps, num_iter=num_iter).nmse_db)
    assert predicted[-1] < -21  # the comparison spans 20 dB of progress
    assert np.max(np.abs(empirical - predicted)) < 1.0, (empirical, predicted)


def test_amp_noisy_reaches_state_evolution_fixed_point():
    n, m, eps, sigma = 4000, 2000, 0.1, 0.01
    gen = torch.Generator().manual_seed(1)
    A = GaussianMatrix(n, m, generator=gen).float()
    x = bernoulli_gaussian(16, n, eps, gen)
    y = A(x) + sigma * torch.randn(16, m, generator=gen)
    res = amp(y, A, num_iter=40, tol=0, x_true=x)
    se = state_evolution(m / n, eps, sigma=sigma, num_iter=40)
    assert se.nmse_db[-1] == pytest.approx(-30.05, abs=0.05)
    assert res.history["nmse_db"][-1] == pytest.approx(se.nmse_db[-1], abs=0.5)
    # The estimated tau tracks the state-evolution tau (its fixed point, above sigma).
    assert res.history["tau"][-1] == pytest.approx(se.tau[-1], rel=0.05)


def test_amp_recovers_below_transition_and_fails_above():
    n, m = 1000, 500  # delta = 0.5, rho_SE = 0.386
    A = GaussianMatrix(n, m, generator=2).float()
    below = exact_sparse(8, n, int(0.2 * m), generator=3)
    res = amp(A(below), A, num_iter=30, tol=0, x_true=below)
    assert res.history["nmse_db"][-1] < -40  # pooled over the 8 signals
    per_item = 10 * torch.log10(((res.x - below) ** 2).sum(1) / (below**2).sum(1))
    assert float(per_item.max()) < -30
    above = exact_sparse(8, n, int(0.6 * m), generator=4)
    res = amp(A(above), A, num_iter=100, tol=0)
    per_item = 10 * torch.log10(((res.x - above) ** 2).sum(1) / (above**2).sum(1))
    assert float(per_item.min()) > -10


def test_amp_median_tau_estimate_also_recovers():
    A = GaussianMatrix(1000, 500, generator=5, normalize_columns=True)
    x = exact_sparse(4, 1000, 100, generator=6, dtype=torch.float64)
    res = amp(A(x), A, num_iter=60, tol=0, tau_estimate="median", x_true=x)
    assert res.history["nmse_db"][-1] < -40


def test_amp_batch_items_are_independent_and_dtype_kept():
    A = GaussianMatrix(400, 200, generator=7)
    x = bernoulli_gaussian(3, 400, 0.1, generator=8, dtype=torch.float64)
    y = A(x)
    full = amp(y, A, num_iter=15, tol=0).x
    alone = amp(y[1:2], A, num_iter=15, tol=0).x
    assert full.dtype == torch.float64
    assert torch.allclose(full[1:2], alone, atol=1e-12)
    assert amp(y.float(), A, num_iter=2).x.dtype == torch.float32


def test_amp_stopping_rule_callback_and_history():
    A = GaussianMatrix(400, 200, generator=9)
    x = bernoulli_gaussian(2, 400, 0.05, generator=10, dtype=torch.float64)
    seen, iterates = [], []

    def callback(t, xt):
        seen.append(t)
        iterates.append(xt.clone())

    res = amp(A(x), A, num_iter=500, tol=1e-4, x_true=x, callback=callback)
    assert res.converged and 5 < res.num_iter < 500
    assert seen == list(range(1, res.num_iter + 1)) and torch.equal(iterates[-1], res.x)
    assert len(res.history["tau"]) == len(res.history["nmse_db"]) == res.num_iter
    assert res.history["nmse_db"][-1] < -60
    # The last step changed x by at most tol relative to the previous iterate (norms over the batch); the
    # step before did not.
    rel = lambda a, b: float((a - b).norm() / b.norm())  # noqa: E731
    assert rel(iterates[-1], iterates[-2]) <= 1e-4 < rel(iterates[-2], iterates[-3])
    assert res.history["relative_change"][-1] == pytest.approx(rel(iterates[-1], iterates[-2]))
    capped = amp(A(x), A, num_iter=3, tol=1e-4)
    assert not capped.converged and capped.num_iter == 3
    assert set(capped.history) == {"relative_change", "tau"}


def test_amp_bad_arguments():
    A = GaussianMatrix(40, 20, generator=0)
    y = torch.zeros(2, 20)
    with pytest.raises(ValueError, match="^alpha "):
        amp(y, A, alpha=0)
    with pytest.raises(ValueError, match="^num_iter "):
        amp(y, A, num_iter=0)
    with pytest.raises(ValueError, match="^tol "):
        amp(y, A, tol=-1)
    with pytest.raises(ValueError, match="^tau_estimate "):
        amp(y, A, tau_estimate="mad")
    with pytest.raises(ValueError, match="^y "):
        amp(torch.zeros(2, 21), A)
    with pytest.raises(ValueError, match="^y "):
        amp(torch.full((2, 20), float("nan")), A)
    with pytest.raises(ValueError, match="^x_true "):
        amp(y, A, x_true=torch.zeros(3, 40))
    with pytest.raises(TypeError, match="^A "):
        amp(y, torch.zeros(20, 40))
    with pytest.raises(ValueError, match="^A must be a real"):
        amp(torch.zeros(2, 3, dtype=torch.complex64), Identity((3,), complex=True))


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: state_evolution(0.0, 0.1), "delta"),
        (lambda: state_evolution(1.5, 0.1), "delta"),
        (lambda: state_evolution(0.5, 0.0), "sparsity"),
        (lambda: state_evolution(0.5, 1.0), "sparsity"),
        (lambda: state_evolution(0.5, 0.1, alpha=-1), "alpha"),
        (lambda: state_evolution(0.5, 0.1, sigma=-0.1), "sigma"),
        (lambda: state_evolution(0.5, 0.1, num_iter=0), "num_iter"),
        (lambda: state_evolution(0.5, 0.1, tau0=0), "tau0"),
        (lambda: phase_transition_rho(0.0), "delta"),
        (lambda: phase_transition_rho(1.2), "delta"),
        (lambda: phase_transition_threshold(-0.5), "delta"),
    ],
)
def test_state_evolution_and_phase_transition_bad_arguments(call, name):
    with pytest.raises(ValueError, match=rf"^{name} "):
        call()
