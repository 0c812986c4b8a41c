"""Phase retrieval operators: normalization, coded diffraction against NumPy, pseudo-inverses, the
intensity model and its Wirtinger gradient."""

import math

import numpy as np
import pytest
import torch

from inverselab.operators import (
    CodedDiffraction,
    GaussianSensingMatrix,
    Identity,
    MagnitudeSquared,
    octanary_masks,
)


def gen(seed):
    return torch.Generator().manual_seed(seed)


def test_gaussian_rows_normalization():
    A = GaussianSensingMatrix(50, 4000, generator=0)
    M = A.dense(torch.complex128)
    assert abs(float(M.real.var()) - 0.5) < 0.02 and abs(float(M.imag.var()) - 0.5) < 0.02
    assert A.frobenius_norm2() == pytest.approx(float(M.abs().square().sum()))
    R = GaussianSensingMatrix(50, 4000, complex=False, generator=0)
    assert not R.in_complex and R.dense().dtype == torch.float64
    assert abs(float(R.dense().var()) - 1.0) < 0.02


def test_cdp_matches_numpy_fft():
    A = CodedDiffraction((1, 8, 6), 3, generator=1)
    x = torch.randn(2, 1, 8, 6, dtype=torch.complex128, generator=gen(2))
    d = torch.view_as_complex(A.masks).numpy()
    ref = np.stack([np.fft.fft2(x.numpy()[:, 0] * dl) for dl in d], axis=1)[:, :, None]
    assert np.allclose(A(x).numpy(), ref)


def test_cdp_normal_pseudo_inverse_and_norm():
    A = CodedDiffraction((2, 8, 8), 4, generator=3)
    x = torch.randn(2, 2, 8, 8, dtype=torch.complex128, generator=gen(4))
    assert torch.allclose(A.normal(x), A.adjoint(A(x)))
    assert torch.allclose(A.pseudo_inverse(A(x)), x)
    F = np.kron(np.fft.fft(np.eye(8)), np.fft.fft(np.eye(8)))
    masks = torch.view_as_complex(A.masks).numpy()
    dense = np.concatenate([np.kron(np.eye(2), F @ np.diag(dl.reshape(-1))) for dl in masks])
    assert A.norm() == pytest.approx(float(np.linalg.norm(dense, 2)), rel=1e-10)
    assert A.frobenius_norm2() == pytest.approx(float(np.sum(np.abs(dense) ** 2)), rel=1e-10)


def test_gaussian_pseudo_inverse():
    A = GaussianSensingMatrix((1, 4, 4), 64, generator=5)
    x = torch.randn(3, 1, 4, 4, dtype=torch.complex128, generator=gen(6))
    assert torch.allclose(A.pseudo_inverse(A(x)), x)


def test_octanary_statistics():
    d = octanary_masks(8, (64, 64), generator=7)
    assert abs(float(d.abs().square().mean()) - 1) < 0.02
    assert abs(complex(d.mean())) < 0.02
    values = set(np.round(np.abs(d.numpy()).ravel(), 6))
    assert values == {round(math.sqrt(2) / 2, 6), round(math.sqrt(3), 6)}
    assert abs(float((d.abs() > 1).double().mean()) - 0.2) < 0.01


def test_phase_masks_have_unit_modulus():
    A = CodedDiffraction(16, 2, mask="phase", generator=8)
    assert torch.allclose(torch.view_as_complex(A.masks).abs(), torch.ones(2, 16, dtype=torch.float64))


def test_magnitude_squared_is_phase_blind_and_real():
    M = MagnitudeSquared(CodedDiffraction((1, 4, 4), 2, generator=9))
    x = torch.randn(1, 1, 4, 4, dtype=torch.complex128, generator=gen(10))
    y = M(x)
    assert y.dtype == torch.float64 and bool((y >= 0).all())
    assert torch.allclose(M(x * complex(math.cos(1.0), math.sin(1.0))), y)
    assert M.in_shape == (1, 4, 4) and M.out_shape == (2, 1, 4, 4) and M.linear.in_complex


@pytest.mark.parametrize("complex_rows", [True, False])
def test_wirtinger_gradient_matches_directional_derivative(complex_rows):
    M = MagnitudeSquared(GaussianSensingMatrix(6, 40, complex=complex_rows, generator=11))
    dtype = torch.complex128 if complex_rows else torch.float64
    x = torch.randn(1, 6, dtype=dtype, generator=gen(12))
    y = M(x) + 0.1
    z = torch.randn(1, 6, dtype=dtype, generator=gen(13))
    v = torch.randn(1, 6, dtype=dtype, generator=gen(14))
    g, f = M.gradient(z, y)
    eps = 1e-6
    numeric = (M.gradient(z + eps * v, y)[1] - M.gradient(z - eps * v, y)[1]) / (2 * eps)
    # f(z + t v) has derivative 2 Re<grad, v> (the Wirtinger gradient; half the real gradient)
    assert float(numeric) == pytest.approx(2 * float((g.conj() * v).real.sum()), rel=1e-6)
    m = 40
    ref = ((M(z) - y) ** 2).sum() / (2 * m)
    assert float(f) == pytest.approx(float(ref))


def test_argument_errors():
    with pytest.raises(TypeError, match="A must be a LinearOperator"):
        MagnitudeSquared(lambda x: x)
    with pytest.raises(ValueError, match="mask must be one of"):
        CodedDiffraction(8, 2, mask="binary")
    with pytest.raises(ValueError, match="num_masks must be >= 1"):
        CodedDiffraction(8, 0)
    with pytest.raises(ValueError, match="in_shape must be"):
        CodedDiffraction((1, 2, 3, 4), 2)
    with pytest.raises(ValueError, match="m must be >= 1"):
        GaussianSensingMatrix(8, 0)
    assert isinstance(MagnitudeSquared(Identity((3,))), MagnitudeSquared)
