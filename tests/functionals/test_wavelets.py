"""The torch periodized DWT against PyWavelets, and its orthonormality."""

import warnings

import numpy as np
import pytest
import pywt
import torch

from inverselab.functionals import L1Wavelet, Wavelet, dwt2, idwt2
from inverselab.operators import to_dense

WAVELETS = ["haar", "db1", "db2", "db3", "db4", "db5", "db6", "db7", "db8", "sym4", "sym8", "coif2"]


def pywt_tiled(x: np.ndarray, wavelet: str, levels: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # levels beyond pywt's boundary-free maximum are fine for periodization
        return pywt.coeffs_to_array(pywt.wavedec2(x, wavelet, mode="periodization", level=levels))[0]


@pytest.mark.parametrize("wavelet", WAVELETS)
@pytest.mark.parametrize("size,levels", [((32, 32), 3), ((16, 48), 2), ((8, 8), 3)])
def test_matches_pywavelets_periodization(wavelet, size, levels):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 1, *size))  # batch of 3 images
    c = dwt2(torch.from_numpy(x), wavelet, levels).numpy()
    for b in range(3):
        ref = pywt_tiled(x[b, 0], wavelet, levels)
        assert np.abs(c[b, 0] - ref).max() < 1e-10
    # and the inverse matches pywt.waverec2 of the same coefficients
    xr = idwt2(torch.from_numpy(c), wavelet, levels).numpy()
    # sym/coif filters are stored by PyWavelets to ~1e-12, so perfect reconstruction holds to that accuracy
    assert np.abs(xr - x).max() < 1e-10


@pytest.mark.parametrize("wavelet", ["haar", "db4", "db8", "sym4"])
def test_orthonormality_dense(wavelet):
    W = Wavelet((1, 16, 16), wavelet, levels=3)
    M = to_dense(W)
    eye = torch.eye(M.shape[0], dtype=M.dtype)
    assert torch.abs(M.T @ M - eye).max() < 1e-10  # WᵀW = I
    assert torch.abs(M @ M.T - eye).max() < 1e-10  # WWᵀ = I
    x = torch.randn(4, 1, 16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    norms = torch.linalg.vector_norm(W(x).reshape(4, -1), dim=1)
    assert torch.allclose(norms, torch.linalg.vector_norm(x.reshape(4, -1), dim=1), rtol=1e-12)
    assert torch.abs(W.adjoint(W(x)) - x).max() < 1e-10


def test_float32_and_complex_and_leading_dims():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64, generator=g)
    ref = dwt2(x, "db4", 3)
    c32 = dwt2(x.float(), "db4", 3)
    assert c32.dtype == torch.float32 and torch.abs(c32.double() - ref).max() < 1e-5
    z = torch.complex(x, 2 * x.flip(-1))
    cz = dwt2(z, "db4", 3)
    assert (
        torch.abs(cz.real - ref).max() < 1e-12
        and torch.abs(cz.imag - dwt2(2 * x.flip(-1), "db4", 3)).max() < 1e-12
    )
    assert torch.abs(idwt2(cz, "db4", 3) - z).max() < 1e-12


def test_differentiable():
    x = torch.randn(1, 1, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: dwt2(t, "db3", 2), (x,))


def test_bad_input_messages():
    with pytest.raises(ValueError, match=r"divisible by 2\*\*levels = 8.*\(12, 16\)"):
        Wavelet((1, 12, 16), "db4", levels=3)
    with pytest.raises(ValueError, match="divisible"):
        dwt2(torch.zeros(1, 1, 10, 8), "db2", levels=2)
    with pytest.raises(ValueError, match="orthogonal"):
        Wavelet((1, 8, 8), "bior2.2", levels=1)
    with pytest.raises(ValueError, match="known to PyWavelets.*'db99x'"):
        Wavelet((1, 8, 8), "db99x", levels=1)


def test_l1_wavelet_value_and_exact_prox():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 1, 16, 16, dtype=torch.float64, generator=g)
    f = L1Wavelet(0.3, (1, 16, 16), "db2", levels=2)
    c = pywt_tiled(x[0, 0].numpy(), "db2", 2)
    detail = np.ones_like(c, dtype=bool)
    detail[:4, :4] = False  # coarsest approximation (16 / 2**2) is not penalized by default
    assert float(f.value(x)[0]) == pytest.approx(0.3 * np.abs(c[detail]).sum(), rel=1e-12)
    # the prox is exact: z minimizes f(z) + |z - x|^2 / (2 step), coefficient-wise in the orthonormal basis
    step = 0.7
    z = f.prox(x, step)
    cz = pywt_tiled(z[0, 0].numpy(), "db2", 2)
    t = 0.3 * step
    expected = np.where(detail, np.sign(c) * np.maximum(np.abs(c) - t, 0), c)
    assert np.abs(cz - expected).max() < 1e-12
    # and no random perturbation does better
    obj = lambda v: f.value(v) + ((v - x) ** 2).sum(dim=(1, 2, 3)) / (2 * step)  # noqa: E731
    for _ in range(5):
        assert bool((obj(z + 1e-3 * torch.randn(z.shape, dtype=z.dtype, generator=g)) > obj(z)).all())
    full = L1Wavelet(0.3, (1, 16, 16), "db2", levels=2, threshold_approximation=True)
    assert float(full.value(x)[0]) == pytest.approx(0.3 * np.abs(c).sum(), rel=1e-12)
