"""Synthetic images: Shepp-Logan against scikit-image, ellipses against a naive rasterizer, dead leaves
against the two-point statistics of the model."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from inverselab.data import dead_leaves, random_ellipses, shepp_logan
from inverselab.data import phantoms as ph
from inverselab.metrics import psnr


def test_shepp_logan_matches_skimage():
    from skimage import data, transform

    ref = data.shepp_logan_phantom()  # 400 x 400, modified intensities
    point = shepp_logan(400, supersample=1)
    assert point.shape == (1, 400, 400) and point.dtype == torch.float32
    # Point sampling at the same size: the same picture except for ~0.5% of pixels on the edges.
    assert (np.abs(point[0].numpy() - ref) > 0.05).mean() < 0.01
    assert sorted(np.unique(point.numpy().round(4))) == pytest.approx([0, 0.1, 0.2, 0.3, 0.4, 1.0])
    small = torch.tensor(transform.resize(ref, (128, 128), anti_aliasing=True), dtype=torch.float32)
    assert float(psnr(shepp_logan(128)[None], small[None, None])) > 30
    # Supersampling anti-aliases: edge pixels take intermediate values.
    assert len(np.unique(shepp_logan(64).numpy())) > 20


def _naive_ellipses(params: np.ndarray, size: int) -> np.ndarray:
    """Direct per-pixel evaluation of rotated ellipses on [-1, 1]^2 (row 0 at y = 1)."""
    t = (2 * np.arange(size) + 1) / size - 1
    x, y = t[None, :], -t[:, None]
    out = np.zeros((size, size))
    for v, a, b, x0, y0, phi in params:
        u = (x - x0) * np.cos(phi) + (y - y0) * np.sin(phi)
        w = -(x - x0) * np.sin(phi) + (y - y0) * np.cos(phi)
        out += v * ((u / a) ** 2 + (w / b) ** 2 <= 1)
    return out


def test_scanline_rasterizer_matches_naive_evaluation():
    rng = np.random.default_rng(0)
    k = 12
    params = np.stack(
        [
            rng.uniform(-1, 1, k),
            rng.uniform(0.02, 0.8, k),
            rng.uniform(0.02, 0.8, k),
            rng.uniform(-1.2, 1.2, k),
            rng.uniform(-1.2, 1.2, k),
            rng.uniform(0, 2 * np.pi, k),
        ],
        axis=1,
    )
    img, cover = ph._rasterize(torch.tensor(params)[None], torch.ones(1, k, dtype=torch.bool), 67, 1)
    ref = _naive_ellipses(params, 67)
    # Pixels exactly on an ellipse boundary may round either way; there are almost none.
    assert (np.abs(img[0].numpy() - ref) > 1e-9).mean() < 1e-3
    np.testing.assert_array_equal(
        cover[0].numpy() > 0, _naive_ellipses(np.c_[np.ones(k), params[:, 1:]], 67) > 0
    )


def test_random_ellipses_range_determinism_and_normalization():
    x = random_ellipses(16, 48, generator=3)
    assert x.shape == (16, 1, 48, 48) and x.dtype == torch.float32
    assert float(x.min()) == 0.0
    assert torch.allclose(x.flatten(1).amax(1), torch.ones(16))  # each image reaches 1
    torch.testing.assert_close(x, random_ellipses(16, 48, generator=torch.Generator().manual_seed(3)))
    assert not torch.equal(x, random_ellipses(16, 48, generator=4))
    # Intensities of overlapping ellipses add up: far more gray levels than ellipses per image.
    assert len(torch.unique(x[0])) > 20
    # interior=True keeps the centers in the central half: less mass on the outer ring.
    ring = torch.ones(48, 48, dtype=torch.bool)
    ring[8:40, 8:40] = False
    inner = random_ellipses(64, 48, 5, interior=True)
    outer = random_ellipses(64, 48, 5)
    assert (inner[..., ring] > 0).float().mean() < (outer[..., ring] > 0).float().mean() - 0.1


def _p_same_leaf(d: float, rmin: float, rmax: float, alpha: float) -> float:
    """P(two points at distance d lie in the same visible disk) = E|D cap (D+d)| / E|D cup (D+d)|."""

    def lens(r: float) -> float:
        return 2 * r * r * math.acos(d / (2 * r)) - d / 2 * math.sqrt(4 * r * r - d * d) if d < 2 * r else 0.0

    pts = [d / 2] if rmin < d / 2 < rmax else None
    inter = integrate.quad(lambda r: r**-alpha * lens(r), rmin, rmax, points=pts, limit=200)[0]
    union = integrate.quad(lambda r: r**-alpha * (2 * math.pi * r * r - lens(r)), rmin, rmax, points=pts)[0]
    return inter / union


@pytest.mark.parametrize("rmin, rmax, alpha", [(0.02, 0.25, 3.0), (0.03, 0.3, 2.0)])
def test_dead_leaves_two_point_statistics_match_the_model(rmin, rmax, alpha):
    n = 128
    x = dead_leaves(32, n, generator=0, rmin=rmin, rmax=rmax, alpha=alpha)[:, 0]
    for k in (1, 4, 16):
        theory = _p_same_leaf(k / n, rmin, rmax, alpha)
        horizontal = (x[:, :, k:] == x[:, :, :-k]).double().mean().item()
        vertical = (x[:, k:, :] == x[:, :-k, :]).double().mean().item()
        assert horizontal == pytest.approx(theory, abs=0.025), k
        assert vertical == pytest.approx(theory, abs=0.025), k
    # Stationary (no border effect): the corners look like the center.
    corner = (x[:, :8, 1:8] == x[:, :8, :7]).double().mean().item()
    assert corner == pytest.approx(_p_same_leaf(1 / n, rmin, rmax, alpha), abs=0.05)


def test_dead_leaves_radius_laws():
    g = torch.Generator().manual_seed(0)
    rmin, rmax, alpha = 0.01, 1.0, 3.0
    r = ph._power_law(torch.rand(20000, generator=g, dtype=torch.float64), rmin, rmax, alpha).numpy()

    def cdf(t):  # of the density proportional to r^-3 on [rmin, rmax]
        return (rmin**-2 - np.clip(t, rmin, rmax) ** -2) / (rmin**-2 - rmax**-2)

    assert stats.kstest(r, cdf).pvalue > 0.01
    assert r.min() >= rmin and r.max() <= rmax
    # Disks meeting the window: density r^-3 (1 + 2r)^2 (larger disks more likely to reach the image).
    rw = ph._window_radii((20000,), rmin, rmax, alpha, g).numpy()
    grid = np.linspace(rmin, rmax, 200001)
    dens = grid**-alpha * (1 + 2 * grid) ** 2
    cum = np.concatenate([[0], np.cumsum((dens[1:] + dens[:-1]) / 2 * np.diff(grid))])
    assert stats.kstest(rw, lambda t: np.interp(t, grid, cum / cum[-1])).pvalue > 0.01
    assert stats.kstest(rw, cdf).pvalue < 1e-6  # the bias is real


def test_dead_leaves_shapes_range_determinism_and_color():
    x = dead_leaves(8, 40, generator=1)
    assert x.shape == (8, 1, 40, 40) and x.dtype == torch.float32
    assert float(x.min()) > 0 and float(x.max()) < 1  # every pixel covered by a leaf (levels in (0, 1) a.s.)
    torch.testing.assert_close(x, dead_leaves(8, 40, generator=torch.Generator().manual_seed(1)))
    assert not torch.equal(x, dead_leaves(8, 40, generator=2))
    c = dead_leaves(8, 40, generator=1, color=True)
    assert c.shape == (8, 3, 40, 40)
    # Each leaf has its own independent level per channel: channels are uncorrelated, edges shared.
    corr = np.corrcoef(c[:, 0].flatten().numpy(), c[:, 1].flatten().numpy())[0, 1]
    assert abs(corr) < 0.2
    same = c[:, :, :, 1:] == c[:, :, :, :-1]
    assert torch.equal(same[:, 0], same[:, 1])
    # A degenerate law: all leaves of one radius.
    assert dead_leaves(2, 16, generator=0, rmin=0.2, rmax=0.2).shape == (2, 1, 16, 16)


def test_bad_arguments_name_them():
    with pytest.raises(ValueError, match="size must be >= 1, got 0"):
        shepp_logan(0)
    with pytest.raises(TypeError, match="num must be an integer, got 2.5"):
        random_ellipses(2.5, 16)
    with pytest.raises(ValueError, match="rmax must be >= 0.5, got 0.1"):
        dead_leaves(1, 16, rmin=0.5, rmax=0.1)
    with pytest.raises(ValueError, match="rmin must be > 0, got 0"):
        dead_leaves(1, 16, rmin=0)
    with pytest.raises(ValueError, match="num_ellipses must be > 0"):
        random_ellipses(1, 16, num_ellipses=0)
