"""Synthetic images: the modified Shepp-Logan phantom, random-ellipse phantoms and dead-leaves images.

Conventions of :mod:`inverselab.data`: float32 tensors with values in ``[0, 1]``; a single image is
``(C, H, W)`` and a batch is ``(num, C, H, W)``. Randomness comes only from the ``generator`` argument (a
``torch.Generator`` or an integer seed; ``None`` means seed 0), and images are drawn on the generator's
device.
Pixels are point samples at their centers (Shepp-Logan: averaged over a finer grid); phantoms live on the
square ``[-1, 1]^2`` (row 0 at the top, ``y = 1``), dead leaves on the unit square.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F

from .._checks import check_number
from ..noise import make_generator

__all__ = ["shepp_logan", "random_ellipses", "dead_leaves"]

# Modified Shepp-Logan phantom (Toft 1996): intensity, semi-axes a and b, center (x0, y0), angle in degrees.
# The intensities add up to values in [0, 1], with more contrast than the original ones (2, -0.98, -0.02 ...).
_MODIFIED_SHEPP_LOGAN = (
    (1.0, 0.69, 0.92, 0.0, 0.0, 0.0),
    (-0.8, 0.6624, 0.874, 0.0, -0.0184, 0.0),
    (-0.2, 0.11, 0.31, 0.22, 0.0, -18.0),
    (-0.2, 0.16, 0.41, -0.22, 0.0, 18.0),
    (0.1, 0.21, 0.25, 0.0, 0.35, 0.0),
    (0.1, 0.046, 0.046, 0.0, 0.1, 0.0),
    (0.1, 0.046, 0.046, 0.0, -0.1, 0.0),
    (0.1, 0.046, 0.023, -0.08, -0.605, 0.0),
    (0.1, 0.023, 0.023, 0.0, -0.606, 0.0),
    (0.1, 0.023, 0.046, 0.06, -0.605, 0.0),
)


def _check_size(size: object) -> int:
    return int(check_number("size", size, low=1, integer=True))


def _rasterize(
    params: torch.Tensor, used: torch.Tensor, size: int, supersample: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of ellipse indicators times intensities, area-averaged over ``supersample^2`` points per pixel.

    Exact point sampling at (sub)pixel centers, by scanlines: in each row an ellipse covers one interval of
    columns (a quadratic inequality), which is written into a difference array and summed along the row.
    The cost is O(ellipses x rows + pixels), whatever the ellipses' sizes.

    Args:
        params: ``(B, K, 6)`` rows ``(intensity, a, b, x0, y0, angle_rad)``, float64, on ``[-1, 1]^2``.
        used: ``(B, K)`` boolean mask of the ellipses to draw.

    Returns:
        The image and the fraction of (sub)pixel samples covered by at least one ellipse, each ``(B, size,
        size)`` in the dtype of ``params``.
    """
    dtype, dev = params.dtype, params.device
    B, n = params.shape[0], size * supersample
    idx = used.nonzero()
    v, a, b, x0, y0, phi = (p.unsqueeze(1) for p in params[idx[:, 0], idx[:, 1]].unbind(1))
    c, s = torch.cos(phi), torch.sin(phi)
    ia, ib = a.clamp(min=1e-9) ** -2, b.clamp(min=1e-9) ** -2
    qa, qc, qb = c * c * ia + s * s * ib, s * s * ia + c * c * ib, c * s * (ia - ib)
    # Row i has y = 1 - (2i + 1) / n; inside: qa dx^2 + 2 qb dy dx + qc dy^2 <= 1, dx = x - x0, dy = y - y0.
    dy = 1 - (2 * torch.arange(n, dtype=dtype, device=dev) + 1) / n - y0  # (M, n)
    disc = (qb * dy) ** 2 - qa * (qc * dy * dy - 1)
    root = disc.clamp(min=0).sqrt()
    x_lo, x_hi = x0 + (-qb * dy - root) / qa, x0 + (-qb * dy + root) / qa
    # Column j has x = (2j + 1) / n - 1.
    j0 = torch.ceil(((x_lo + 1) * n - 1) / 2).clamp(0, n).long()
    j1 = torch.floor(((x_hi + 1) * n - 1) / 2).clamp(-1, n - 1).long() + 1
    keep = (disc >= 0) & (j0 < j1)
    m, row = keep.nonzero().unbind(1)
    base = (idx[m, 0] * n + row) * (n + 1)
    val = v.expand(-1, n)[m, row]
    diff = torch.zeros(B * n * (n + 1), dtype=dtype, device=dev)
    diff.index_add_(0, base + j0[m, row], val).index_add_(0, base + j1[m, row], -val)
    hits = torch.zeros(B * n * (n + 1), dtype=torch.int64, device=dev)
    one = torch.ones_like(base)
    hits.index_add_(0, base + j0[m, row], one).index_add_(0, base + j1[m, row], -one)
    img = diff.reshape(B, 1, n, n + 1).cumsum(-1)[..., :n]
    cover = (hits.reshape(B, 1, n, n + 1).cumsum(-1)[..., :n] > 0).to(dtype)
    if supersample > 1:
        img, cover = F.avg_pool2d(img, supersample), F.avg_pool2d(cover, supersample)
    return img[:, 0], cover[:, 0]


