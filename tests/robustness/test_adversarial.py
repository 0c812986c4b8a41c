"""The PGD attack: the analytic worst case of linear maps, learned methods vs random perturbations, checks."""

from __future__ import annotations

import pytest
import torch

from inverselab.methods.classical import tikhonov_cg
from inverselab.operators import MRI, GaussianMatrix
from inverselab.presets import evaluate, get_preset, make_problem
from inverselab.robustness import (
    attack,
    differentiable_method,
    linear_gain,
    measurement_support,
    random_perturbation,
)
from inverselab.solvers import direct


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _transpose(y, A):
    return direct.adjoint(y, A)


def test_pgd_reaches_the_largest_singular_value_of_a_linear_map():
    A = GaussianMatrix((40,), 20, generator=3).double()
    sigma = float(torch.linalg.svdvals(A.matrix)[0])
    y = A(torch.randn(1, 40, generator=torch.Generator().manual_seed(1), dtype=torch.float64))
    clean = _transpose(y, A)
    eps = 0.1
    res = attack(_transpose, y, A, clean, eps, steps=40, generator=0)
    radius = eps * float(y.norm())
    assert float(res.radius[0]) == pytest.approx(radius)
    assert float(res.perturbation.norm()) <= radius * (1 + 1e-9)
    # ‖Aᵀe‖ <= σ_max ‖e‖, with equality along the top singular vector: PGD must get there
    assert float(res.error[0]) == pytest.approx(sigma * radius, rel=1e-3)
    assert float(res.clean_error[0]) == 0.0
    assert linear_gain(_transpose, y, A, num_iter=300) == pytest.approx(sigma, rel=1e-4)
    # a random direction of the same norm gets much less (about sqrt(mean σ²) ‖e‖)
    e = random_perturbation(y, radius, generator=5)
    assert float(_transpose(e, A).norm()) < 0.8 * sigma * radius


def test_pgd_reaches_the_worst_case_of_tikhonov_through_its_iterations():
    # x = (AᵀA + λI)⁻¹Aᵀy, differentiated through CG: the worst gain is max σ / (σ² + λ)
    A = GaussianMatrix((30,), 15, generator=4).double()
    lam = 0.5
    s = torch.linalg.svdvals(A.matrix)
    gain = float((s / (s**2 + lam)).max())
    f = differentiable_method("tikhonov-cg", lam=lam, num_iter=60)
    y = A(torch.randn(1, 30, generator=torch.Generator().manual_seed(2), dtype=torch.float64))
    res = attack(f, y, A, f(y, A).detach(), radius=1.0, steps=60, generator=0)
    # within 1% of the bound (singular values near sqrt(λ) have almost the same gain) and never above it
    assert gain * 0.99 <= float(res.error[0]) <= gain * (1 + 1e-6)
    assert float(tikhonov_cg(y, A, lam=lam, num_iter=60).norm()) > 0


def test_pgd_beats_random_perturbations_of_the_same_norm_on_a_learned_method():
    p = get_preset("ct-sparse-60")
    pr = make_problem(p, size=64)
    f = differentiable_method("unet", **p.method_params("unet"))
    support = measurement_support(pr.A)
    res = attack(f, pr.y, pr.A, pr.x_true, 0.03, steps=3, support=support, generator=0)
    pgd = evaluate(res.x, pr.x_true, p)["psnr"]
    random = []
    for seed in range(3):
        e = random_perturbation(pr.y, res.radius, support, generator=10 + seed)
        with torch.no_grad():
            random.append(evaluate(f(pr.y + e, pr.A), pr.x_true, p)["psnr"])
    clean = evaluate(f(pr.y, pr.A), pr.x_true, p)["psnr"]
    # measured at 64 px: clean 24.4 dB, random 24.3-24.6, PGD 20.8
    assert pgd < min(random) - 2.0
    assert max(random) > clean - 1.0
    assert res.history[-1] > res.history[0]


def test_perturbations_stay_on_the_sampled_kspace():
    mask = torch.zeros(16, 16, dtype=torch.bool)
    mask[:, ::3] = True
    A = MRI((16, 16), mask)
    support = measurement_support(A)
    assert torch.equal(support[0, 0], mask)
    x = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    y = A(x)
    res = attack(direct.zero_filled, y, A, x, 0.1, steps=3, support=support, generator=0)
    e = res.perturbation
    assert e.is_complex() and float(e[..., ~mask].abs().max()) == 0.0
    assert float(e.abs().norm()) <= 0.1 * float(y.abs().norm()) * (1 + 1e-5)
    r = random_perturbation(y, 2.0, support, generator=1)
    assert float(r[..., ~mask].abs().max()) == 0.0 and float(r.abs().norm()) == pytest.approx(2.0, rel=1e-5)


def test_arguments_are_checked():
    A = GaussianMatrix((8,), 4, generator=0)
    y = torch.zeros(1, 4)
    x = torch.zeros(1, 8)
    with pytest.raises(ValueError, match="exactly one of eps and radius"):
        attack(_transpose, y, A, x, 0.1, radius=1.0)
    with pytest.raises(ValueError, match="exactly one of eps and radius"):
        attack(_transpose, y, A, x)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        attack(_transpose, y, A, x, -0.1)
    with pytest.raises(TypeError, match="steps must be an integer"):
        attack(_transpose, y, A, x, 0.1, steps=1.5)
    with pytest.raises(ValueError, match="x_true must have trailing shape"):
        attack(_transpose, y, A, torch.zeros(1, 7), 0.1)
    with pytest.raises(TypeError, match="method must be callable"):
        attack("fbp", y, A, x, 0.1)
    with pytest.raises(ValueError, match="support must select at least one entry"):
        attack(_transpose, y, A, x, 0.1, support=torch.zeros(1, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="not supported by differentiable_method"):
        differentiable_method("dip")
    with pytest.raises(ValueError, match="method must be one of"):
        differentiable_method("no-such-method")


def test_sparse_coders_use_their_methods_shipped_weights():
    """Each LISTA-family method is differentiable with the weights its method defaults to (the same output as
    the method, gradients reach y); a kind with none shipped asks for weights."""
    from inverselab.methods import get_method

    p = make_problem("cs-sparse-250x500", seed=3)
    for name in ("lista-cp", "alista", "lista-cpss", "lamp"):
        f = differentiable_method(name)
        torch.testing.assert_close(f(p.y, p.A), get_method(name)(p.y, p.A))
        y = p.y.clone().requires_grad_(True)
        f(y, p.A).square().sum().backward()
        assert y.grad is not None and float(y.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match="weights is required for lista"):
        differentiable_method("lista")
