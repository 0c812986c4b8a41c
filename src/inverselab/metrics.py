"""Image and signal quality metrics as plain batched torch functions (``metric(x, x_true)``).

Every metric takes a reconstruction ``x`` and a target ``x_true`` of the same shape ``(B, ...)`` and returns
one value per item, a tensor of shape ``(B,)`` in the (real) dtype of the inputs. The functions are
differentiable, run on any device, and are tested against scikit-image on the same inputs.

Conventions:

- ``data_range`` (PSNR, SSIM) is the peak value ``R`` of the signal: a number (default ``1.0``, for images
  in ``[0, 1]``), ``"max"`` for the per-item maximum of the target (the fastMRI convention), or ``"range"``
  for the per-item ``max - min`` of the target.
- Complex inputs: :func:`nmse` and :func:`nmse_db` are defined for complex data (``|x - x_true|^2``);
  :func:`psnr` and :func:`ssim` reject them with a ``ValueError``: pass magnitudes (``x.abs()``) explicitly,
  as fastMRI does, so that phase errors are never silently ignored.
- The target must be finite; a non-finite reconstruction (a diverged method) gives ``nan`` for its item
  instead of an exception, so that a benchmark can record it.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from ._checks import check_choice, check_number, check_tensor

__all__ = ["psnr", "ssim", "nmse", "nmse_db", "overlap", "align_phase", "phase_invariant_error"]

DataRange = float | Literal["max", "range"]


def _pair(x: object, x_true: object, *, allow_complex: bool, min_ndim: int = 2) -> tuple[torch.Tensor, ...]:
    """Validate a (reconstruction, target) pair and promote both to a common floating dtype."""
    check_tensor("x", x, finite=False)
    check_tensor("x_true", x_true)
    if x.shape != x_true.shape:
        raise ValueError(
            f"x and x_true must have the same shape, got x {tuple(x.shape)} and x_true {tuple(x_true.shape)}"
        )
    if x.ndim < min_ndim:
        raise ValueError(f"x must have at least {min_ndim} dimensions (B, ...), got shape {tuple(x.shape)}")
    if not allow_complex and (x.is_complex() or x_true.is_complex()):
        raise ValueError(
            "x and x_true must be real for this metric, got a complex tensor; pass magnitudes (x.abs())"
        )
    dtype = torch.promote_types(x.dtype, x_true.dtype)
    if not (dtype.is_floating_point or dtype.is_complex):
        dtype = torch.float64  # integer / bool images, e.g. uint8 with data_range=255
    return x.to(dtype), x_true.to(dtype)


def _data_range(data_range: DataRange, x_true: torch.Tensor) -> torch.Tensor:
    """The peak value per item, shape ``(B,)``."""
    if isinstance(data_range, str):
        check_choice("data_range", data_range, ["max", "range"])
        flat = x_true.reshape(x_true.shape[0], -1)
        r = flat.amax(1) if data_range == "max" else flat.amax(1) - flat.amin(1)
        if bool((r <= 0).any()):
            bad = int(torch.nonzero(r <= 0)[0, 0])
            raise ValueError(
                f"data_range={data_range!r} must give a positive peak for every item, "
                f"got {float(r[bad])} for item {bad} of x_true"
            )
        return r
    r = check_number("data_range", data_range, low=0, low_inclusive=False)
    return torch.full((x_true.shape[0],), float(r), dtype=x_true.dtype, device=x_true.device)


def nmse(x: torch.Tensor, x_true: torch.Tensor) -> torch.Tensor:
    """Normalized mean squared error ``||x - x_true||^2 / ||x_true||^2`` per item.

    The square of scikit-image's ``normalized_root_mse(x_true, x)`` (Euclidean normalization); fastMRI's NMSE
    when an item is a volume. Complex inputs are supported.

    Args:
        x: Reconstruction, shape ``(B, ...)``.
        x_true: Target of the same shape.

    Returns:
        Shape ``(B,)``, real.

    Example:
        >>> x_true = torch.ones(2, 4)
        >>> nmse(x_true + 0.1, x_true).round(decimals=4)
        tensor([0.0100, 0.0100])
    """
    x, x_true = _pair(x, x_true, allow_complex=True)
    err = (x - x_true).abs().pow(2).reshape(x.shape[0], -1).sum(1)
    ref = x_true.abs().pow(2).reshape(x.shape[0], -1).sum(1)
    return err / ref


def nmse_db(x: torch.Tensor, x_true: torch.Tensor) -> torch.Tensor:
    """NMSE in decibels, ``10 log10(nmse(x, x_true))`` per item (lower is better; the SNR is its negative).

    Example:
        >>> x_true = torch.ones(1, 4)
        >>> nmse_db(x_true + 0.1, x_true).round(decimals=3)
        tensor([-20.])
    """
    return 10 * torch.log10(nmse(x, x_true))


def psnr(x: torch.Tensor, x_true: torch.Tensor, data_range: DataRange = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio ``10 log10(R^2 / MSE)`` in dB per item.

    Equals scikit-image's ``peak_signal_noise_ratio(x_true[b], x[b], data_range=R)`` for every item ``b``;
    identical inputs give ``inf``.

    Args:
        x: Reconstruction, real, shape ``(B, ...)`` (e.g. ``(B, C, H, W)`` or ``(B, n)``).
        x_true: Target of the same shape.
        data_range: Peak value ``R``: a positive number, ``"max"`` (per-item maximum of ``x_true``, the
            fastMRI convention) or ``"range"`` (per-item ``max - min`` of ``x_true``).

    Returns:
        Shape ``(B,)``.

    Example:
        >>> x_true = torch.zeros(1, 1, 4, 4)
        >>> psnr(x_true + 0.1, x_true).round(decimals=3)
        tensor([20.])
    """
    x, x_true = _pair(x, x_true, allow_complex=False)
    r = _data_range(data_range, x_true)
    mse = (x - x_true).pow(2).reshape(x.shape[0], -1).mean(1)
    return 10 * torch.log10(r**2 / mse)