def shepp_logan(size: int = 256, *, supersample: int = 4) -> torch.Tensor:
    """The modified Shepp-Logan phantom, rasterized from its analytic ellipses at any size.

    Uses Toft's modified intensities (as in scikit-image's ``shepp_logan_phantom`` and MATLAB's
    ``phantom('Modified Shepp-Logan')``), so the values lie in ``[0, 1]``. Each pixel is the average of
    ``supersample x supersample`` point samples, which anti-aliases the edges.

    References: L. A. Shepp and B. F. Logan, "The Fourier reconstruction of a head section", IEEE Trans. Nucl.
    Sci. 21(3), 1974; P. A. Toft, "The Radon transform: theory and implementation", PhD thesis, DTU, 1996.

    Args:
        size: Side of the square image, in pixels.
        supersample: Point samples per pixel and axis (1 = point sampling at pixel centers).

    Returns:
        Shape ``(1, size, size)``, float32.

    Example:
        >>> x = shepp_logan(64)
        >>> x.shape, float(x.min()), float(x.max())
        (torch.Size([1, 64, 64]), 0.0, 1.0)
    """
    size = _check_size(size)
    supersample = int(check_number("supersample", supersample, low=1, integer=True))
    params = torch.tensor(_MODIFIED_SHEPP_LOGAN, dtype=torch.float64)
    params[:, 5] = torch.deg2rad(params[:, 5])
    out, _ = _rasterize(params.unsqueeze(0), torch.ones(1, len(params), dtype=torch.bool), size, supersample)
    return out.clamp(0, 1).to(torch.float32)


