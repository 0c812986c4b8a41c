"""Metrics against scikit-image on the same inputs (to 1e-4), and their error messages."""

import numpy as np
import pytest
import torch
from skimage import data, filters
from skimage.metrics import normalized_root_mse, peak_signal_noise_ratio, structural_similarity

from inverselab.metrics import nmse, nmse_db, psnr, ssim

DTYPES = [torch.float32, torch.float64]


def _pair(kind: str, dtype: torch.dtype, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(reconstruction, target) batches of shape (B, C, H, W) in [0, 1]."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        target = rng.random((3, 1, 40, 52))
    elif kind == "random-color":
        target = rng.random((2, 3, 33, 47))
    elif kind == "gray":  # natural images: two crops of cameraman and one of moon
        cam, moon = data.camera() / 255.0, data.moon() / 255.0
        target = np.stack([cam[100:196, 150:250], cam[300:396, 0:100], moon[200:296, 200:300]])[:, None]
    elif kind == "color":
        astro = data.astronaut() / 255.0
        target = np.stack([astro[:96, :100], astro[200:296, 250:350]]).transpose(0, 3, 1, 2)
    else:
        raise AssertionError(kind)
    # A degraded reconstruction: blur + noise (varying per item), so SSIM is far from 0 and 1.
    recon = np.stack([filters.gaussian(t, sigma=(0, 1 + k % 2, 1 + k % 2)) for k, t in enumerate(target)])
    recon = recon + rng.normal(0, 0.05, target.shape) * (1 + np.arange(len(target))).reshape(-1, 1, 1, 1)
    recon = np.clip(recon, 0, 1)
    return torch.tensor(recon, dtype=dtype), torch.tensor(target, dtype=dtype)


def _skimage_ssim(x: torch.Tensor, t: torch.Tensor, data_range, **kw) -> np.ndarray:
    out = []
    for xb, tb in zip(x.numpy(), t.numpy(), strict=True):
        r = {"max": tb.max(), "range": tb.max() - tb.min()}.get(data_range, data_range)
        out.append(structural_similarity(tb, xb, channel_axis=0, data_range=float(r), **kw))
    return np.array(out)


KINDS = ["random", "random-color", "gray", "color"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_ssim_gaussian_matches_skimage(kind, dtype):
    x, t = _pair(kind, dtype)
    ours = ssim(x, t)
    ref = _skimage_ssim(x, t, 1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    assert ours.shape == (x.shape[0],) and ours.dtype == dtype
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-4, rtol=0)
    assert 0.05 < ref.min() and ref.max() < 0.95  # a test that could fail: SSIM far from both ends


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_ssim_fastmri_mode_matches_skimage(kind, dtype):
    # fastMRI: scikit-image defaults (7x7 uniform window, sample covariance), data range = max of the target
    x, t = _pair(kind, dtype, seed=1)
    t = t * 3.7  # a target whose maximum is not 1
    ours = ssim(x * 3.7, t, "max", gaussian_weights=False, win_size=7, use_sample_covariance=True)
    ref = _skimage_ssim(x * 3.7, t, "max")  # skimage defaults: win_size=7, use_sample_covariance=True
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    "kw",
    [
        {"gaussian_weights": False, "win_size": 11, "use_sample_covariance": False},
        {"gaussian_weights": True, "sigma": 0.8, "use_sample_covariance": True},
        {"gaussian_weights": True, "sigma": 2.5, "K1": 0.05, "K2": 0.1, "use_sample_covariance": False},
    ],
)
def test_ssim_other_settings_match_skimage(kw):
    x, t = _pair("gray", torch.float64, seed=2)
    ref = _skimage_ssim(x, t, "range", **kw)
    np.testing.assert_allclose(ssim(x, t, "range", **kw).numpy(), ref, atol=1e-4, rtol=0)


def test_ssim_identity_batch_independence_and_gradient():
    x, t = _pair("gray", torch.float64)
    assert torch.allclose(ssim(t, t), torch.ones(3, dtype=torch.float64))
    one = torch.cat([ssim(x[k : k + 1], t[k : k + 1]) for k in range(3)])
    torch.testing.assert_close(ssim(x, t), one)
    xs = x[:1, :, :14, :14].clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda z: ssim(z, t[:1, :, :14, :14]), (xs,), fast_mode=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("data_range", [1.0, "max", "range", 2.5])
def test_psnr_matches_skimage(kind, dtype, data_range):
    x, t = _pair(kind, dtype)
    ref = []
    for xb, tb in zip(x.numpy(), t.numpy(), strict=True):
        r = {"max": tb.max(), "range": tb.max() - tb.min()}.get(data_range, data_range)
        ref.append(peak_signal_noise_ratio(tb, xb, data_range=float(r)))
    ours = psnr(x, t, data_range)
    assert ours.shape == (x.shape[0],) and ours.dtype == dtype
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-4, rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_nmse_matches_skimage(kind, dtype):
    x, t = _pair(kind, dtype)
    ref = np.array([normalized_root_mse(tb, xb) ** 2 for xb, tb in zip(x.numpy(), t.numpy(), strict=True)])
    np.testing.assert_allclose(nmse(x, t).numpy(), ref, rtol=1e-5)
    np.testing.assert_allclose(nmse_db(x, t).numpy(), 10 * np.log10(ref), atol=1e-4)


def test_vectors_and_complex():
    g = torch.Generator().manual_seed(0)
    t = torch.randn(4, 500, generator=g, dtype=torch.float64)
    x = t + 0.1 * torch.randn(4, 500, generator=g, dtype=torch.float64)
    pairs = zip(t.numpy(), x.numpy(), strict=True)
    ref = [peak_signal_noise_ratio(a, b, data_range=float(a.max())) for a, b in pairs]
    np.testing.assert_allclose(psnr(x, t, "max").numpy(), ref, atol=1e-6)
    # complex NMSE: |x - t|^2 / |t|^2 on the complex values, not on magnitudes
    tc = torch.complex(t, t.flip(1))
    xc = tc * torch.exp(1j * torch.tensor(0.1, dtype=torch.float64))  # a pure phase error
    expected = (np.abs(xc.numpy() - tc.numpy()) ** 2).sum(1) / (np.abs(tc.numpy()) ** 2).sum(1)
    np.testing.assert_allclose(nmse(xc, tc).numpy(), expected, rtol=1e-12)
    assert float(nmse(xc, tc)[0]) == pytest.approx(abs(np.exp(0.1j) - 1) ** 2, rel=1e-9)
    with pytest.raises(ValueError, match="complex"):
        psnr(xc, tc)
    with pytest.raises(ValueError, match="complex"):
        ssim(xc.reshape(4, 1, 20, 25), tc.reshape(4, 1, 20, 25))


def test_exact_values_and_nonfinite_reconstruction():
    t = torch.zeros(2, 1, 16, 16)
    assert psnr(t + 0.1, t).tolist() == pytest.approx([20.0, 20.0], abs=1e-4)
    assert torch.isinf(psnr(t, t)).all()
    x = t.clone()
    x[1, 0, 0, 0] = float("nan")  # a diverged method: NaN for its item, no exception
    out = psnr(x, t)
    assert torch.isinf(out[0]) and torch.isnan(out[1])
    assert torch.isnan(ssim(x, t)[1]) and not torch.isnan(ssim(x, t)[0])
    u8 = torch.full((1, 1, 16, 16), 100, dtype=torch.uint8)  # integer images work with an explicit range
    assert float(psnr(u8 + 10, u8, data_range=255)) == pytest.approx(20 * np.log10(25.5), abs=1e-9)


def test_errors_name_the_argument():
    a, b = torch.rand(2, 1, 16, 16), torch.rand(2, 1, 16, 15)
    for f in (psnr, ssim, nmse, nmse_db):
        with pytest.raises(ValueError, match=r"x \(2, 1, 16, 16\) and x_true \(2, 1, 16, 15\)"):
            f(a, b)
    with pytest.raises(ValueError, match="x_true must contain only finite"):
        psnr(a, a.clone().fill_(float("inf")))
    with pytest.raises(ValueError, match="data_range must be one of 'max', 'range'; got 'peak'"):
        psnr(a, a, "peak")
    with pytest.raises(ValueError, match="data_range must be > 0"):
        ssim(a, a, -1.0)
    with pytest.raises(ValueError, match="data_range='max' must give a positive peak.*item 0"):
        psnr(a, torch.zeros_like(a), "max")
    with pytest.raises(ValueError, match=r"x must have shape \(B, C, H, W\), got shape \(2, 256\)"):
        ssim(a.reshape(2, 256), a.reshape(2, 256))
    with pytest.raises(ValueError, match="at least 11x11 pixels"):
        ssim(a[..., :10, :10], a[..., :10, :10])
    with pytest.raises(ValueError, match="win_size must be odd, got 4"):
        ssim(a, a, gaussian_weights=False, win_size=4)
    with pytest.raises(ValueError, match="win_size must be None with gaussian_weights=True"):
        ssim(a, a, win_size=7)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nmse(a.reshape(-1), a.reshape(-1))
    with pytest.raises(TypeError, match="x must be a torch.Tensor, got ndarray"):
        psnr(a.numpy(), a)


# --- overlap (community labels) -----------------------------------------------------------------------------
def test_overlap_is_invariant_to_relabelling():
    from inverselab.metrics import overlap

    gen = torch.Generator().manual_seed(0)
    for q in (2, 3, 5, 8):  # 8 > 6 uses the assignment solver
        truth = torch.randint(q, (3, 500), generator=gen)
        perm = torch.randperm(q, generator=gen)
        torch.testing.assert_close(overlap(perm[truth], truth, q), torch.ones(3, dtype=torch.float64))
        # Change 100 of 500 labels to another group: accuracy 0.8 under the best relabelling.
        wrong = perm[truth].clone()
        wrong[:, :100] = perm[(truth[:, :100] + 1) % q]
        expect = (0.8 - 1 / q) / (1 - 1 / q)
        torch.testing.assert_close(overlap(wrong, truth, q), torch.full((3,), expect, dtype=torch.float64))


def test_overlap_of_chance_labels_is_near_zero_and_its_errors():
    from inverselab.metrics import overlap

    gen = torch.Generator().manual_seed(1)
    truth = torch.randint(2, (1, 20_000), generator=gen)
    guess = torch.randint(2, (1, 20_000), generator=gen)
    assert 0 <= float(overlap(guess, truth)[0]) < 0.03  # |accuracy - 1/2| ~ 0.0035 per std
    assert float(overlap(torch.zeros_like(truth), truth)[0]) < 0.03  # everyone in one group
    with pytest.raises(TypeError, match="x must hold integer labels"):
        overlap(truth.float(), truth)
    with pytest.raises(ValueError, match="same shape"):
        overlap(truth[:, :10], truth)
    with pytest.raises(ValueError, match=r"labels in \[0, q\) = \[0, 2\)"):
        overlap(truth + 1, truth, q=2)
    with pytest.raises(ValueError, match="labels >= 0"):
        overlap(truth - 1, truth)
