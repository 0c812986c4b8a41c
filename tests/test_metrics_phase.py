"""The global-phase-invariant error of phase retrieval against a brute-force minimum over the phase."""

import math

import pytest
import torch

from inverselab.metrics import align_phase, nmse, phase_invariant_error


def brute_force(x, x_true, steps=20000):
    best = math.inf
    for k in range(steps):
        phi = 2 * math.pi * k / steps
        rot = x * complex(math.cos(phi), math.sin(phi))
        best = min(best, float((x_true - rot).norm() / x_true.norm()))
    return best


def test_matches_brute_force_minimum_over_phase():
    g = torch.Generator().manual_seed(0)
    x_true = torch.complex(
        torch.randn(1, 20, dtype=torch.float64, generator=g), torch.randn(1, 20, generator=g).double()
    )
    x = x_true * complex(math.cos(2.0), math.sin(2.0)) + 0.3 * torch.randn(
        1, 20, dtype=torch.complex128, generator=g
    )
    assert float(phase_invariant_error(x, x_true)) == pytest.approx(brute_force(x[0], x_true[0]), abs=1e-6)


def test_closed_form_and_invariance():
    g = torch.Generator().manual_seed(1)
    x_true = torch.randn(3, 2, 5, dtype=torch.complex128, generator=g)
    x = torch.randn(3, 2, 5, dtype=torch.complex128, generator=g)
    err = phase_invariant_error(x, x_true)
    flat, ref = x.reshape(3, -1), x_true.reshape(3, -1)
    closed = (flat.norm(dim=1) ** 2 + ref.norm(dim=1) ** 2 - 2 * (flat.conj() * ref).sum(1).abs()).sqrt()
    assert torch.allclose(err, closed / ref.norm(dim=1))
    for phi in (0.3, 2.0, -1.2):
        assert torch.allclose(phase_invariant_error(x * complex(math.cos(phi), math.sin(phi)), x_true), err)
    assert float(phase_invariant_error(x_true * 1j, x_true).max()) < 1e-12
    assert err.shape == (3,) and err.dtype == torch.float64


def test_real_signals_use_the_sign():
    x_true = torch.tensor([[1.0, -2.0, 3.0]], dtype=torch.float64)
    assert float(phase_invariant_error(-x_true, x_true)) == 0.0
    assert torch.equal(align_phase(-x_true, x_true), x_true)
    x = -x_true + 0.1
    assert float(phase_invariant_error(x, x_true)) == pytest.approx(math.sqrt(float(nmse(-x, x_true))))
    assert float(phase_invariant_error(x, x_true)) < float(nmse(x, x_true).sqrt())


def test_orthogonal_input_is_left_unchanged():
    x_true = torch.tensor([[1.0, 0.0]])
    x = torch.tensor([[0.0, 1.0]])
    assert torch.equal(align_phase(x, x_true), x)
    assert float(phase_invariant_error(x, x_true)) == pytest.approx(math.sqrt(2))


def test_shape_mismatch_names_the_arguments():
    with pytest.raises(ValueError, match="x and x_true must have the same shape"):
        phase_invariant_error(torch.ones(1, 3), torch.ones(1, 4))