def random_ellipses(
    num: int,
    size: int = 128,
    generator: torch.Generator | int | None = None,
    *,
    num_ellipses: float = 50.0,
    interior: bool = False,
) -> torch.Tensor:
    """Random-ellipse phantoms, as used to train learned CT reconstruction.

    Each image sums ``Poisson(num_ellipses)`` ellipses with the distributions of Adler & Öktem's learned
    primal-dual code: intensity ``(U - 1/2) Exp(0.4)``, semi-axes ``0.2 Exp(1)`` each, center uniform in
    ``[-1, 1]^2`` (``[-1/2, 1/2]^2`` if ``interior``), angle uniform in ``[0, 2 pi)``, on the domain
    ``[-1, 1]^2``.
    Because the intensities are signed, each image is then normalized as in DIVal's ``EllipsesDataset``: the
    background (pixels no ellipse covers) stays 0, the covered pixels are shifted by the image minimum
    (background included), then the image is divided by its maximum, so the values lie in ``[0, 1]``.

    References: J. Adler and O. Öktem, "Learned primal-dual reconstruction", IEEE Trans. Med. Imaging 37(6),
    2018; J. Leuschner et al., "Quantitative comparison of deep learning-based image reconstruction methods
    for low-dose and sparse-angle CT applications", J. Imaging 7(3), 2021 (DIVal).

    Args:
        num: Number of images.
        size: Side of the square images, in pixels.
        generator: Generator or seed.
        num_ellipses: Mean number of ellipses per image (capped at three times the mean, plus 10).
        interior: Keep the centers in the central half of the domain.

    Returns:
        Shape ``(num, 1, size, size)``, float32.

    Example:
        >>> x = random_ellipses(4, 32, generator=0)
        >>> x.shape, float(x.min()) >= 0, float(x.max())
        (torch.Size([4, 1, 32, 32]), True, 1.0)
    """
    num = int(check_number("num", num, low=1, integer=True))
    size = _check_size(size)
    num_ellipses = float(check_number("num_ellipses", num_ellipses, low=0, low_inclusive=False))
    gen = make_generator(generator)
    dev = gen.device
    kmax = int(3 * num_ellipses) + 10
    count = torch.poisson(torch.full((num, 1), num_ellipses, device=dev), generator=gen)
    used = torch.arange(kmax, device=dev) < count.clamp(max=kmax)

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=gen, device=dev, dtype=torch.float64)

    def exponential(scale: float) -> torch.Tensor:
        return -scale * torch.log1p(-rand(num, kmax))

    spread = 0.5 if interior else 1.0
    value = (rand(num, kmax) - 0.5) * exponential(0.4) * used
    a, b = 0.2 * exponential(1.0), 0.2 * exponential(1.0)
    center = spread * (2 * rand(num, kmax, 2) - 1)
    angle = 2 * math.pi * rand(num, kmax)
    params = torch.stack([value, a, b, center[..., 0], center[..., 1], angle], dim=2)
    img, covered = _rasterize(params, used, size, 1)
    covered = covered > 0
    img = torch.where(covered, img, 0)  # exact zeros on the background
    lo = img.reshape(num, -1).amin(1).reshape(-1, 1, 1)
    img = torch.where(covered, img - lo, 0)
    hi = img.reshape(num, -1).amax(1).reshape(-1, 1, 1)
    img = torch.where(hi > 0, img / hi.clamp(min=torch.finfo(img.dtype).tiny), 0)
    return img.clamp(0, 1).to(torch.float32).unsqueeze(1)


def _integral(e: float, rmin: float, rmax: float) -> float:
    """``int_rmin^rmax r^e dr``."""
    if rmin == rmax:
        return 0.0
    return math.log(rmax / rmin) if e == -1 else (rmax ** (e + 1) - rmin ** (e + 1)) / (e + 1)


def _power_law(u: torch.Tensor, rmin: float, rmax: float, alpha: float) -> torch.Tensor:
    """Map uniforms ``u`` to radii with density proportional to ``r^-alpha`` on ``[rmin, rmax]``."""
    if rmin == rmax:
        return torch.full_like(u, rmin)
    if alpha == 1:
        return rmin * (rmax / rmin) ** u
    p = 1 - alpha
    return (rmin**p + u * (rmax**p - rmin**p)) ** (1 / p)


def _window_radii(
    shape: tuple[int, ...], rmin: float, rmax: float, alpha: float, gen: torch.Generator
) -> torch.Tensor:
    """Radii of the disks of a stationary planar dead-leaves process whose centers fall in ``[-r, 1 + r]^2``.

    A disk of radius ``r`` meets the unit square only if its center lies in that square dilated by ``r``, of
    area ``(1 + 2r)^2``; so those disks have radius density ``r^-alpha (1 + 2r)^2 = r^-alpha + 4 r^(1-alpha) +
    4 r^(2-alpha)``, a mixture of three power laws sampled exactly here.
    """
    weights = torch.tensor([c * _integral(-alpha + k, rmin, rmax) for k, c in enumerate((1, 4, 4))])
    if rmin == rmax:
        weights = torch.ones(3)
    dev = gen.device
    pick = torch.multinomial(weights.to(dev), math.prod(shape), replacement=True, generator=gen).reshape(
        shape
    )
    u = torch.rand(shape, generator=gen, device=dev, dtype=torch.float64)
    parts = [_power_law(u, rmin, rmax, alpha - k) for k in range(3)]
    return torch.where(pick == 0, parts[0], torch.where(pick == 1, parts[1], parts[2]))


