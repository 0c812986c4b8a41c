"""Classical denoisers: wavelet shrinkage against PyWavelets, TV against the ROF solution, BM3D optional."""

import importlib.util

import numpy as np
import pytest
import torch

from inverselab.denoisers import BM3DDenoiser, TVDenoiser, WaveletDenoiser
from inverselab.functionals import L1Wavelet


def _pywt_shrink(x: np.ndarray, wavelet: str, levels: int, threshold: float) -> np.ndarray:
    import pywt

    coeffs = pywt.wavedec2(x, wavelet, mode="periodization", level=levels)
    shrunk = [coeffs[0]] + [tuple(pywt.threshold(d, threshold, "soft") for d in c) for c in coeffs[1:]]
    return pywt.waverec2(shrunk, wavelet, mode="periodization")


@pytest.mark.parametrize(("wavelet", "levels", "factor"), [("db4", 2, 1.0), ("haar", 3, 2.5)])
def test_wavelet_denoiser_is_soft_thresholding_of_details(wavelet, levels, factor):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, 32, 32, generator=g, dtype=torch.float64)
    sigma = 0.1
    out = WaveletDenoiser(wavelet, levels, factor)(x, sigma)
    for b in range(2):
        ref = _pywt_shrink(x[b, 0].numpy(), wavelet, levels, factor * sigma)
        np.testing.assert_allclose(out[b, 0].numpy(), ref, atol=1e-12)
    assert float((out - x).abs().max()) > 0.05  # it did shrink something


def test_wavelet_denoiser_is_the_prox_of_its_functional():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 1, 16, 16, generator=g, dtype=torch.float64)
    D = WaveletDenoiser("db2", levels=2, factor=1.5)
    f = D.functional(0.2, (1, 16, 16))
    assert isinstance(f, L1Wavelet) and f.lam == pytest.approx(0.3)
    z = D(x, 0.2)

    def objective(v):
        return 0.5 * float(((v - x) ** 2).sum()) + float(f.value(v))

    # the prox minimizes ½‖v - x‖² + g(v): random perturbations never do better
    best = objective(z)
    for _ in range(20):
        v = z + 1e-3 * torch.randn(z.shape, generator=g, dtype=torch.float64)
        assert objective(v) >= best - 1e-12


def test_tv_denoiser_solves_rof_on_a_step():
    # 1-D step [0]*4 + [1]*4 (periodic): the ROF solution with weight w moves each plateau by 2w/4 = w/2
    x = torch.tensor([[[[0.0] * 4 + [1.0] * 4]]], dtype=torch.float64)
    out = TVDenoiser(weight=2.0, num_iter=500)(x, 0.1)  # weight·sigma = 0.2
    expected = torch.tensor([0.1] * 4 + [0.9] * 4, dtype=torch.float64)
    torch.testing.assert_close(out[0, 0, 0], expected, atol=1e-6, rtol=0)


def test_tv_denoiser_removes_noise_and_iterations_are_explicit():
    g = torch.Generator().manual_seed(2)
    clean = torch.zeros(1, 1, 32, 32, dtype=torch.float64)
    clean[..., 8:24, 8:24] = 1.0
    noisy = clean + 0.1 * torch.randn(clean.shape, generator=g, dtype=torch.float64)
    out = TVDenoiser(weight=1.0, num_iter=50)(noisy, 0.1)
    assert float(((out - clean) ** 2).mean()) < 0.4 * float(((noisy - clean) ** 2).mean())
    with pytest.raises(TypeError, match="num_iter"):
        TVDenoiser(weight=1.0)  # no hidden default budget


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: WaveletDenoiser(factor=-1.0), "factor"),
        (lambda: WaveletDenoiser(levels=0), "levels"),
        (lambda: WaveletDenoiser("bior2.2"), "wavelet"),
        (lambda: TVDenoiser(weight=0.0, num_iter=5), "weight"),
        (lambda: TVDenoiser(num_iter=0), "num_iter"),
        (lambda: WaveletDenoiser("haar", 1)(torch.zeros(1, 1, 4, 4), -0.1), "sigma"),
        (lambda: TVDenoiser(num_iter=5)(torch.zeros(1, 1, 4, 4), float("nan")), "sigma"),
        (lambda: WaveletDenoiser("haar", 1)(torch.zeros(4, 4), 0.1), "x"),
        (lambda: WaveletDenoiser("haar", 3)(torch.zeros(1, 1, 12, 12), 0.1), "levels"),
    ],
)
def test_bad_arguments_name_the_argument(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_bm3d_is_optional():
    if importlib.util.find_spec("bm3d") is None:
        with pytest.raises(ImportError, match="pip install bm3d"):
            BM3DDenoiser()
        return
    g = torch.Generator().manual_seed(3)
    clean = torch.zeros(1, 1, 32, 32)
    clean[..., 8:24, 8:24] = 1.0
    noisy = clean + 0.1 * torch.randn(clean.shape, generator=g)
    out = BM3DDenoiser()(noisy, 0.1)
    assert out.shape == noisy.shape and out.dtype == noisy.dtype
    assert float(((out - clean) ** 2).mean()) < 0.3 * float(((noisy - clean) ** 2).mean())