def _ssim_window(
    gaussian_weights: bool, sigma: float, win_size: int | None, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """The normalized separable 1-D window that scikit-image's SSIM filters with."""
    if gaussian_weights:
        # scipy.ndimage.gaussian_filter with truncate=3.5: radius int(3.5 sigma + 0.5) (11 taps at sigma 1.5)
        radius = int(3.5 * sigma + 0.5)
        t = torch.arange(-radius, radius + 1, dtype=torch.float64, device=device)
        w = torch.exp(-0.5 * (t / sigma) ** 2)
    else:
        w = torch.ones(win_size, dtype=torch.float64, device=device)
    return (w / w.sum()).to(dtype)


def ssim(
    x: torch.Tensor,
    x_true: torch.Tensor,
    data_range: DataRange = 1.0,
    *,
    gaussian_weights: bool = True,
    sigma: float = 1.5,
    win_size: int | None = None,
    use_sample_covariance: bool = False,
    K1: float = 0.01,
    K2: float = 0.03,
) -> torch.Tensor:
    """Structural similarity index (mean SSIM) per item, computed exactly as scikit-image does.

    The defaults are the setup of Wang et al. (2004): an 11x11 Gaussian window (``sigma=1.5``, truncated at
    3.5 sigma) and population covariances, i.e. ``structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=R)``. The fastMRI evaluation uses scikit-image's defaults instead:
    ``ssim(x, x_true, "max", gaussian_weights=False, win_size=7, use_sample_covariance=True)``.
    As in scikit-image, the SSIM map is averaged over pixels at least ``(win_size - 1) // 2`` away from the
    border (where the window needs no padding), and over channels (``channel_axis`` averaging).

    Reference: Z. Wang, A. C. Bovik, H. R. Sheikh and E. P. Simoncelli, "Image quality assessment: from error
    visibility to structural similarity", IEEE Trans. Image Process. 13(4), 2004.

    Args:
        x: Reconstruction, real, shape ``(B, C, H, W)``.
        x_true: Target of the same shape.
        data_range: Peak value ``R``: a positive number, ``"max"`` (per-item maximum of ``x_true``) or
            ``"range"`` (per-item ``max - min`` of ``x_true``).
        gaussian_weights: Gaussian window of width ``sigma``; otherwise a uniform ``win_size`` window.
        sigma: Standard deviation of the Gaussian window, in pixels.
        win_size: Odd side of the uniform window (default 7); only with ``gaussian_weights=False``.
        use_sample_covariance: Normalize (co)variances by ``N - 1`` instead of ``N``, ``N`` the window size.
        K1: Luminance constant, ``C1 = (K1 R)^2``.
        K2: Contrast constant, ``C2 = (K2 R)^2``.

    Returns:
        Shape ``(B,)``.

    Example:
        >>> x_true = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
        >>> ssim(x_true, x_true)
        tensor([1., 1.])
    """
    x, x_true = _pair(x, x_true, allow_complex=False)
    if x.ndim != 4:
        raise ValueError(f"x must have shape (B, C, H, W), got shape {tuple(x.shape)}")
    if gaussian_weights:
        sigma = check_number("sigma", sigma, low=0, low_inclusive=False)
        if win_size is not None:
            raise ValueError(
                f"win_size must be None with gaussian_weights=True (the window follows sigma), got {win_size}"
            )
    else:
        win_size = 7 if win_size is None else check_number("win_size", win_size, low=1, integer=True)
        if win_size % 2 == 0:
            raise ValueError(f"win_size must be odd, got {win_size}")
    K1 = check_number("K1", K1, low=0)
    K2 = check_number("K2", K2, low=0)
    r = _data_range(data_range, x_true).reshape(-1, 1, 1)

    w = _ssim_window(gaussian_weights, sigma, win_size, x.dtype, x.device)
    k = w.numel()
    B, C, H, W = x.shape
    if H < k or W < k:
        raise ValueError(
            f"x must be at least {k}x{k} pixels for the {k}x{k} SSIM window, got shape {tuple(x.shape)}"
        )
    # Filter x, y, x^2, y^2, xy at once; a 'valid' separable convolution gives exactly the pixels that
    # scikit-image keeps after cropping (win_size - 1) // 2 from each border, so no padding mode is involved.
    stack = torch.stack([x, x_true, x * x, x_true * x_true, x * x_true], dim=2).reshape(B * C * 5, 1, H, W)
    filt = F.conv2d(F.conv2d(stack, w.reshape(1, 1, k, 1)), w.reshape(1, 1, 1, k))
    ux, uy, uxx, uyy, uxy = filt.reshape(B, C, 5, H - k + 1, W - k + 1).unbind(2)
    cov_norm = k * k / (k * k - 1) if use_sample_covariance else 1.0
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    c1 = (K1 * r).unsqueeze(1) ** 2
    c2 = (K2 * r).unsqueeze(1) ** 2
    s = (2 * ux * uy + c1) * (2 * vxy + c2) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    return s.reshape(B, -1).mean(1)


def overlap(x: torch.Tensor, x_true: torch.Tensor, q: int | None = None) -> torch.Tensor:
    """Overlap of community labels: ``(max_pi accuracy(pi(x), x_true) - 1/q) / (1 - 1/q)`` per item.

    The accuracy is maximized over the ``q!`` relabellings ``pi`` of the groups (labels are only defined up
    to a permutation), exactly, as an assignment problem on the ``q x q`` confusion matrix. 1 means perfect
    recovery, 0 (about) chance; for ``q = 2`` it is never negative.

    Reference: Decelle, Krzakala, Moore & Zdeborová, Phys. Rev. E 84, 066106 (2011), eq. (9) with equal
    group sizes.

    Args:
        x: Estimated labels, integer tensor ``(B, N)`` with values in ``[0, q)``.
        x_true: True labels of the same shape.
        q: Number of groups (default: the largest label in either, plus one; at least 2).

    Returns:
        Shape ``(B,)``, float64.

    Example:
        >>> x_true = torch.tensor([[0, 0, 1, 1]])
        >>> overlap(1 - x_true, x_true), overlap(torch.tensor([[0, 1, 0, 1]]), x_true)
        (tensor([1.], dtype=torch.float64), tensor([0.], dtype=torch.float64))
    """
    for name, v in (("x", x), ("x_true", x_true)):
        check_tensor(name, v, ndim=2, finite=False)
        if v.is_floating_point() or v.is_complex():
            raise TypeError(f"{name} must hold integer labels, got dtype {v.dtype}")
    if x.shape != x_true.shape:
        raise ValueError(
            f"x and x_true must have the same shape, got x {tuple(x.shape)} and x_true {tuple(x_true.shape)}"
        )
    top = int(max(int(x.max()), int(x_true.max()))) + 1 if x.numel() else 2
    lowest = min(int(x.min()), int(x_true.min())) if x.numel() else 0
    if lowest < 0:
        raise ValueError(f"x and x_true must hold labels >= 0, got {lowest}")
    q = max(top, 2) if q is None else check_number("q", q, low=2, integer=True)
    if top > q:
        raise ValueError(f"x and x_true must hold labels in [0, q) = [0, {q}), got label {top - 1}")
    B, n = x.shape
    # confusion[b, i, j] = number of nodes with x = i and x_true = j
    flat = (x.long() * q + x_true.long()).cpu() + torch.arange(B).unsqueeze(1) * q * q
    confusion = torch.bincount(flat.reshape(-1), minlength=B * q * q).reshape(B, q, q).double()
    best = torch.empty(B, dtype=torch.float64)
    if q <= 6:  # all q! relabellings (720 at most)
        import itertools

        perms = torch.tensor(list(itertools.permutations(range(q))))  # (q!, q): group i -> perms[:, i]
        rows = torch.arange(q).expand_as(perms)
        best = confusion[:, rows, perms].sum(-1).amax(-1)
    else:
        from scipy.optimize import linear_sum_assignment

        for b in range(B):
            r, c = linear_sum_assignment(confusion[b].numpy(), maximize=True)
            best[b] = float(confusion[b].numpy()[r, c].sum())
    accuracy = best / max(n, 1)
    return ((accuracy - 1 / q) / (1 - 1 / q)).to(x.device)


def align_phase(x: torch.Tensor, x_true: torch.Tensor) -> torch.Tensor:
    """``x`` times the global phase ``e^{iφ}`` (a sign for real data) that brings it closest to ``x_true``.

    ``φ = arg <x, x_true>`` minimizes ``‖e^{iφ} x - x_true‖`` per item: phase retrieval recovers a signal only
    up to such a phase, so errors are measured after this alignment. Items with ``<x, x_true> = 0`` are
    left unchanged.

    Example:
        >>> x_true = torch.tensor([[1.0 + 1.0j, 2.0 + 0.0j]])
        >>> torch.allclose(align_phase(1j * x_true, x_true), x_true)
        True
        >>> align_phase(-torch.ones(1, 3), torch.ones(1, 3))
        tensor([[1., 1., 1.]])
    """
    x, x_true = _pair(x, x_true, allow_complex=True)
    flat, ref = x.reshape(x.shape[0], -1), x_true.reshape(x.shape[0], -1)
    inner = (flat.conj() * ref).sum(1) if flat.is_complex() else (flat * ref).sum(1)
    size = inner.abs()
    unit = torch.where(size > 0, inner / torch.where(size > 0, size, 1.0), torch.ones_like(inner))
    return x * unit.reshape(-1, *([1] * (x.ndim - 1)))


def phase_invariant_error(x: torch.Tensor, x_true: torch.Tensor) -> torch.Tensor:
    """Relative error up to a global phase, ``min_φ ‖x_true - e^{iφ} x‖ / ‖x_true‖`` per item.

    The error metric of phase retrieval (Candès, Li & Soltanolkotabi, IEEE Trans. Inf. Theory 61(4), 2015);
    for real data the minimum is over the sign. In closed form it is
    ``√(‖x‖² + ‖x_true‖² - 2 |<x, x_true>|) / ‖x_true‖``.

    Example:
        >>> x_true = torch.tensor([[3.0 + 0.0j, 4.0j]])
        >>> float(phase_invariant_error(-1j * x_true, x_true))
        0.0
    """
    return nmse(align_phase(x, x_true), x_true).clamp(min=0).sqrt()