def _coverage_per_disk(rmin: float, rmax: float, alpha: float) -> float:
    """Probability that a given point of the unit square is inside one disk drawn by :func:`_window_radii`."""
    if rmin == rmax:
        return math.pi * rmin**2 / (1 + 2 * rmin) ** 2
    i = [_integral(-alpha + k, rmin, rmax) for k in range(3)]
    return math.pi * i[2] / (i[0] + 4 * i[1] + 4 * i[2])


def _expand(counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For ``counts`` (n,) >= 0: the owner of each of ``sum(counts)`` items and its rank within its owner."""
    owner = torch.repeat_interleave(torch.arange(len(counts), device=counts.device), counts)
    start = torch.cumsum(counts, 0) - counts
    return owner, torch.arange(len(owner), device=counts.device) - start[owner]


def dead_leaves(
    num: int,
    size: int = 128,
    generator: torch.Generator | int | None = None,
    *,
    rmin: float = 0.01,
    rmax: float = 1.0,
    alpha: float = 3.0,
    color: bool = False,
) -> torch.Tensor:
    """Dead-leaves images: disks fall on the image one below the other until every pixel is covered.

    Radii have density proportional to ``r^-alpha`` on ``[rmin, rmax]`` (``alpha = 3`` gives the scale
    invariance of natural images), in units of the image side; each disk has a uniform gray level in
    ``[0, 1]`` (with ``color``, an independent uniform level per RGB channel). The disks form a stationary
    Poisson process on the plane, restricted exactly to those that can meet the image (centers within ``r`` of
    the unit square), so there are no border effects; pixels are point samples at their centers, so edges are
    not anti-aliased. Two pixels at distance ``d`` show the same disk with probability
    ``E|D cap (D + d)| / E|D cup (D + d)|`` (Matheron), which the tests check.

    References: G. Matheron, "Modèle séquentiel de partition aléatoire", 1968; A. B. Lee, D. Mumford and
    J. Huang, "Occlusion models for natural images", IJCV 41, 2001; R. Achddou, Y. Gousseau and S. Ladjal,
    "Synthetic images as a regularity prior for image restoration neural networks", SSVM 2021.

    Args:
        num: Number of images.
        size: Side of the square images, in pixels.
        generator: Generator or seed.
        rmin: Smallest radius, as a fraction of the image side.
        rmax: Largest radius, as a fraction of the image side (``>= rmin``).
        alpha: Exponent of the radius density.
        color: Draw RGB images (3 channels) instead of gray ones (1 channel).

    Returns:
        Shape ``(num, C, size, size)``, float32, ``C`` = 3 with ``color`` else 1.

    Example:
        >>> x = dead_leaves(2, 32, generator=0, color=True)
        >>> x.shape, bool((x >= 0).all() and (x <= 1).all())
        (torch.Size([2, 3, 32, 32]), True)
    """
    num = int(check_number("num", num, low=1, integer=True))
    n = int(check_number("size", size, low=1, integer=True))
    rmin = float(check_number("rmin", rmin, low=0, low_inclusive=False))
    rmax = float(check_number("rmax", rmax, low=rmin))
    alpha = float(check_number("alpha", alpha))
    channels = 3 if color else 1
    gen = make_generator(generator)
    dev = gen.device
    p_cover = _coverage_per_disk(rmin, rmax, alpha)
    value = torch.zeros(num * n * n, channels, dtype=torch.float32, device=dev)
    uncovered = torch.ones(num, n, n, dtype=torch.bool, device=dev)
    for rounds in itertools.count():
        active = uncovered.flatten(1).any(1).nonzero()[:, 0]  # images with uncovered pixels
        if len(active) == 0:
            break
        if rounds > 60:  # unreachable in practice: round k adds 2^k expected coverings
            raise RuntimeError("dead_leaves did not cover the image; check rmin, rmax and alpha")
        # Round k draws 2^k expected coverings of the image per image, below all the disks drawn before.
        per_round = max(1, math.ceil(2**rounds / p_cover))
        shape = (len(active), per_round)
        r = _window_radii(shape, rmin, rmax, alpha, gen)
        center = (1 + 2 * r).unsqueeze(-1) * torch.rand(*shape, 2, generator=gen, device=dev, dtype=r.dtype)
        center = center - r.unsqueeze(-1)
        level = torch.rand(*shape, channels, generator=gen, device=dev)
        disk, pixel = _uncovered_hits(
            center.flatten(0, 1) * n - 0.5, r.flatten() * n, active, per_round, uncovered
        )
        # The top disk at each newly covered pixel is the first one drawn (disks are drawn top to bottom).
        top = torch.full((num * n * n,), len(r.flatten()), dtype=torch.int64, device=dev)
        top.scatter_reduce_(0, pixel, disk, "amin")
        hit = (top < len(r.flatten())).nonzero()[:, 0]
        value[hit] = level.reshape(-1, channels)[top[hit]]
        uncovered.view(-1)[hit] = False
    return value.reshape(num, n, n, channels).permute(0, 3, 1, 2).contiguous()


def _uncovered_hits(
    center: torch.Tensor, radius: torch.Tensor, active: torch.Tensor, per_image: int, uncovered: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """All (disk, pixel) pairs with the pixel center inside the disk and the pixel still uncovered.

    Args:
        center: ``(D, 2)`` disk centers ``(x, y)`` in pixel index units (pixel ``(i, j)`` is at ``(j, i)``).
        radius: ``(D,)`` radii in pixels.
        active: Image of each block of ``per_image`` consecutive disks.
        per_image: Disks per image.
        uncovered: ``(num, n, n)`` mask of the pixels still to cover.

    Returns:
        Disk indices and flat pixel indices (into ``uncovered``), one entry per pair.
    """
    num, n, dev = uncovered.shape[0], uncovered.shape[-1], uncovered.device
    cx, cy = center.unbind(1)
    img = active.repeat_interleave(per_image)
    i0, i1 = torch.ceil(cy - radius).clamp(0, n).long(), torch.floor(cy + radius).clamp(-1, n - 1).long() + 1
    k0, k1 = torch.ceil(cx - radius).clamp(0, n).long(), torch.floor(cx + radius).clamp(-1, n - 1).long() + 1
    # Keep only disks whose bounding box holds an uncovered pixel (summed-area table lookup).
    sat = torch.zeros(num, n + 1, n + 1, dtype=torch.int64, device=dev)
    sat[:, 1:, 1:] = uncovered.long().cumsum(1).cumsum(2)
    i1, k1 = torch.maximum(i1, i0), torch.maximum(k1, k0)
    sat, b0, b1 = sat.view(-1), img * (n + 1) + i0, img * (n + 1) + i1  # flat indexing is faster
    count = sat[b1 * (n + 1) + k1] - sat[b0 * (n + 1) + k1] - sat[b1 * (n + 1) + k0] + sat[b0 * (n + 1) + k0]
    keep = (count > 0).nonzero()[:, 0]
    # Rows each kept disk meets, then the interval of columns inside the disk on each row.
    disk, k = _expand(i1[keep] - i0[keep])
    disk = keep[disk]
    row = i0[disk] + k
    half = (radius[disk] ** 2 - (row - cy[disk]) ** 2).clamp(min=0).sqrt()
    j0 = torch.ceil(cx[disk] - half).clamp(0, n).long()
    j1 = torch.maximum(torch.floor(cx[disk] + half).clamp(-1, n - 1).long() + 1, j0)
    # Only the uncovered pixels of each interval matter: rank them per row with a prefix count.
    rowid = img[disk] * n + row
    unc = uncovered.reshape(num * n, n)
    rank = torch.zeros(num * n, n + 1, dtype=torch.int64, device=dev)
    rank[:, 1:] = unc.cumsum(1)
    row_start = torch.cumsum(rank[:, -1], 0) - rank[:, -1]
    lo, hi = rank.view(-1)[rowid * (n + 1) + j0], rank.view(-1)[rowid * (n + 1) + j1]
    span, t = _expand(hi - lo)
    pixel = unc.flatten().nonzero()[:, 0][row_start[rowid[span]] + lo[span] + t]
    return disk[span], pixel
