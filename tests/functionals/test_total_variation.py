"""Finite differences, the TV functional and its FGP prox (against a duality-gap-certified reference)."""

import numpy as np
import pytest
import torch

from inverselab.functionals import L1, L21, FiniteDifference, TotalVariation, tv_prox

from .tv_reference import difference_matrix, tv_reference

GEN = torch.Generator().manual_seed(0)


def test_tv_values_against_numpy():
    x = torch.randn(2, 3, 5, 6, dtype=torch.float64, generator=GEN)
    xn = x.numpy()
    gh = np.roll(xn, -1, axis=2) - xn
    gw = np.roll(xn, -1, axis=3) - xn
    iso = np.sqrt(gh**2 + gw**2).sum(axis=(1, 2, 3))
    aniso = (np.abs(gh) + np.abs(gw)).sum(axis=(1, 2, 3))
    assert np.allclose(TotalVariation(0.5).value(x).numpy(), 0.5 * iso, rtol=1e-13)
    assert np.allclose(TotalVariation(0.5, isotropic=False).value(x).numpy(), 0.5 * aniso, rtol=1e-13)
    tv = TotalVariation(0.5, (3, 5, 6))
    assert isinstance(tv.operator, FiniteDifference) and tv.operator.out_shape == (2, 3, 5, 6)
    assert isinstance(tv.norm_functional, L21) and isinstance(
        TotalVariation(1, isotropic=False).norm_functional, L1
    )
    assert torch.allclose(tv.norm_functional.value(tv.operator(x)), tv.value(x))


def test_finite_difference_transfer_function_and_norm():
    D = FiniteDifference((1, 6, 5))
    x = torch.randn(1, 1, 6, 5, dtype=torch.float64, generator=GEN)
    T = D.transfer_function(torch.float64)
    via_fft = torch.fft.ifft2(T * torch.fft.fft2(x)).real  # (d, B, C, H, W) by broadcasting
    assert torch.abs(via_fft.transpose(0, 1) - D(x)).max() < 1e-12
    dense = difference_matrix((1, 6, 5))
    assert D.norm() == pytest.approx(np.linalg.norm(dense, 2), rel=1e-12)


@pytest.mark.parametrize("isotropic", [True, False], ids=["isotropic", "anisotropic"])
@pytest.mark.parametrize("shape", [(1, 16), (1, 6, 6)], ids=["1d", "2d"])
def test_tv_prox_converges_to_exact_prox(shape, isotropic):
    x = torch.randn(1, *shape, dtype=torch.float64, generator=GEN)
    weight = 0.4
    n = x.numel()
    exact, gap = tv_reference(np.eye(n), x.numpy().ravel(), weight, shape, isotropic)
    assert gap < 1e-8  # certifies |exact - prox| <= sqrt(2 gap) ~ 1e-4; the agreement below is much closer
    errors = []
    for num_iter in (5, 50, 500, 3000):
        z, _ = tv_prox(x, weight, num_iter=num_iter, isotropic=isotropic)
        errors.append(float(np.abs(z.numpy().ravel() - exact).max()))
    assert errors[0] > 1e-3, errors  # few iterations are visibly inexact...
    assert all(b <= a for a, b in zip(errors, errors[1:], strict=False)), (
        errors
    )  # ...and more iterations help
    assert errors[-1] < 1e-7, errors
    tv = TotalVariation(weight / 2, isotropic=isotropic, num_iter=3000)
    assert torch.equal(tv.prox(x, 2.0), z)  # λ · step = weight


def test_tv_prox_warm_start_continues():
    x = torch.randn(1, 1, 8, 8, dtype=torch.float64, generator=GEN)
    z_cold, _ = tv_prox(x, 0.3, num_iter=400)
    _, p = tv_prox(x, 0.3, num_iter=200)
    z_warm, _ = tv_prox(x, 0.3, num_iter=200, dual_init=p)
    z_ref, _ = tv_prox(x, 0.3, num_iter=2000)
    z_short, _ = tv_prox(x, 0.3, num_iter=200)
    assert (z_warm - z_ref).abs().max() < (z_short - z_ref).abs().max()
    assert (z_cold - z_ref).abs().max() < (z_short - z_ref).abs().max()


def test_tv_prox_needs_explicit_iterations():
    tv = TotalVariation(0.1)
    with pytest.raises(ValueError, match="needs num_iter"):
        tv.prox(torch.zeros(1, 1, 4, 4), 1.0)
    assert tv.prox(torch.zeros(1, 1, 4, 4), 1.0, num_iter=3).abs().max() == 0
    with pytest.raises(ValueError, match="shape"):
        _ = tv.operator


def test_tv_prox_complex_matches_real_on_real_data():
    x = torch.randn(1, 1, 6, 6, dtype=torch.float64, generator=GEN)
    zr, _ = tv_prox(x, 0.2, num_iter=100)
    zc, _ = tv_prox(x.to(torch.complex128), 0.2, num_iter=100)
    assert torch.abs(zc - zr).max() < 1e-12
